/** `tunelab cluster check` against a real private cluster: success over SSH and locally, and explained failures. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { clusterCheck, clusterCheckCommand, formatCheckReport } from "../../src/cli/cluster";
import { clusterPerFile, localSpec, sshSpec } from "../backends/slurm/harness";

const cluster = clusterPerFile({ gpus: 2 });

describe("tunelab cluster check (private cluster)", () => {
  it("over SSH: connects, lists partitions with GPUs, submits + cancels a job, remote dir writable", async () => {
    const c = await cluster();
    const r = await clusterCheck(sshSpec(c, { partition: "gpu" }));
    assert.ok(r.ok, formatCheckReport(r));
    assert.deepEqual(r.steps.map((s) => s.name), ["connect", "slurm commands", "partitions and GPUs", "remote directory writable", "submit and cancel a tiny job"]);
    const gpu = r.partitions.find((p) => p.name === "gpu")!;
    assert.equal(gpu.gpus, 2);
    assert.match(r.steps[4].detail, /job \d+ submitted \(held\), seen in squeue, cancelled/);
    const left = await c.exec("squeue -h -t PENDING,RUNNING -o %i");
    assert.equal(left.trim(), "", "the check job is gone");
  });

  it("locally (sbatch on this host) through the CLI entry, exit code 0", async () => {
    const c = await cluster();
    const file = path.join(c.base, "exp.json");
    fs.writeFileSync(file, JSON.stringify({ name: "x", backend: localSpec(c) }));
    const lines: string[] = [];
    const old = process.env.SLURM_CONF;
    process.env.SLURM_CONF = c.slurmConf; // a login node has it in /etc; here the private cluster's
    try {
      const code = await clusterCheckCommand([file], (s) => lines.push(s));
      assert.equal(code, 0, lines.join("\n"));
      assert.match(lines.join("\n"), /all checks passed/);
    } finally {
      if (old === undefined) delete process.env.SLURM_CONF;
      else process.env.SLURM_CONF = old;
    }
  });

  it("failures are explained with their fix: unknown host key, bad partition, unwritable dir, sbatch missing, nothing listening", async () => {
    const c = await cluster();
    let r = await clusterCheck(sshSpec(c, { hostKey: undefined }));
    assert.equal(r.ok, false);
    assert.ok(r.steps[0].detail.includes(c.ssh.hostKeyFingerprint));
    assert.match(r.steps[0].fix!, new RegExp(`backend\\.hostKey = "${c.ssh.hostKeyFingerprint.replace(/[+/]/g, "\\$&")}"`));

    r = await clusterCheck(sshSpec(c, { partition: "nope" }));
    assert.equal(r.steps.at(-1)!.name, "partitions and GPUs");
    assert.match(r.steps.at(-1)!.detail, /partition "nope" not found; partitions: debug, gpu/);

    const ro = path.join(c.base, "ro");
    fs.mkdirSync(ro);
    fs.writeFileSync(path.join(ro, "file"), "");
    r = await clusterCheck(sshSpec(c, { remoteDir: path.join(ro, "file", "sub") }));
    assert.equal(r.steps.at(-1)!.name, "remote directory writable");
    assert.equal(r.steps.at(-1)!.ok, false);
    assert.match(r.steps.at(-1)!.fix!, /remoteDir/);

    r = await clusterCheck(localSpec(c), { env: { PATH: "/nonexistent" } });
    assert.equal(r.steps.at(-1)!.name, "slurm commands");
    assert.match(r.steps.at(-1)!.detail, /not found on PATH: sbatch/);
    assert.match(r.steps.at(-1)!.fix!, /module load slurm/);

    r = await clusterCheck(sshSpec(c, { port: 1 }));
    assert.equal(r.ok, false);
    assert.match(r.steps[0].fix!, /nothing listens/);
  });
});
