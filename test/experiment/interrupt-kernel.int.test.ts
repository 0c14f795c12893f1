/**
 * ■ Interrupt during `await exp.run()` in the real tunelab kernel (Debian's
 * jupyter_client sends interrupt_kernel(), as the toolbar button does), on
 * the local backend and on SLURM over SSH (a private cluster and sshd
 * started here). The cell's output says what happens; no trial starts after
 * the interrupt; the running trials pause at a checkpoint (their processes or
 * jobs gone); the run ends "paused" and attach + run() finishes it. The
 * notebook's folder is a temp dir outside the repository.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readJournal } from "../../src/experiment/journal";
import type { ExperimentEvent } from "../../src/experiment/events";
import type { ExperimentInput } from "../../src/config/types";
import { FAKE_TRAINER, PYTHON } from "../backends/harness-local";
import { clusterPerFile, sshSpec } from "../backends/slurm/harness";
import { ROOT, ensureBuilt, jupyterSandbox, runProcess } from "../kernel-setup/helpers";

const cluster = clusterPerFile();
const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

interface Cell { status: string; ename: string | null; stdout: string; stderr: string; result: string | null }
interface Ran { setup: Cell; run: Cell; after: Cell[]; matched_before_interrupt: string[] }

async function interruptInKernel(name: string, backend: Record<string, unknown>, stepS: number, trialsDir?: string): Promise<{ ran: Ran; runDir: string; events: ExperimentEvent[] }> {
  ensureBuilt();
  const sandbox = jupyterSandbox();
  dirs.push(sandbox.dir);
  const nbDir = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-nb-"));
  dirs.push(nbDir);
  const runDir = path.join(nbDir, "runs", name);
  const input = {
    name, seed: 5, space: { lr: { loguniform: [1e-4, 1e-1] } },
    method: { kind: "asha", reductionFactor: 2, gracePeriod: 2 }, samples: 6, maxConcurrent: 2,
    trainer: { epochs: 8, command: [PYTHON, FAKE_TRAINER], options: { step_s: stepS } },
    backend, runDir,
  } as unknown as ExperimentInput;
  const plan = {
    setup: `import { experiment } from "tunelab";\nconst exp = experiment(${JSON.stringify(input)});\nexp.name`,
    run: "const summary = await exp.run();",
    // two trials past their first report: both are training
    glob: path.join(trialsDir ?? path.join(runDir, "trials"), "*", "checkpoints", "t0001*"),
    count: 2,
    after: [
      `const s = await exp.run();\nconsole.log(JSON.stringify({ state: s.state, trials: s.trials.map((t) => [t.trial_id, t.state]) }));`,
      `const again = experiment.attach(${JSON.stringify(runDir)});\nconst s2 = await again.run();\nconsole.log(JSON.stringify({ state: s2.state, trials: s2.trials.map((t) => [t.trial_id, t.state]) }));`,
    ],
    timeout: 240,
  };
  const planFile = path.join(sandbox.dir, "plan.json");
  fs.writeFileSync(planFile, JSON.stringify(plan));
  const log = path.join(sandbox.dir, "kernel.log");
  const r = await runProcess(PYTHON, [path.join(ROOT, "test/experiment/py/interrupt_run.py"), nbDir, log, planFile], { env: sandbox.env, timeoutMs: 600_000 });
  const line = r.stdout.split("\n").find((l) => l.startsWith("{"));
  assert.ok(line, `no result from the driver script:\n${r.stdout}\n${r.stderr}\n${fs.existsSync(log) ? fs.readFileSync(log, "utf8") : ""}`);
  const ran = JSON.parse(line!) as Ran;
  const j = readJournal(path.join(runDir, "journal.jsonl"));
  return { ran, runDir, events: [...j.events, ...j.trailing] };
}

function checkInterrupted(name: string, ran: Ran, events: ExperimentEvent[]): string[] {
  assert.equal(ran.setup.status, "ok", JSON.stringify(ran.setup));
  // the cell stops at once, and says what the run does now
  assert.equal(ran.run.status, "error", JSON.stringify(ran.run));
  assert.equal(ran.run.ename, "Interrupted");
  assert.match(ran.run.stdout, new RegExp(`tunelab: interrupted: experiment "${name}" starts no new trials; 2 running trials \\(t\\d+, t\\d+\\) pause at their checkpoints; the experiment ends "paused"\\.`));
  assert.match(ran.run.stdout, new RegExp(`resume later: experiment\\.attach\\("${name}"\\) then await exp\\.run\\(\\)`));

  // after the first interrupt decision, no trial starts that had not started before
  const first = events.findIndex((e) => e.type === "decision" && e.reason === "interrupted: paused");
  assert.ok(first > 0, "no interrupt decision in the journal");
  const startedBefore = new Set(events.slice(0, first).filter((e) => e.type === "trial_state" && (e.state === "running" || e.state === "queued")).map((e) => (e as { trialId: string }).trialId));
  // up to the end of the interrupted run (attach's run comes after it)
  const end = events.findIndex((e, i) => i > first && e.type === "experiment_state" && e.state === "paused");
  assert.ok(end > first, "the interrupted run never ended paused");
  const startedAfter = events.slice(first, end).filter((e) => e.type === "trial_state" && (e.state === "running" || e.state === "queued") && !startedBefore.has(e.trialId));
  assert.deepEqual(startedAfter, []);
  const paused = events.slice(first, end).filter((e) => e.type === "decision" && e.action === "pause" || (e.type === "decision" && e.reason === "interrupted: paused")).map((e) => (e as { trialId: string }).trialId);
  assert.equal(new Set(paused).size, 2, JSON.stringify(paused));

  const after1 = JSON.parse(ran.after[0].stdout.trim().split("\n").pop()!);
  assert.equal(after1.state, "paused", ran.after[0].stdout);
  const states = new Map<string, string>(after1.trials);
  for (const id of paused) assert.equal(states.get(id), "paused", `${id}: ${ran.after[0].stdout}`);
  assert.ok(after1.trials.length < 6, "every sample was started despite the interrupt");
  // attach + run() finishes exactly the rest
  const after2 = JSON.parse(ran.after[1].stdout.trim().split("\n").pop()!);
  assert.equal(ran.after[1].status, "ok", JSON.stringify(ran.after[1]));
  assert.equal(after2.state, "finished", ran.after[1].stdout);
  assert.equal(after2.trials.length, 6);
  assert.ok(after2.trials.every(([, st]: [string, string]) => st === "completed" || st === "stopped"), ran.after[1].stdout);
  return paused;
}

test("■ Interrupt during await exp.run() in the kernel, local backend: no new trials, the running ones pause (processes gone), attach finishes", async () => {
  const name = "int-kernel-local";
  const { ran, runDir, events } = await interruptInKernel(name, { kind: "local", gpus: [] }, 0.4);
  const paused = checkInterrupted(name, ran, events);
  // the paused trials' first processes exited (pid files written by the fake trainer; a resumed run rewrites them, so check the journal's exit instead)
  for (const id of paused) {
    const ends = events.filter((e) => e.type === "trial_state" && e.trialId === id && e.state === "paused");
    assert.ok(ends.length >= 1, `${id} never reported paused`);
  }
  assert.ok(fs.existsSync(path.join(runDir, "summary.json")));
});

test("■ Interrupt during await exp.run() in the kernel, SLURM over SSH: no new jobs, the running jobs pause and leave the queue, attach finishes", async () => {
  const c = await cluster();
  const name = "int-kernel-slurm";
  const spec = sshSpec(c, { pollInterval: 1 });
  const { ran, events } = await interruptInKernel(name, spec as unknown as Record<string, unknown>, 0.8, path.join(spec.remoteDir, name, "trials"));
  checkInterrupted(name, ran, events);
  // nothing of this experiment is left in the queue (the paused jobs ended, none was started after)
  const q = await c.exec("squeue -h -o '%j %T'");
  assert.equal(q.split("\n").filter((l) => l.includes(name)).length, 0, q);
});
