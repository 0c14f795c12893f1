/**
 * Warm workers of the SLURM backend (backend.reuseProcesses, issue 15 item 3),
 * over SSH against a real private cluster: one SLURM job per slot runs
 * successive trials; stop, pause/resume, a worker job cancelled mid-trial and
 * attach by a new backend instance; the trial files stay a one-shot trial's
 * and the cluster's queue is empty at the end.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { BackendEvent, TrialLaunch } from "../../../src/backends/types";
import type { SlurmBackend } from "../../../src/backends/slurm/slurm";
import type { Cluster } from "../../support/cluster";
import { baseTrial, REAL_TRAINER, TINY_SMALL } from "../harness-local";
import { runBackendContract } from "../contract";
import { clusterPerFile, ended, fakeLaunch, makeBackend, pollUntil, PYTHON, reports, slurmContractHarness, sshSpec, states } from "./harness";

const cluster = clusterPerFile({ gpus: 2 });
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const warmSpec = (c: Cluster) => sshSpec(c, { reuseProcesses: true });

const real = (id: string): TrialLaunch => ({
  trialId: id, trial: baseTrial(id, { trial: { max_t: 2 } }, { ...TINY_SMALL }), command: [PYTHON, REAL_TRAINER], env: { TUNELAB_THREADS: "1" }, gpus: 1,
});
const read = (b: SlurmBackend, id: string, f: string) => fs.readFileSync(path.join(b.trialDir(id), f), "utf8");
const metricsOf = (b: SlurmBackend, id: string) => read(b, id, "metrics.jsonl").split("\n").filter(Boolean).map((l) => JSON.parse(l));
/** TUNELAB START / FINISH stamps of a trial's runs, in order */
const stamps = (b: SlurmBackend, id: string) => {
  const out = read(b, id, "trainer.out");
  return {
    starts: [...out.matchAll(/^TUNELAB START (\S+) job=(\d+) worker=(\S+) warm=(\d)/gm)].map((m) => ({ at: Number(m[1]), job: m[2], worker: m[3], warm: m[4] === "1" })),
    finishes: [...out.matchAll(/^TUNELAB FINISH (\S+) rc=(\d+)/gm)].map((m) => ({ at: Number(m[1]), rc: Number(m[2]) })),
  };
};
const jobIdsOf = (log: BackendEvent[], id: string) => [...new Set(log.flatMap((e) => (e.type === "state" && e.trialId === id && e.jobId ? [e.jobId] : [])))];
const lastState = (log: BackendEvent[], id: string) => log.filter((e): e is Extract<BackendEvent, { type: "state" }> => e.type === "state" && e.trialId === id).at(-1);

/** After close(): the workers leave; nothing of this test stays in the queue. */
async function drained(c: Cluster, what: string): Promise<void> {
  const end = Date.now() + 60_000;
  let q = "";
  for (;;) {
    q = (await c.exec("squeue -h -o '%i %T %j'")).trim();
    if (!q) return;
    if (Date.now() > end) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.fail(`${what}: jobs left in squeue:\n${q}`);
}

/** One warm backend on the file's cluster for `body`; closed after it, and then nothing may be left in squeue. */
async function withWarmBackend(maxConcurrent: number, body: (c: Cluster, b: SlurmBackend) => Promise<void>): Promise<void> {
  const c = await cluster();
  const b = makeBackend(c, warmSpec(c), { maxConcurrent });
  try {
    await body(c, b);
  } finally {
    await b.close();
  }
  await drained(c, "after close");
}

describe("slurm backend: warm workers (reuseProcesses) over SSH", () => {
  it("trials run through fewer worker jobs; the next trial in a worker starts warm; accounting is each trial's own time", async (t) => {
    const ids = ["r1", "r2", "r3", "r4"];
    await withWarmBackend(2, async (c, b) => {
      await b.submit(ids.map(real));
      const log = await pollUntil(b, (l) => ids.every((id) => ended(id)(l)), "all to end", [], 240_000, 200);
      for (const id of ids) {
        assert.equal(states(log, id).at(-1), "completed", JSON.stringify(lastState(log, id)));
        assert.deepEqual(reports(log, id).map((r) => r.t), [1, 2], id);
        for (const f of ["trial.json", "metrics.jsonl", "trainer.out", "exitcode", "jobid", "run.sh"]) assert.ok(fs.existsSync(path.join(b.trialDir(id), f)), `${id}: ${f}`);
        assert.equal(read(b, id, "exitcode").trim(), "0");
      }
      const jobs = new Set(ids.flatMap((id) => jobIdsOf(log, id)));
      assert.ok(jobs.size < ids.length, `${jobs.size} SLURM jobs for ${ids.length} trials`);
      assert.ok(jobs.size <= 2, `maxConcurrent 2 → at most 2 worker jobs: ${[...jobs]}`);
      for (const id of ids) assert.equal(read(b, id, "jobid").trim(), jobIdsOf(log, id)[0], `${id}: jobid names its worker's job`);
      // per worker job, in the order it ran them: the first pays start-up, the next do not
      const byJob = new Map<string, Array<{ id: string; start: number; end: number; startup: number; warm: boolean }>>();
      for (const id of ids) {
        const s = stamps(b, id);
        assert.equal(s.starts.length, 1, `${id}: one run`);
        const m = metricsOf(b, id);
        const row = { id, start: s.starts[0].at, end: s.finishes[0].at, startup: m[0].startup_s as number, warm: m[0].warm_start as boolean };
        assert.equal(typeof row.startup, "number", `${id} reports startup_s`);
        assert.equal(row.warm, s.starts[0].warm, `${id}: warm_start agrees with the START stamp`);
        byJob.set(s.starts[0].job, [...(byJob.get(s.starts[0].job) ?? []), row]);
      }
      let warmSeen = 0;
      for (const [job, rows] of byJob) {
        rows.sort((x, y) => x.start - y.start);
        assert.equal(rows[0].warm, false, `${job}: its first trial is cold`);
        for (const r of rows.slice(1)) {
          warmSeen++;
          assert.equal(r.warm, true, `${job}: ${r.id} ran warm`);
          assert.ok(r.startup < rows[0].startup, `${job}: ${r.id} start-up ${r.startup} s < first trial ${rows[0].id}'s ${rows[0].startup} s`);
        }
        for (let i = 1; i < rows.length; i++) assert.ok(rows[i].start >= rows[i - 1].end, `${job}: one trial at a time`);
      }
      t.diagnostic(`jobs ${jobs.size} for ${ids.length} trials; start-up s per job in run order: ${[...byJob].map(([j, rows]) => `${j}: ${rows.map((r) => `${r.id} ${r.startup.toFixed(3)}${r.warm ? " warm" : " cold"}`).join(", ")}`).join("; ")}`);
      assert.ok(warmSeen >= 2, `at least two trials ran in an already warm worker (${warmSeen})`);
      // GPU time is the trial's own START→FINISH, not its worker job's
      for (const id of ids) {
        const acc = log.filter((e) => e.type === "accounting" && e.trialId === id);
        assert.equal(acc.length, 1, `${id}: one accounting event`);
        const a = acc[0] as Extract<BackendEvent, { type: "accounting" }>;
        const s = stamps(b, id);
        assert.ok(Math.abs(a.runSeconds - (s.finishes[0].at - s.starts[0].at)) < 1e-3, `${id}: runSeconds ${a.runSeconds} = FINISH − START`);
        assert.equal(a.gpus, 1);
        assert.equal(a.gpuSeconds, a.runSeconds);
        // summary.json's startup_seconds = min(run, Σ startup_s): a cold trial's run time holds its start-up
        assert.ok(a.runSeconds >= metricsOf(b, id)[0].startup_s, `${id}: run ${a.runSeconds} s ≥ its start-up`);
      }
    });
  });

  it("stop and pause/resume of a trial in a worker: the worker stays, the resumed run continues from the checkpoint", async () => {
    await withWarmBackend(1, async (c, b) => {
      await b.submit([fakeLaunch("p", { trial: { max_t: 10 }, stepS: 0.6 })]);
      const log = await pollUntil(b, (l) => reports(l, "p").length >= 2, "p's second report", [], 90_000);
      await b.pause("p");
      await pollUntil(b, ended("p"), "p to pause", log, 60_000);
      assert.equal(states(log, "p").at(-1), "paused", JSON.stringify(lastState(log, "p")));
      const seen = reports(log, "p");
      const last = seen.at(-1)!;
      assert.ok(last.t < 10, "paused before max_t");
      const worker1 = jobIdsOf(log, "p")[0];
      const pid1 = JSON.parse(read(b, "p", "env.json")).pid;
      // resume, as the driver does: start_t and restore_from of the last report
      await b.submit([fakeLaunch("p", { trial: { max_t: 10, start_t: last.t, restore_from: path.join(b.trialDir("p"), last.checkpoint!) }, stepS: 0.3 })]);
      await pollUntil(b, (l) => states(l, "p").at(-1) === "completed", "p to complete", log, 90_000);
      assert.deepEqual(reports(log, "p").map((r) => r.t), range(1, 10), "every t once");
      assert.equal(JSON.parse(read(b, "p", "env.json")).pid, pid1, "the resumed run ran in the same process");
      assert.deepEqual(jobIdsOf(log, "p"), [worker1], "and the same worker job");
      assert.match(read(b, "p", "trainer.out"), /fake_trainer start t=\d+ max_t=10/);

      await b.submit([fakeLaunch("s", { trial: { max_t: 100 }, stepS: 0.5 })]);
      await pollUntil(b, (l) => reports(l, "s").length >= 1, "s's first report", log, 90_000);
      await b.stop("s");
      await pollUntil(b, ended("s"), "s to stop", log, 60_000);
      assert.equal(states(log, "s").at(-1), "stopped", JSON.stringify(lastState(log, "s")));
      assert.ok(reports(log, "s").length < 100);
      assert.deepEqual(jobIdsOf(log, "s"), [worker1], "s ran in the same worker job");
      assert.equal(JSON.parse(read(b, "s", "env.json")).pid, pid1);
      assert.equal(read(b, "s", "exitcode").trim(), "0", "stopped by its own checkpoint-and-exit, not killed");
    });
  });

  it("a worker job cancelled mid-trial (scancel, then scancel -s KILL): the trial resumes in a new worker, nothing lost or repeated", async () => {
    await withWarmBackend(1, async (c, b) => {
      await b.submit([fakeLaunch("k", { trial: { max_t: 14 }, stepS: 0.5 })]);
      const log = await pollUntil(b, (l) => reports(l, "k").length >= 2, "k's second report", [], 90_000);
      const j1 = jobIdsOf(log, "k")[0];
      await c.exec(`scancel ${j1}`);
      await pollUntil(b, (l) => jobIdsOf(l, "k").length >= 2 && states(l, "k").at(-1) === "running", "k in a second worker", log, 90_000);
      const n = reports(log, "k").length;
      await pollUntil(b, (l) => reports(l, "k").length >= n + 2, "two reports from the second worker", log, 90_000);
      const j2 = jobIdsOf(log, "k")[1];
      assert.notEqual(j2, j1);
      await c.exec(`scancel -s KILL ${j2}`);
      await pollUntil(b, (l) => states(l, "k").at(-1) === "completed", "k to complete", log, 120_000);
      assert.deepEqual(reports(log, "k").map((r) => r.t), range(1, 14), "every t exactly once");
      const s = stamps(b, "k");
      assert.equal(s.starts.length, 3, "three runs: the first worker, the second, the third");
      assert.equal(new Set(s.starts.map((x) => x.job)).size, 3);
      const resumed = log.filter((e) => e.type === "state" && e.trialId === "k" && e.state === "queued" && /resuming from t=\d+/.test(e.message ?? ""));
      assert.equal(resumed.length, 2, "two resumes, each announced");
      assert.equal(log.filter((e) => e.type === "state" && e.trialId === "k" && e.state === "completed").length, 1, "completed once");
      // the accounting sums the trial's own runs
      const acc = log.filter((e) => e.type === "accounting" && e.trialId === "k") as Array<Extract<BackendEvent, { type: "accounting" }>>;
      assert.equal(acc.length, 1);
      assert.ok(acc[0].runSeconds > 0);
    });
  });

  it("attach: a new backend instance adopts a trial running in a worker and one still waiting for a slot", async () => {
    const c = await cluster();
    const spec = warmSpec(c);
    const b1 = makeBackend(c, spec, { maxConcurrent: 1 });
    let b2: SlurmBackend | null = null;
    try {
      await b1.submit([fakeLaunch("a1", { trial: { max_t: 10 }, stepS: 0.5 }), fakeLaunch("a2", { trial: { max_t: 3 }, stepS: 0.3 })]);
      const log1 = await pollUntil(b1, (l) => reports(l, "a1").length >= 2, "a1's second report", [], 90_000);
      assert.ok(!ended("a2")(log1) && !reports(log1, "a2").length, "a2 waits for the one slot");
      const snap = b1.snapshot().filter((s) => ["a1", "a2"].includes(s.trialId));
      // the driver dies: no close(), its connection just goes
      await b1.transport.close();
      b2 = makeBackend(c, spec, { maxConcurrent: 1 });
      await b2.adopt(snap);
      const log2 = await pollUntil(b2, (l) => ended("a1")(l) && ended("a2")(l), "both to end under the new instance", [], 120_000);
      assert.equal(states(log2, "a1").at(-1), "completed", JSON.stringify(lastState(log2, "a1")));
      assert.equal(states(log2, "a2").at(-1), "completed", JSON.stringify(lastState(log2, "a2")));
      assert.deepEqual([...reports(log1, "a1"), ...reports(log2, "a1")].map((r) => r.t), range(1, 10), "a1: every t once across the two instances");
      assert.deepEqual(reports(log2, "a2").map((r) => r.t), [1, 2, 3]);
      assert.equal(stamps(b2, "a1").starts.length, 1, "a1 was not restarted");
      assert.ok(jobIdsOf(log2, "a1").every((j) => j === jobIdsOf(log1, "a1")[0]), "a1 stayed in its worker job");
      assert.ok(fs.existsSync(path.join(b2.trialDir("a2"), "worker.json")), "a2 ran in a warm worker of the new instance");
      // a1 was watched as a warm trial: its own time, and its (old) worker told to leave once it ended
      const acc = log2.find((e) => e.type === "accounting" && e.trialId === "a1") as Extract<BackendEvent, { type: "accounting" }> | undefined;
      assert.match(acc?.source ?? "", /warm worker/, JSON.stringify(acc));
      const oldWorker = JSON.parse(read(b2, "a1", "worker.json")).dir as string;
      assert.ok(fs.existsSync(path.join(oldWorker, "quit")), `the old instance's worker ${oldWorker} was told to quit`);
    } finally {
      await b2?.close();
    }
    await drained(c, "after the new instance's close (the old worker was told to quit)");
  });
});

// the backend contract suite, every trial through warm workers
runBackendContract("slurm over SSH with warm workers (reuseProcesses)", slurmContractHarness(cluster, "ssh", { reuseProcesses: true }), { tornLines: true, adopt: true });
