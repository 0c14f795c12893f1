/**
 * Harnesses for the local backend: the fake trainer (fast, a real Python
 * process obeying the contract) and the real bundled trainer (small model).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalBackend, killRunDirTrials } from "../../src/backends/local";
import type { Backend, TrialLaunch } from "../../src/backends/types";
import type { ContractHarness, LaunchOverrides } from "./contract";

export const ROOT = path.resolve(__dirname, "../..");
export const PYTHON = "/usr/bin/python3";
export const FAKE_TRAINER = path.join(__dirname, "fixtures", "fake_trainer.py");
export const REAL_TRAINER = path.join(ROOT, "src", "trainer", "train.py");

export function tmpRunDir(prefix = "tunelab-local-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function baseTrial(id: string, o: LaunchOverrides, trainer: Record<string, unknown>): TrialLaunch["trial"] {
  return {
    trial_id: id,
    experiment: "contract",
    config: { lr: 1e-3 },
    max_t: 4,
    start_t: 0,
    restore_from: null,
    seed: 1,
    metric: "eval_loss",
    mode: "min",
    trainer,
    ...o.trial,
  };
}

/** Crash stand-in for trainers without a crash switch: a real process that writes stderr and exits 3. */
export const CRASH_COMMAND = [
  PYTHON,
  "-c",
  "import sys\nfor i in range(40): sys.stderr.write('crash line %d\\n' % i)\nsys.stderr.write('RuntimeError: fake crash\\n'); sys.exit(3)",
];

/** reuseProcesses: the backend's warm workers (one Python process per slot runs successive trials). */
export function fakeTrainerHarness(opts: { maxConcurrent?: number; gpus?: number[]; stepS?: number; reuseProcesses?: boolean } = {}): () => Promise<ContractHarness> {
  return async () => {
    const runDir = tmpRunDir();
    // 0.15 s per step: the pause and adopt tests act between the first report and max_t (8 steps), which needs a margin on a loaded machine
    const stepS = opts.stepS ?? 0.15;
    const instances: LocalBackend[] = [];
    const make = async (): Promise<LocalBackend> => {
      const b = new LocalBackend({ runDir, maxConcurrent: opts.maxConcurrent ?? 2, gpus: opts.gpus ?? [0, 1], killGraceMs: 2000, reuseProcesses: opts.reuseProcesses ?? false });
      await b.start();
      instances.push(b);
      return b;
    };
    const backend = await make();
    return {
      backend,
      maxConcurrent: backend.maxConcurrent,
      stepMs: stepS * 1000,
      pollMs: 20,
      timeoutMs: 20_000,
      crashMarker: "RuntimeError: fake crash",
      features: { crashExitCode: true },
      launch: (id, o = {}) => {
        const trainer: Record<string, unknown> = { step_s: stepS };
        if (o.behaviour === "crash") trainer.crash_at = 2;
        if (o.behaviour === "torn") {
          trainer.torn = true;
          trainer.torn_s = 0.15;
        }
        return { trialId: id, trial: baseTrial(id, o, trainer), command: [PYTHON, FAKE_TRAINER], env: {}, gpus: o.gpus ?? 1 };
      },
      reopen: make as () => Promise<Backend>,
      cleanup: async () => {
        for (const b of instances) b.killAll();
        killRunDirTrials(runDir);
        for (const b of instances) await b.close().catch(() => {});
        fs.rmSync(runDir, { recursive: true, force: true });
      },
    };
  };
}

/** Tiny options for the real small-model trainer: ~0.1 s per epoch after a ~2 s torch import. */
export const TINY_SMALL = { model: "small", steps_per_epoch: 3, d_model: 32, eval_windows: 8 };

export function realTrainerHarness(opts: { maxConcurrent?: number; reuseProcesses?: boolean } = {}): () => Promise<ContractHarness> {
  return async () => {
    const runDir = tmpRunDir("tunelab-real-");
    const instances: LocalBackend[] = [];
    const make = async (): Promise<LocalBackend> => {
      const b = new LocalBackend({ runDir, maxConcurrent: opts.maxConcurrent ?? 2, gpus: [0, 1], killGraceMs: 5000, reuseProcesses: opts.reuseProcesses ?? false });
      await b.start();
      instances.push(b);
      return b;
    };
    const backend = await make();
    return {
      backend,
      maxConcurrent: backend.maxConcurrent,
      stepMs: 150,
      pollMs: 50,
      timeoutMs: 60_000,
      // the real trainer refuses a bad hyperparameter: exit 2 with one "tunelab-trainer: error:" line
      crashMarker: "tunelab-trainer: error:",
      features: { crashExitCode: true },
      launch: (id, o = {}) => {
        const trial = baseTrial(id, o, { ...TINY_SMALL });
        if (o.behaviour === "crash") trial.config = { ...trial.config, lr: -1 };
        return { trialId: id, trial, command: [PYTHON, REAL_TRAINER], env: { TUNELAB_THREADS: "1" }, gpus: o.gpus ?? 1 };
      },
      reopen: make as () => Promise<Backend>,
      cleanup: async () => {
        for (const b of instances) b.killAll();
        killRunDirTrials(runDir);
        for (const b of instances) await b.close().catch(() => {});
        fs.rmSync(runDir, { recursive: true, force: true });
      },
    };
  };
}
