/**
 * SLURM backend integration over SSH (pinned host key) against a real
 * private cluster with fake GPUs: GPU isolation, live report lines, job
 * arrays with their %limit, hostile config strings.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { clusterPerFile, ended, fakeLaunch, makeBackend, pollUntil, reports, sshSpec, states } from "./harness";

const cluster = clusterPerFile({ gpus: 2 });

describe("slurm backend over SSH (private cluster, fake GPUs)", () => {
  it("GPU isolation: concurrent 1-GPU trials get different CUDA_VISIBLE_DEVICES", async () => {
    const c = await cluster();
    const b = makeBackend(c, sshSpec(c), { maxConcurrent: 2 });
    try {
      // 3 × 2 s each: long enough that both start before either ends, even when slurmctld starts them in separate passes
      await b.submit([fakeLaunch("g1", { trial: { max_t: 3 }, stepS: 2 }), fakeLaunch("g2", { trial: { max_t: 3 }, stepS: 2 })]);
      const log = await pollUntil(b, (l) => ended("g1")(l) && ended("g2")(l), "both to end", [], 60_000);
      assert.equal(states(log, "g1").at(-1), "completed");
      assert.equal(states(log, "g2").at(-1), "completed");
      const env1 = JSON.parse(fs.readFileSync(path.join(b.trialDir("g1"), "env.json"), "utf8"));
      const env2 = JSON.parse(fs.readFileSync(path.join(b.trialDir("g2"), "env.json"), "utf8"));
      assert.ok(env1.CUDA_VISIBLE_DEVICES !== null && env1.CUDA_VISIBLE_DEVICES !== "", "g1 has a GPU");
      assert.ok(env2.CUDA_VISIBLE_DEVICES !== null && env2.CUDA_VISIBLE_DEVICES !== "", "g2 has a GPU");
      assert.notEqual(env1.CUDA_VISIBLE_DEVICES, env2.CUDA_VISIBLE_DEVICES);
      // they really overlapped: both START stamps before either FINISH
      const stamp = (id: string, what: string) => Number(new RegExp(`TUNELAB ${what} (\\S+)`).exec(fs.readFileSync(path.join(b.trialDir(id), "trainer.out"), "utf8"))![1]);
      assert.ok(Math.max(stamp("g1", "START"), stamp("g2", "START")) < Math.min(stamp("g1", "FINISH"), stamp("g2", "FINISH")), "ran concurrently");
    } finally {
      await b.close();
    }
  });

  it("live report lines arrive while the job is still running", async () => {
    const c = await cluster();
    const b = makeBackend(c, sshSpec(c));
    try {
      await b.submit([fakeLaunch("lv", { trial: { max_t: 8 }, stepS: 1.5 })]);
      const log = await pollUntil(b, (l) => reports(l, "lv").length >= 1, "a first report", [], 60_000);
      const sq = await c.exec("squeue -h -o %T");
      assert.match(sq, /RUNNING/, "job still running when its first report arrived");
      assert.ok(!ended("lv")(log));
      await pollUntil(b, ended("lv"), "lv to end", log, 60_000);
      assert.deepEqual(reports(log, "lv").map((r) => r.t), [1, 2, 3, 4, 5, 6, 7, 8]);
    } finally {
      await b.close();
    }
  });

  it("a batch becomes ONE job array whose %maxConcurrent limit is honoured", async () => {
    const c = await cluster();
    const b = makeBackend(c, sshSpec(c), { maxConcurrent: 2 });
    try {
      const ids = ["a0", "a1", "a2", "a3", "a4"];
      // 2 × 2 s per task, so two tasks overlap whatever the scheduler's pass interval
      await b.submit(ids.map((id) => fakeLaunch(id, { trial: { max_t: 2 }, stepS: 2, gpus: 0 })));
      const jobs = new Set<string>();
      let peak = 0;
      const log = await pollUntil(
        b,
        (l) => ids.every((id) => ended(id)(l)),
        "array to end",
        [],
        90_000,
      );
      for (const e of log) if (e.type === "state" && e.jobId) jobs.add(e.jobId.split("_")[0]);
      assert.equal(jobs.size, 1, `one array job: ${[...jobs]}`);
      const keys = ids.map((id) => (log.find((e) => e.type === "state" && e.trialId === id && e.jobId) as { jobId: string }).jobId);
      assert.deepEqual(keys, ids.map((_, i) => `${[...jobs][0]}_${i}`), "array task ids %A_%a");
      // %2 honoured: from the START/FINISH stamps of every task
      const spans = ids.map((id) => {
        const out = fs.readFileSync(path.join(b.trialDir(id), "trainer.out"), "utf8");
        return [Number(/TUNELAB START (\S+)/.exec(out)![1]), Number(/TUNELAB FINISH (\S+)/.exec(out)![1])];
      });
      for (const [s] of spans) peak = Math.max(peak, spans.filter(([a, z]) => a <= s && s < z).length);
      assert.ok(peak <= 2, `peak concurrency ${peak}`);
      assert.equal(peak, 2, "the limit was reached (tasks did overlap)");
      const script = fs.readdirSync(path.join(path.dirname(path.dirname(b.trialDir("a0"))), "batches"));
      assert.equal(script.length, 1);
      for (const id of ids) assert.equal(states(log, id).at(-1), "completed");
    } finally {
      await b.close();
    }
  });

  it("hostile config strings never execute (canary file is not created)", async () => {
    const c = await cluster();
    const canary = path.join(c.base, "CANARY");
    const evil = `x; touch ${canary}; $(touch ${canary}) \`touch ${canary}\` ' " \n touch ${canary}`;
    // #SBATCH values cannot be quoted: they are refused, naming the field
    for (const field of ["partition", "account", "qos", "constraint", "time", "memPerTrial"] as const) {
      const b = makeBackend(c, sshSpec(c, { [field]: evil }));
      await assert.rejects(b.submit([fakeLaunch("h0")]), new RegExp(`backend\\.${field}`));
      await b.close();
    }
    assert.throws(() => makeBackend(c, sshSpec(c, { remoteDir: `/tmp/x; touch ${canary}` })), /backend\.remoteDir/);
    // trial ids become directory names: refused
    {
      const b = makeBackend(c, sshSpec(c));
      await assert.rejects(b.submit([fakeLaunch(`../x; touch ${canary}`)]), /not allowed/);
      await b.close();
    }
    // everything else is quoted and reaches the trainer intact
    const b = makeBackend(c, sshSpec(c, { setup: [`echo "it's \\"quoted\\" $HOME" > /dev/null`, `export NOTE='a b'`] }), { experiment: `x; rm -rf ~ ${evil}` });
    try {
      const l = fakeLaunch("hostile", { trial: { max_t: 2, config: { lr: 1e-3, note: evil } }, stepS: 0.2 });
      l.env = { EVIL: evil };
      l.command = [...l.command, evil];
      await b.submit([l]);
      const log = await pollUntil(b, ended("hostile"), "hostile to end", [], 60_000);
      assert.equal(states(log, "hostile").at(-1), "completed", JSON.stringify(log));
      const tj = JSON.parse(fs.readFileSync(path.join(b.trialDir("hostile"), "trial.json"), "utf8"));
      assert.equal(tj.config.note, evil, "hparam string intact");
      assert.ok(b.trialDir("hostile").startsWith(path.dirname(path.dirname(path.dirname(b.trialDir("hostile"))))), "inside remoteDir");
      assert.ok(!fs.existsSync(canary), "canary must not exist");
    } finally {
      await b.close();
    }
    assert.ok(!fs.existsSync(canary), "canary must not exist");
  });
});
