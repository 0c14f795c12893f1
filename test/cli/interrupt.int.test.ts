/**
 * Ctrl-C in a terminal during `tunelab run`, for real: the CLI process (bin/tunelab.js)
 * on the local backend gets SIGINT while two trials train. It says what happens,
 * starts no new trial, the running ones pause at a checkpoint, the process exits
 * 130 (as an interrupted command does), and `tunelab attach` finishes the run.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readJournal } from "../../src/experiment/journal";
import { FAKE_TRAINER, PYTHON } from "../backends/harness-local";
import { ensureBuilt } from "../kernel-setup/helpers";

const ROOT = path.resolve(__dirname, "../..");
const CLI = path.join(ROOT, "bin", "tunelab.js");
const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function cli(args: string[], cwd: string, onSpawn?: (pid: number) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    onSpawn?.(child.pid!);
  });
}

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("Ctrl-C during `tunelab run` (local backend): no new trials, the running two pause, exit 130; `tunelab attach` finishes all 6", async () => {
  ensureBuilt();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-cli-int-"));
  dirs.push(dir);
  const name = "cli-interrupt";
  const spec = {
    name, seed: 5, space: { lr: { loguniform: [1e-4, 1e-1] } },
    method: { kind: "asha", reductionFactor: 2, gracePeriod: 2 }, samples: 6, maxConcurrent: 2,
    trainer: { epochs: 8, command: [PYTHON, FAKE_TRAINER], options: { step_s: 0.4 } },
    backend: { kind: "local", gpus: [] },
  };
  fs.writeFileSync(path.join(dir, "exp.json"), JSON.stringify(spec));
  const trials = path.join(dir, "runs", name, "trials");
  const training = () => (fs.existsSync(trials) ? fs.readdirSync(trials) : [])
    .filter((id) => fs.existsSync(path.join(trials, id, "checkpoints")) && fs.readdirSync(path.join(trials, id, "checkpoints")).some((f) => f.startsWith("t0001"))).length;

  let pid = 0;
  const run = cli(["run", "exp.json", "--poll", "100"], dir, (p) => (pid = p));
  await until("two trials past their first report", () => training() >= 2, 120_000);
  process.kill(pid, "SIGINT");
  const r = await run;

  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, new RegExp(`^tunelab: interrupted: experiment "${name}" starts no new trials; 2 running trials \\(t\\d+, t\\d+\\) pause at their checkpoints; the experiment ends "paused"\\.$`, "m"));
  assert.match(r.stderr, new RegExp(`^  resume later: .*\\(CLI: tunelab attach ${name}\\)$`, "m"));
  assert.match(r.stderr, /^  Press Ctrl-C again to stop the running trials instead\.$/m);
  const summary = JSON.parse(fs.readFileSync(path.join(dir, "runs", name, "summary.json"), "utf8"));
  assert.equal(summary.state, "paused");

  // no trial started after the interrupt decision; exactly the two that ran are paused
  const j = readJournal(path.join(dir, "runs", name, "journal.jsonl"));
  const events = [...j.events, ...j.trailing];
  const first = events.findIndex((e) => e.type === "decision" && e.reason === "interrupted: paused");
  assert.ok(first > 0, "no interrupt decision in the journal");
  const before = new Set(events.slice(0, first).filter((e) => e.type === "trial_state" && e.state === "running").map((e) => (e as { trialId: string }).trialId));
  const startedAfter = events.slice(first).filter((e) => e.type === "trial_state" && e.state === "running" && !before.has((e as { trialId: string }).trialId));
  assert.deepEqual(startedAfter, []);
  const paused = summary.trials.filter((t: { state: string }) => t.state === "paused").map((t: { trial_id: string }) => t.trial_id);
  assert.equal(paused.length, 2, JSON.stringify(summary.trials));
  assert.ok(summary.trials.length < 6);

  const a = await cli(["attach", name, "--poll", "100"], dir);
  assert.equal(a.code, 0, a.stderr);
  const done = JSON.parse(fs.readFileSync(path.join(dir, "runs", name, "summary.json"), "utf8"));
  assert.equal(done.state, "finished");
  assert.equal(done.trials.length, 6);
  assert.ok(done.trials.every((t: { state: string }) => t.state === "completed" || t.state === "stopped"), JSON.stringify(done.trials));
});
