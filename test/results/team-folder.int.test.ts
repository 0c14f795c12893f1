// Team folder on the private cluster over real SSH (sshd on loopback, ssh2 client).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { startCluster, type Cluster } from "../support/cluster";
import { SshTransport } from "../../src/backends/slurm/transport";
import { teamFolder, type ComparisonRow } from "../../src/results";

function row(method: string, v: number): ComparisonRow {
  return { method, metric: "eval_loss", mode: "min", bestValue: v, bestConfig: { lr: 1e-5 }, runtimeMinutes: 5, gpus: 2, gpuMinutes: 10 };
}

test("two members write one team folder on the cluster over SSH at the same time: both rows survive", async () => {
  let cluster: Cluster | undefined;
  const transports: SshTransport[] = [];
  try {
    cluster = await startCluster({ sshd: true });
    const s = cluster.ssh;
    const connect = () => {
      const t = new SshTransport({ host: s.host, port: s.port, user: s.user, identityFile: s.identityFile, hostKey: s.hostKeyFingerprint });
      transports.push(t);
      return t;
    };
    const remote = path.posix.join(cluster.base, "team", "shared folder");
    // two members = two separate SSH connections, many saves interleaved
    const ann = teamFolder({ cluster: remote, transport: connect() }, { member: "ann" });
    const bob = teamFolder({ cluster: remote, transport: connect() }, { member: "bob" });
    await Promise.all([
      ...[1, 2, 3].map((i) => ann.save(row("asha", 9 + i / 10))),
      ...[1, 2, 3].map((i) => bob.save(row("pbt", 8 + i / 10))),
    ]);
    const { rows, problems } = await ann.read();
    assert.deepEqual(problems, []);
    assert.deepEqual(rows.map((r) => r.member + "-" + r.method), ["ann-asha", "bob-pbt"]);
    const listing = await cluster.exec(`ls -A ${JSON.stringify(remote + "/rows")}`);
    assert.deepEqual(listing.trim().split("\n").sort(), ["ann-asha.json", "bob-pbt.json"]);
  } finally {
    for (const t of transports) await t.close().catch(() => undefined);
    await cluster?.stop();
  }
});

test("two member processes write the cluster team folder over SSH concurrently", async () => {
  let cluster: Cluster | undefined;
  try {
    cluster = await startCluster({ sshd: true });
    const s = cluster.ssh;
    const remote = path.posix.join(cluster.base, "team2");
    const script = `
      const { SshTransport } = require(${JSON.stringify(path.resolve(__dirname, "../../src/backends/slurm/transport.ts"))});
      const { teamFolder } = require(${JSON.stringify(path.resolve(__dirname, "../../src/results/index.ts"))});
      (async () => {
        const t = new SshTransport(${JSON.stringify({ host: s.host, port: s.port, user: s.user, identityFile: s.identityFile, hostKey: s.hostKeyFingerprint })});
        const f = teamFolder({ cluster: ${JSON.stringify(remote)}, transport: t }, { member: process.argv[process.argv.length - 1] });
        for (let i = 0; i < 5; i++) await f.save({ method: "bohb", metric: "eval_loss", mode: "min", bestValue: i, bestConfig: null, runtimeMinutes: 1, gpus: 1, gpuMinutes: 1 });
        await t.close();
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const kids = ["ann", "bob"].map((m) => spawn(process.execPath, ["--import", "tsx", "-e", script, m], { stdio: ["ignore", "inherit", "inherit"] }));
    const codes = await Promise.all(kids.map((k) => new Promise((res) => k.on("close", res))));
    assert.deepEqual(codes, [0, 0]);
    const { SshTransport: T } = await import("../../src/backends/slurm/transport");
    const t = new T({ host: s.host, port: s.port, user: s.user, identityFile: s.identityFile, hostKey: s.hostKeyFingerprint });
    try {
      const rows = await teamFolder({ cluster: remote, transport: t }).rows();
      assert.deepEqual(rows.map((r) => [r.member, r.bestValue]), [["ann", 4], ["bob", 4]]);
    } finally {
      await t.close();
    }
  } finally {
    await cluster?.stop();
  }
});
