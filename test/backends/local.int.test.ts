/**
 * The local backend with real trainer processes: the contract suite over the
 * fake trainer (fast), GPU hand-out through CUDA_VISIBLE_DEVICES from a
 * fake GPU id list, and the contract over the real small-model trainer.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runBackendContract, drive, statesOf, reportsOf } from "./contract";
import { fakeTrainerHarness, realTrainerHarness, baseTrial, FAKE_TRAINER, PYTHON, tmpRunDir } from "./harness-local";
import { LocalBackend, killRunDirTrials } from "../../src/backends/local";
import type { BackendEvent } from "../../src/backends/types";

runBackendContract("local (fake trainer process)", fakeTrainerHarness(), { tornLines: true, adopt: true });
// the same contract with warm workers (reuseProcesses): one process per slot runs successive trials
runBackendContract("local, warm workers (fake trainer process)", fakeTrainerHarness({ reuseProcesses: true }), { tornLines: true, adopt: true });

describe("local backend: GPUs, files, signals", () => {
  const withBackend = async (opts: { maxConcurrent: number; gpus: number[]; killGraceMs?: number }, fn: (b: LocalBackend, dir: string) => Promise<void>) => {
    const dir = tmpRunDir();
    const b = new LocalBackend({ runDir: dir, ...opts });
    await b.start();
    try {
      await fn(b, dir);
    } finally {
      b.killAll();
      killRunDirTrials(dir);
      await b.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  const launch = (id: string, gpus: number, trainer: Record<string, unknown> = { step_s: 0.05 }, maxT = 3) => ({
    trialId: id,
    trial: baseTrial(id, { trial: { max_t: maxT } }, trainer),
    command: [PYTHON, FAKE_TRAINER],
    env: {},
    gpus,
  });
  const driveAll = async (b: LocalBackend, ids: string[]) => {
    const log: BackendEvent[] = [];
    const h = { backend: b, stepMs: 50, pollMs: 20, timeoutMs: 20_000 } as never;
    await drive(h, (lg) => ids.every((id) => ["completed", "stopped", "failed", "paused"].includes(statesOf(lg, id).at(-1) ?? "")), { log });
    return log;
  };
  const envOf = (dir: string, id: string) => JSON.parse(fs.readFileSync(path.join(dir, "trials", id, "env.json"), "utf8"));

  it("concurrent 1-GPU trials see different CUDA_VISIBLE_DEVICES from the pool [0,1]; a 0-GPU trial sees ''", async () => {
    await withBackend({ maxConcurrent: 3, gpus: [0, 1] }, async (b, dir) => {
      await b.submit([launch("g1", 1, { step_s: 0.2 }), launch("g2", 1, { step_s: 0.2 }), launch("g0", 0)]);
      const log = await driveAll(b, ["g1", "g2", "g0"]);
      const seen = [envOf(dir, "g1").CUDA_VISIBLE_DEVICES, envOf(dir, "g2").CUDA_VISIBLE_DEVICES].sort();
      assert.deepEqual(seen, ["0", "1"]);
      assert.equal(envOf(dir, "g0").CUDA_VISIBLE_DEVICES, "");
      assert.equal(envOf(dir, "g0").TUNELAB_TRIAL_DIR, path.join(dir, "trials", "g0"));
      const acc = log.filter((e) => e.type === "accounting");
      const g0 = acc.find((e) => e.trialId === "g0");
      assert.ok(g0 && g0.type === "accounting" && g0.gpus === 0 && g0.gpuSeconds === 0);
    });
  });

  it("a trial waits queued for a free GPU even when a concurrency slot is free", async () => {
    await withBackend({ maxConcurrent: 3, gpus: [0, 1] }, async (b, dir) => {
      await b.submit([launch("a", 1, { step_s: 0.15 }), launch("b", 1, { step_s: 0.15 }), launch("c", 1, { step_s: 0.05 })]);
      const first = await b.poll();
      assert.deepEqual(statesOf(first, "c"), ["queued"], "c waits for a GPU");
      const log = await driveAll(b, ["a", "b", "c"]);
      const all = [...first, ...log];
      const iCRun = all.findIndex((e) => e.type === "state" && e.trialId === "c" && e.state === "running");
      const iFirstEnd = all.findIndex((e) => e.type === "state" && (e.trialId === "a" || e.trialId === "b") && e.state === "completed");
      assert.ok(iFirstEnd >= 0 && iFirstEnd < iCRun, "c starts after a GPU is freed");
      assert.ok(["0", "1"].includes(envOf(dir, "c").CUDA_VISIBLE_DEVICES));
    });
  });

  it("a trial that wants more GPUs than the pool fails at once with a message", async () => {
    await withBackend({ maxConcurrent: 2, gpus: [0] }, async (b) => {
      await b.submit([launch("big", 2)]);
      const ev = await b.poll();
      const st = ev.filter((e) => e.type === "state" && e.trialId === "big").at(-1);
      assert.ok(st && st.type === "state" && st.state === "failed" && /wants 2 GPUs/.test(st.message ?? ""));
    });
  });

  it("stop escalates to SIGKILL after the grace period when the trainer ignores SIGTERM", async () => {
    await withBackend({ maxConcurrent: 1, gpus: [], killGraceMs: 300 }, async (b, dir) => {
      const stubborn = [PYTHON, "-c", "import signal,time,os\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nopen(os.path.join(os.environ['TUNELAB_TRIAL_DIR'],'up'),'w').close()\ntime.sleep(60)"];
      await b.submit([{ ...launch("k1", 0), command: stubborn }]);
      await b.poll();
      const up = path.join(dir, "trials", "k1", "up");
      const t0 = Date.now();
      while (!fs.existsSync(up) && Date.now() - t0 < 60_000) await b.wait(20);
      assert.ok(fs.existsSync(up), "the trainer installed its SIGTERM handler");
      await b.stop("k1");
      const log = await driveAll(b, ["k1"]);
      const st = log.filter((e) => e.type === "state" && e.trialId === "k1").at(-1);
      assert.ok(st && st.type === "state");
      assert.equal(st.state, "stopped");
      assert.equal(st.signal, "SIGKILL");
    });
  });

  it("stdout/stderr go to files; decision files are written whole", async () => {
    await withBackend({ maxConcurrent: 1, gpus: [] }, async (b, dir) => {
      await b.submit([launch("f1", 0, { step_s: 0.02 }, 2)]);
      await driveAll(b, ["f1"]);
      const out = fs.readFileSync(path.join(dir, "trials", "f1", "stdout.log"), "utf8");
      assert.match(out, /fake_trainer start/);
      b.decide("f1", 7, "stop");
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, "trials", "f1", "decision-7.json"), "utf8")), { action: "stop" });
      assert.deepEqual(fs.readdirSync(path.join(dir, "trials", "f1")).filter((n) => n.includes(".tmp")), []);
      assert.throws(() => b.decide("f1", 7, "pause" as never), /continue.*stop/);
    });
  });

  it("a kernel killed with SIGKILL leaves its trial running; a new backend adopts it and requeues the unstarted one", async () => {
    const dir = tmpRunDir();
    const { spawn } = await import("node:child_process");
    const b = new LocalBackend({ runDir: dir, maxConcurrent: 1, gpus: [] });
    try {
      // k1 must outlive the "kernel" by a wide margin: 8 × 0.5 s
      const l1 = launch("k1", 0, { step_s: 0.5 }, 8);
      const l2 = launch("k2", 0, { step_s: 0.02 }, 2);
      const code = `
        const { LocalBackend } = require(${JSON.stringify(path.resolve(__dirname, "../../src/backends/local"))});
        (async () => {
          const b = new LocalBackend({ runDir: ${JSON.stringify(dir)}, maxConcurrent: 1, gpus: [] });
          await b.start();
          await b.submit(${JSON.stringify([l1, l2])});
          await b.poll();
          process.kill(process.pid, "SIGKILL");
        })();`;
      const kernel = spawn(process.execPath, ["--import", "tsx", "-e", code], { stdio: "inherit" });
      const status = await new Promise<string | null>((r) => kernel.on("exit", (_c, sig) => r(sig)));
      assert.equal(status, "SIGKILL", "the 'kernel' died hard");
      const pid = JSON.parse(fs.readFileSync(path.join(dir, "trials", "k1", "launch.json"), "utf8")).pid as number;
      assert.doesNotThrow(() => process.kill(-pid, 0), "the trial's process group outlived its kernel");
      assert.ok(!fs.existsSync(path.join(dir, "trials", "k2", "launch.json")), "k2 never started");
      await b.start();
      await b.adopt([{ trialId: "k1", reportsSeen: 0 }, { trialId: "k2", reportsSeen: 0 }]);
      const log = await driveAll(b, ["k1", "k2"]);
      assert.deepEqual(reportsOf(log, "k1").map((r) => r.t), [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.equal(statesOf(log, "k1").at(-1), "completed");
      assert.deepEqual(statesOf(log, "k2"), ["running", "completed"]);
      const iK1 = log.findIndex((e) => e.type === "state" && e.trialId === "k1" && e.state === "completed");
      const iK2 = log.findIndex((e) => e.type === "state" && e.trialId === "k2" && e.state === "running");
      assert.ok(iK1 < iK2, "the requeued trial waits for the slot");
    } finally {
      b.killAll();
      killRunDirTrials(dir);
      await b.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("hostile argv and env strings reach the trainer verbatim and execute nothing", async () => {
    await withBackend({ maxConcurrent: 1, gpus: [] }, async (b, dir) => {
      const marker = path.join(dir, "pwned");
      const hostile = [`x; touch ${marker}`, `$(touch ${marker})`, `\`touch ${marker}\``, "a b 'c' \"d\"\nnewline"];
      const argvOut = path.join(dir, "argv.json");
      const cmd = [PYTHON, "-c", `import json,sys,os; json.dump({"argv": sys.argv[1:], "env": os.environ["HOSTILE"]}, open(${JSON.stringify(argvOut)}, "w"))`, ...hostile];
      await b.submit([{ ...launch("h1", 0), command: cmd, env: { HOSTILE: `$(touch ${marker}); x` } }]);
      const log = await driveAll(b, ["h1"]);
      assert.equal(statesOf(log, "h1").at(-1), "stopped", "exit 0 before max_t");
      const got = JSON.parse(fs.readFileSync(argvOut, "utf8"));
      assert.deepEqual(got.argv, hostile);
      assert.equal(got.env, `$(touch ${marker}); x`);
      assert.equal(fs.existsSync(marker), false);
    });
  });

  it("refuses trial ids that would leave the run dir", async () => {
    await withBackend({ maxConcurrent: 1, gpus: [] }, async (b) => {
      await assert.rejects(b.submit([{ ...launch("../evil", 0), trialId: "../evil" }]), /not allowed/);
      await assert.rejects(b.copyCheckpoint("a", "../../x", "b"), /leaves the trial directory|does not exist/);
    });
  });
});

runBackendContract("local (real small-model trainer, src/trainer/train.py)", realTrainerHarness(), { adopt: true });
runBackendContract("local, warm workers (real small-model trainer, src/trainer/train.py)", realTrainerHarness({ reuseProcesses: true }), { adopt: true });
