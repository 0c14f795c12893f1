/**
 * Fault tests against a real private SLURM cluster over SSH: each ends with
 * nothing lost and nothing duplicated (every t exactly once).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { BackendEvent } from "../../../src/backends/types";
import { SshTransport } from "../../../src/backends/slurm/transport";
import { clusterPerFile, ended, fakeLaunch, makeBackend, pollUntil, reports, sshSpec, states } from "./harness";

const cluster = clusterPerFile({ gpus: 2 });
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe("slurm backend faults (private cluster over SSH)", () => {
  it("sshd stopped and restarted mid-run: the backend reconnects, keeps polling, every t exactly once", async () => {
    const c = await cluster();
    const b = makeBackend(c, sshSpec(c));
    try {
      await b.submit([fakeLaunch("f1", { trial: { max_t: 10 }, stepS: 0.5 })]);
      const log = await pollUntil(b, (l) => reports(l, "f1").length >= 2, "two reports");
      await c.stopSshd();
      // polls issued during the outage wait and retry; restart sshd while one is pending
      const pending = b.poll();
      await new Promise((r) => setTimeout(r, 2500));
      await c.startSshd();
      log.push(...(await pending));
      await pollUntil(b, ended("f1"), "f1 to end", log, 60_000);
      assert.equal(states(log, "f1").at(-1), "completed");
      assert.deepEqual(reports(log, "f1").map((r) => r.t), range(1, 10));
      assert.ok((b.transport as SshTransport).stats.reconnects >= 1, "reconnected at least once");
    } finally {
      await c.exec("scancel -u root; true");
      await b.close();
    }
  });

  it("job requeued with `scontrol requeue`: resumes from its last checkpoint, no duplicate t", async () => {
    const c = await cluster();
    const b = makeBackend(c, sshSpec(c));
    try {
      // 20 × 0.5 s: the job must still be running when the requeue lands, even with slow SSH polls
      await b.submit([fakeLaunch("rq", { trial: { max_t: 20 }, stepS: 0.5 })]);
      const log = await pollUntil(b, (l) => reports(l, "rq").length >= 3, "three reports");
      const jobId = log.find((e) => e.type === "state" && e.trialId === "rq" && e.jobId)!;
      assert.ok(jobId.type === "state" && jobId.jobId);
      await c.exec(`scontrol requeue ${jobId.jobId}`);
      const n = log.length;
      await pollUntil(b, (l) => states(l.slice(n), "rq").includes("queued"), "rq back in the queue", log, 60_000);
      // SLURM holds a requeued job ~2 min (BeginTime); a test cannot wait that long
      await c.exec(`scontrol update JobId=${jobId.jobId} StartTime=now`);
      await pollUntil(b, ended("rq"), "rq to end", log, 90_000);
      assert.equal(states(log, "rq").at(-1), "completed", JSON.stringify(log.filter((e) => e.type === "state")));
      assert.deepEqual(reports(log, "rq").map((r) => r.t), range(1, 20), "each t once");
      const out = fs.readFileSync(path.join(b.trialDir("rq"), "trainer.out"), "utf8");
      assert.match(out, /TUNELAB RESUME t=\d+ from checkpoints\/t\d+/, "second run restored from a checkpoint");
      assert.match(out, /restart=1/);
      const st = states(log, "rq");
      assert.ok(st.indexOf("queued", st.indexOf("running")) > 0, `requeue seen as queued again: ${st}`);
    } finally {
      await c.exec("scancel -u root; true");
      await b.close();
    }
  });

  it("a trainer that crashes: failed, with the tail of its output and its exit code", async () => {
    const c = await cluster();
    const b = makeBackend(c, sshSpec(c));
    try {
      await b.submit([fakeLaunch("cr", { behaviour: "crash", trial: { max_t: 5 }, stepS: 0.2 })]);
      const log = await pollUntil(b, ended("cr"), "crash");
      const st = log.filter((e): e is Extract<BackendEvent, { type: "state" }> => e.type === "state" && e.trialId === "cr").at(-1)!;
      assert.equal(st.state, "failed");
      assert.equal(st.exitCode, 3);
      assert.match(st.message ?? "", /exit code 3/);
      assert.match(st.message ?? "", /RuntimeError: fake crash at t=2/);
      assert.ok((st.message ?? "").split("\n").length <= 25, "a tail, not everything");
      assert.deepEqual(reports(log, "cr").map((r) => r.t), [1]);
      assert.ok(log.some((e) => e.type === "accounting" && e.trialId === "cr"));
    } finally {
      await b.close();
    }
  });

  it("a torn last line in metrics.jsonl is read once, when whole", async () => {
    const c = await cluster();
    const b = makeBackend(c, sshSpec(c));
    try {
      // torn_s 0.6 s between the halves: several polls see the half line
      await b.submit([fakeLaunch("tn", { behaviour: "torn", trial: { max_t: 4 }, stepS: 0.2 })]);
      const log = await pollUntil(b, ended("tn"), "torn to end", [], 60_000, 50);
      assert.equal(states(log, "tn").at(-1), "completed");
      assert.deepEqual(reports(log, "tn").map((r) => r.t), [1, 2, 3, 4]);
    } finally {
      await b.close();
    }
  });

  it("slurmd killed (node crash): running jobs are reported failed within a bound", async () => {
    const c = await cluster();
    const b = makeBackend(c, sshSpec(c));
    try {
      await b.submit([fakeLaunch("nd", { trial: { max_t: 200 }, stepS: 0.5 })]);
      const log = await pollUntil(b, (l) => reports(l, "nd").length >= 1, "first report");
      await c.killSlurmd();
      // SlurmdTimeout=6 s in the test cluster: the node goes DOWN, the job NODE_FAILs
      await pollUntil(b, ended("nd"), "nd to fail", log, 60_000, 500);
      const st = log.filter((e): e is Extract<BackendEvent, { type: "state" }> => e.type === "state" && e.trialId === "nd").at(-1)!;
      assert.equal(st.state, "failed");
      assert.match(st.message ?? "", /node/i);
      const ts = reports(log, "nd").map((r) => r.t);
      assert.deepEqual(ts, range(1, ts.length), "nothing duplicated");
    } finally {
      await c.startSlurmd().catch(() => undefined);
      await c.exec("scancel -u root; true");
      await b.close();
    }
  });
});
