/**
 * Helpers for the trainer's contract tests: write trial.json into a temp
 * dir, start the real trainer (/usr/bin/python3 src/trainer/train.py), read
 * its report lines. Every child is tracked so `killAll` can clean up on failure.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Report, TrialJson } from "../../src/backends/types";

export const ROOT = path.resolve(__dirname, "..", "..");
export const TRAIN_PY = path.join(ROOT, "src", "trainer", "train.py");
export const PYTHON = process.env.TUNELAB_TEST_PYTHON ?? "/usr/bin/python3";

/** Small epochs so a contract test takes seconds on 2 shared cores. */
export const FAST = { tokens_per_epoch: 8192, eval_windows: 16 };

const children = new Set<ChildProcess>();

export function tmpRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-trainer-"));
}

export function writeTrial(dir: string, over: Partial<TrialJson> = {}): TrialJson {
  fs.mkdirSync(dir, { recursive: true });
  const trial: TrialJson = {
    trial_id: path.basename(dir),
    experiment: "contract",
    config: { lr: 1e-3, weight_decay: 0, batch_size: 16 },
    max_t: 3,
    start_t: 0,
    restore_from: null,
    seed: 1,
    metric: "eval_loss",
    mode: "min",
    trainer: { model: "small", ...FAST },
    ...over,
  };
  fs.writeFileSync(path.join(dir, "trial.json"), JSON.stringify(trial));
  return trial;
}

export interface Running {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startTrainer(dir: string, extraArgs: string[] = [], env: Record<string, string> = {}): Running {
  const child = spawn(PYTHON, [TRAIN_PY, ...extraArgs], {
    env: { ...process.env, TUNELAB_TRIAL_DIR: dir, PYTHONUNBUFFERED: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let err = "";
  let out = "";
  child.stderr!.on("data", (d) => (err += d));
  child.stdout!.on("data", (d) => (out += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, stderr: () => err, stdout: () => out, exit };
}

export async function runTrainer(dir: string, extraArgs: string[] = []) {
  const r = startTrainer(dir, extraArgs);
  const e = await r.exit;
  return { ...e, stderr: r.stderr(), stdout: r.stdout() };
}

export function readReports(dir: string): Report[] {
  const p = path.join(dir, "metrics.jsonl");
  if (!fs.existsSync(p)) return [];
  const lines = fs.readFileSync(p, "utf8").split("\n");
  const out: Report[] = [];
  for (const l of lines) {
    if (!l.trim()) continue;
    try {
      out.push(JSON.parse(l));
    } catch {
      /* torn last line: skip (the contract lets readers do so) */
    }
  }
  return out;
}

export async function waitFor(cond: () => boolean, timeoutMs = 60_000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function killAll(): void {
  for (const c of children) c.kill("SIGKILL");
  children.clear();
}

export function pythonHas(module: string): boolean {
  const r = spawnSync(PYTHON, ["-c", `import ${module}`], { stdio: "ignore" });
  return r.status === 0;
}
