/**
 * Warm trainer processes of the local backend (reuseProcesses, issue 15 item 3):
 * one Python process per slot runs successive trials, resumes and PBT-style
 * restores with new hyperparameters; the trial files stay those of the contract.
 * (The contract suite itself runs with warm workers in local.int.test.ts.)
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { drive, reportsOf, statesOf } from "./contract";
import { baseTrial, CRASH_COMMAND, FAKE_TRAINER, PYTHON, REAL_TRAINER, TINY_SMALL, tmpRunDir } from "./harness-local";
import { LocalBackend, killRunDirTrials } from "../../src/backends/local";
import { reusableLaunch, workerKey } from "../../src/backends/local-workers";
import type { BackendEvent, TrialLaunch } from "../../src/backends/types";

const ENDED = ["completed", "stopped", "failed", "paused"];

async function withBackend(opts: { maxConcurrent: number; gpus?: number[]; reuse?: boolean; slotsPerGpu?: number }, fn: (b: LocalBackend, dir: string) => Promise<void>) {
  const dir = tmpRunDir("tunelab-warm-");
  const b = new LocalBackend({ runDir: dir, maxConcurrent: opts.maxConcurrent, gpus: opts.gpus ?? [], slotsPerGpu: opts.slotsPerGpu, reuseProcesses: opts.reuse ?? true, killGraceMs: 2000 });
  await b.start();
  try {
    await fn(b, dir);
  } finally {
    b.killAll();
    killRunDirTrials(dir);
    await b.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const fake = (id: string, maxT = 2, trainer: Record<string, unknown> = { step_s: 0.03 }, gpus = 0): TrialLaunch => ({
  trialId: id, trial: baseTrial(id, { trial: { max_t: maxT } }, trainer), command: [PYTHON, FAKE_TRAINER], env: {}, gpus,
});
const real = (id: string, trial: Partial<TrialLaunch["trial"]> = {}): TrialLaunch => ({
  trialId: id, trial: baseTrial(id, { trial: { max_t: 2, ...trial } }, { ...TINY_SMALL }), command: [PYTHON, REAL_TRAINER], env: { TUNELAB_THREADS: "1" }, gpus: 0,
});

async function untilEnded(b: LocalBackend, ids: string[], log: BackendEvent[] = []): Promise<BackendEvent[]> {
  const h = { backend: b, stepMs: 50, pollMs: 20, timeoutMs: 60_000 } as never;
  return drive(h, (lg) => ids.every((id) => ENDED.includes(statesOf(lg, id).at(-1) ?? "")), { log, what: ids.join(",") + " to end" });
}
const envOf = (dir: string, id: string) => JSON.parse(fs.readFileSync(path.join(dir, "trials", id, "env.json"), "utf8"));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("local backend: warm workers (reuseProcesses)", () => {
  it("which launches a worker may run: python script.py on <= 1 GPU; the key is interpreter, script and env", () => {
    assert.equal(reusableLaunch(fake("a")), true);
    assert.equal(reusableLaunch({ ...fake("a"), command: CRASH_COMMAND }), false, "python -c");
    assert.equal(reusableLaunch({ ...fake("a"), command: [PYTHON, "-m", "torch.distributed.run", "train.py"] }), false, "a launcher");
    assert.equal(reusableLaunch({ ...fake("a"), gpus: 2 }), false, "2 GPUs");
    assert.equal(reusableLaunch({ ...fake("a"), command: ["/bin/sh", "x.py"] }), false, "not python");
    assert.equal(workerKey(fake("a")), workerKey(fake("b", 5)), "trial and max_t do not matter");
    assert.notEqual(workerKey(fake("a")), workerKey({ ...fake("a"), env: { X: "1" } }), "trainer env does");
  });

  it("successive trials of one slot run in one process; the trial files are the contract's", async () => {
    await withBackend({ maxConcurrent: 1 }, async (b, dir) => {
      await b.submit([fake("a"), fake("b"), fake("c")]);
      const log = await untilEnded(b, ["a", "b", "c"]);
      for (const id of ["a", "b", "c"]) {
        assert.deepEqual(statesOf(log, id), ["queued", "running", "completed"], id);
        assert.deepEqual(reportsOf(log, id).map((r) => r.t), [1, 2], id);
        const files = fs.readdirSync(path.join(dir, "trials", id)).sort();
        for (const f of ["trial.json", "metrics.jsonl", "exit.json", "launch.json", "stdout.log", "checkpoints"]) assert.ok(files.includes(f), `${id}: ${f} in ${files}`);
        assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, "trials", id, "exit.json"), "utf8")).code, 0);
        assert.match(fs.readFileSync(path.join(dir, "trials", id, "stdout.log"), "utf8"), /fake_trainer start t=0 max_t=2/, `${id}'s own stdout`);
      }
      const pids = ["a", "b", "c"].map((id) => envOf(dir, id).pid);
      assert.equal(new Set(pids).size, 1, `one process: ${pids}`);
      const launch = JSON.parse(fs.readFileSync(path.join(dir, "trials", "c", "launch.json"), "utf8"));
      assert.equal(launch.pid, Number(fs.readFileSync(path.join(launch.worker, "worker.pid"), "utf8")), "launch.json names the worker's process group");
      assert.equal(b.workerCount(), 1);
      await b.close();
      assert.equal(b.workerCount(), 0);
      const t0 = Date.now();
      while (alive(pids[0]) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
      assert.equal(alive(pids[0]), false, "close() lets the idle worker go");
    });
  });

  it("reuse off: every trial is its own process", async () => {
    await withBackend({ maxConcurrent: 1, reuse: false }, async (b, dir) => {
      await b.submit([fake("a"), fake("b")]);
      await untilEnded(b, ["a", "b"]);
      assert.notEqual(envOf(dir, "a").pid, envOf(dir, "b").pid);
      assert.equal(b.workerCount(), 0);
    });
  });

  it("a worker keeps its GPU: trials it runs see the same CUDA_VISIBLE_DEVICES; two slots, two workers", async () => {
    await withBackend({ maxConcurrent: 2, gpus: [0, 1] }, async (b, dir) => {
      const ids = ["g1", "g2", "g3", "g4", "g5", "g6"];
      await b.submit(ids.map((id) => fake(id, 2, { step_s: 0.05 }, 1)));
      await untilEnded(b, ids);
      const byPid = new Map<number, Set<string>>();
      for (const id of ids) {
        const e = envOf(dir, id);
        if (!byPid.has(e.pid)) byPid.set(e.pid, new Set());
        byPid.get(e.pid)!.add(e.CUDA_VISIBLE_DEVICES);
      }
      assert.equal(byPid.size, 2, `two workers: ${[...byPid.keys()]}`);
      for (const gpus of byPid.values()) assert.equal(gpus.size, 1, "one GPU per worker");
      assert.deepEqual([...byPid.values()].map((s) => [...s][0]).sort(), ["0", "1"]);
    });
  });

  it("a crash retires the worker: the next trial gets a fresh process; a command it cannot run starts as before", async () => {
    await withBackend({ maxConcurrent: 1 }, async (b, dir) => {
      await b.submit([fake("ok1"), fake("x", 4, { step_s: 0.03, crash_at: 2 }), fake("ok2"), { ...fake("sh"), command: CRASH_COMMAND }]);
      const log = await untilEnded(b, ["ok1", "x", "ok2", "sh"]);
      const st = log.filter((e) => e.type === "state" && e.trialId === "x").at(-1);
      assert.ok(st && st.type === "state" && st.state === "failed" && st.exitCode === 3 && /RuntimeError: fake crash at t=2/.test(st.message ?? ""), JSON.stringify(st));
      assert.equal(envOf(dir, "ok1").pid, envOf(dir, "x").pid, "the crash happened in the warm worker");
      assert.notEqual(envOf(dir, "ok2").pid, envOf(dir, "x").pid, "after it, a new worker");
      const sh = log.filter((e) => e.type === "state" && e.trialId === "sh").at(-1);
      assert.ok(sh && sh.type === "state" && sh.state === "failed" && sh.exitCode === 3, "python -c ran one-shot");
      assert.equal(JSON.parse(fs.readFileSync(path.join(dir, "trials", "sh", "launch.json"), "utf8")).worker, undefined);
    });
  });

  it("a worker killed inside a trial: the trial fails with the signal; the next trial gets a fresh worker", async () => {
    await withBackend({ maxConcurrent: 1 }, async (b, dir) => {
      await b.submit([fake("k", 1000, { step_s: 0.05 }), fake("n")]);
      const log = await drive({ backend: b, stepMs: 50, pollMs: 20, timeoutMs: 60_000 } as never, (lg) => reportsOf(lg, "k").length > 0, { what: "k's first report" });
      const pid = envOf(dir, "k").pid as number;
      process.kill(pid, "SIGKILL");
      await untilEnded(b, ["k", "n"], log);
      const st = log.filter((e) => e.type === "state" && e.trialId === "k").at(-1);
      assert.ok(st && st.type === "state" && st.state === "failed" && st.signal === "SIGKILL", JSON.stringify(st));
      assert.equal(statesOf(log, "n").at(-1), "completed");
      assert.notEqual(envOf(dir, "n").pid, pid);
    });
  });

  it("real trainer: a warm run reports exactly a cold run's metrics, start-up once per process, and a restore with a new lr (PBT exploit) in the same process", async () => {
    const strip = (rs: Record<string, unknown>[]) => rs.map((r) => ({ t: r.t, eval_loss: r.eval_loss, train_loss: r.train_loss, lr: r.lr }));
    let cold: Record<string, unknown>[] = [];
    await withBackend({ maxConcurrent: 1, reuse: false }, async (b) => {
      await b.submit([real("a")]);
      cold = reportsOf(await untilEnded(b, ["a"]), "a") as never;
    });
    await withBackend({ maxConcurrent: 1 }, async (b, dir) => {
      await b.submit([real("w1"), real("w2", { config: { lr: 1e-3 }, pause_at: [1] })]);
      const log = await drive({ backend: b, stepMs: 50, pollMs: 20, timeoutMs: 60_000 } as never, (lg) => reportsOf(lg, "w2").length > 0, { what: "w2 at its decision point" });
      b.decide("w2", 1, "stop");
      await untilEnded(b, ["w1", "w2"], log);
      const w1 = reportsOf(log, "w1");
      const w2 = reportsOf(log, "w2");
      assert.deepEqual(strip(w1 as never), strip(cold), "warm = cold, line for line");
      assert.equal(w1[0].warm_start, false);
      assert.equal(w2[0].warm_start, true, "the second trial found the process warm");
      assert.equal(typeof w2[0].startup_s, "number");
      assert.ok((w2[0].startup_s as number) < (w1[0].startup_s as number), `warm start-up ${w2[0].startup_s} < cold ${w1[0].startup_s}`);
      // exploit: w3 continues from w2's checkpoint at t=1 with a new lr
      const ck = await b.copyCheckpoint("w2", w2[0].checkpoint as string, "w3");
      await b.submit([real("w3", { config: { lr: 2e-3 }, start_t: 1, restore_from: ck })]);
      await untilEnded(b, ["w3"], log);
      const w3 = reportsOf(log, "w3");
      assert.deepEqual(w3.map((r) => r.t), [2]);
      assert.equal(w3[0].lr, 2e-3, "the new hyperparameter took effect");
      assert.equal(w3[0].warm_start, true);
      const pids = ["w1", "w2", "w3"].map((id) => JSON.parse(fs.readFileSync(path.join(dir, "trials", id, "launch.json"), "utf8")).pid);
      assert.equal(new Set(pids).size, 1, `one process for all three: ${pids}`);
    });
  });
});
