/**
 * SLURM faults of issue 14 against the real private cluster + sshd
 * (test/support/cluster.ts): secrets in trainer.env stay private on the
 * cluster (run.sh 0600, trial dirs 0700, job output under umask 077);
 * `tunelab run` exits after a SLURM error once connected (sbatch rejects
 * the job; remoteDir cannot be created); write-ahead on SLURM (a prepared
 * trial whose submit never ran is submitted by adopt, every t once); the
 * user's ~/.ssh/known_hosts is read when no host key is pinned, and an
 * unknown host still fails closed.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SshTransport } from "../../src/backends/slurm/transport";
import { clusterPerFile, ended, fakeLaunch, makeBackend, pollUntil, reports, sshSpec, states } from "../backends/slurm/harness";
import { FAKE_TRAINER, lsl, runCli, tmpDir } from "./helpers";

const cluster = clusterPerFile({ gpus: 2 });

describe("SLURM faults (issue 14)", () => {
  it("trainer.env secrets: run.sh 0600, trial dirs 0700, nothing in a remote trial dir readable by others", async () => {
    const c = await cluster();
    const spec = sshSpec(c);
    const b = makeBackend(c, spec);
    try {
      const l = fakeLaunch("sec", { trial: { max_t: 2 }, stepS: 0.1 });
      l.env = { API_TOKEN: "s3cr3t-token-123" };
      await b.submit([l]);
      const log = await pollUntil(b, ended("sec"), "sec to end", [], 60_000);
      assert.equal(states(log, "sec").at(-1), "completed");
      const dir = b.trialDir("sec");
      assert.match(fs.readFileSync(path.join(dir, "run.sh"), "utf8"), /s3cr3t-token-123/, "the secret is in run.sh");
      const modes: string[] = [];
      const walk = (d: string) => {
        for (const n of fs.readdirSync(d)) {
          const p = path.join(d, n);
          const st = fs.statSync(p);
          modes.push(`${(st.mode & 0o777).toString(8)} ${path.relative(dir, p)}`);
          assert.equal(st.mode & 0o077, 0, `${p} is ${(st.mode & 0o777).toString(8)}: readable by group/others`);
          if (st.isDirectory()) walk(p);
        }
      };
      walk(dir);
      for (const d of [dir, path.dirname(dir), path.dirname(path.dirname(dir))]) assert.equal(fs.statSync(d).mode & 0o777, 0o700, d);
      console.log(`ls -l ${dir}:\n${lsl(dir)}`);
      fs.writeFileSync(path.join(os.tmpdir(), "tunelab-remote-trial-ls.txt"), `${dir}\n${lsl(dir)}\n`);
    } finally {
      await b.close();
    }
  });

  it("write-ahead: a prepared trial whose sbatch never ran is submitted by adopt; every t once", async () => {
    const c = await cluster();
    const spec = sshSpec(c);
    const b1 = makeBackend(c, spec);
    const l = fakeLaunch("wa", { trial: { max_t: 3 }, stepS: 0.1 });
    await b1.prepare([l]); // the driver died here: journal says launched, sbatch never ran
    await b1.close();
    const b2 = makeBackend(c, spec);
    try {
      await b2.adopt([{ trialId: "wa", reportsSeen: 0 }]);
      const log = await pollUntil(b2, ended("wa"), "wa to end", [], 60_000);
      assert.equal(states(log, "wa")[0], "queued");
      assert.equal(states(log, "wa").at(-1), "completed");
      assert.deepEqual(reports(log, "wa").map((r) => r.t), [1, 2, 3]);
    } finally {
      await b2.close();
    }
  });

  it("`tunelab run` exits (code 1, the cause named) after sbatch rejects the job and after remoteDir cannot be created", async () => {
    const c = await cluster();
    const dir = tmpDir();
    const base = {
      space: { lr: { grid: [0.01] } }, method: { kind: "grid" }, samples: 1, maxConcurrent: 1,
      trainer: { epochs: 2, command: ["/usr/bin/python3", FAKE_TRAINER], options: { step_s: 0.05 } },
    };
    const spec = sshSpec(c);
    const f1 = path.join(dir, "badpart.json");
    fs.writeFileSync(f1, JSON.stringify({ ...base, name: "badpart", runDir: path.join(dir, "r1"), backend: { ...spec, partition: "nosuchpartition" } }));
    const r1 = await runCli(["run", f1, "--poll", "100"]);
    assert.equal(r1.code, 1, r1.stderr);
    assert.match(r1.stderr, /sbatch failed for t000: .*(invalid partition|Invalid partition)/i);
    const f2 = path.join(dir, "baddir.json");
    fs.writeFileSync(f2, JSON.stringify({ ...base, name: "baddir", runDir: path.join(dir, "r2"), backend: { ...spec, remoteDir: "/proc/tunelab-cannot" } }));
    const r2 = await runCli(["run", f2, "--poll", "100"]);
    assert.equal(r2.code, 1, r2.stderr);
    assert.match(r2.stderr, /backend\.remoteDir: cannot create or write \/proc\/tunelab-cannot\/baddir on the cluster/);
  });

  it("no host key pinned: ~/.ssh/known_hosts is read (as the README says); a host not listed there is refused", async () => {
    const c = await cluster();
    const oldHome = process.env.HOME;
    const home = tmpDir("tunelab-home-");
    fs.mkdirSync(path.join(home, ".ssh"), { mode: 0o700 });
    const spec = { ...sshSpec(c), hostKey: undefined };
    try {
      process.env.HOME = home;
      const refused = makeBackend(c, spec);
      await assert.rejects(refused.start(), /host key of 127\.0\.0\.1:\d+ is not known: refusing to connect.*~\/\.ssh\/known_hosts, read by default/);
      await refused.close().catch(() => undefined);
      fs.copyFileSync(c.ssh.knownHostsFile, path.join(home, ".ssh", "known_hosts"));
      const b = makeBackend(c, spec);
      await b.start();
      assert.ok((b.transport as SshTransport).stats.commands >= 1, "connected and ran a command");
      await b.close();
    } finally {
      process.env.HOME = oldHome;
    }
  });
});
