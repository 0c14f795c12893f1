/**
 * Local and replay backend overhead: spawn latency, poll cost with 8 / 64
 * running trainer processes, and replay speed (simulated hours per second).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalBackend, killRunDirTrials } from "../src/backends/local";
import { ReplayBackend } from "../src/backends/replay";
import { parseCurvesCsv } from "../src/backends/curves";
import type { BackendEvent, TrialLaunch } from "../src/backends/types";

const ROOT = path.resolve(__dirname, "..");
const PY = "/usr/bin/python3";
const FAKE = path.join(ROOT, "test", "backends", "fixtures", "fake_trainer.py");

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
};
const f = (x: number, d = 2) => x.toFixed(d);

function trial(id: string, maxT: number, trainer: Record<string, unknown>, extra: Partial<TrialLaunch["trial"]> = {}): TrialLaunch["trial"] {
  return { trial_id: id, experiment: "bench", config: { lr: 1e-3, batch_size: 16 }, max_t: maxT, start_t: 0, restore_from: null, seed: 0, metric: "eval_loss", mode: "min", trainer, ...extra };
}

async function withRunDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-bench-"));
  try {
    return await fn(dir);
  } finally {
    killRunDirTrials(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** submit() cost per trial and submit -> process running its first command. */
async function spawnLatency(n = 20): Promise<{ submitMs: number[]; upMs: number[] }> {
  return withRunDir(async (dir) => {
    const b = new LocalBackend({ runDir: dir, maxConcurrent: n, gpus: [] });
    await b.start();
    const submitMs: number[] = [];
    const upMs: number[] = [];
    const cmd = ["/bin/sh", "-c", 'date +%s%3N > "$TUNELAB_TRIAL_DIR/up"'];
    for (let i = 0; i < n; i++) {
      const id = `s${i}`;
      const t0 = Date.now();
      const p0 = performance.now();
      await b.submit([{ trialId: id, trial: trial(id, 1, {}), command: cmd, env: {}, gpus: 0 }]);
      submitMs.push(performance.now() - p0);
      const up = path.join(dir, "trials", id, "up");
      while (!fs.existsSync(up) || fs.statSync(up).size === 0) await b.wait(2);
      upMs.push(Number(fs.readFileSync(up, "utf8").trim()) - t0);
      await b.poll();
    }
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const ev = await b.poll();
      if (ev.length === 0 && [...Array(n).keys()].every((i) => fs.existsSync(path.join(dir, "trials", `s${i}`, "exit.json")))) break;
      await b.wait(20);
    }
    await b.close();
    return { submitMs, upMs };
  });
}

/** poll() wall time with n fake trainers running (1 report / s each). */
async function pollCost(n: number, polls = 40): Promise<{ ms: number[]; reportsPerPoll: number; startS: number }> {
  return withRunDir(async (dir) => {
    const b = new LocalBackend({ runDir: dir, maxConcurrent: n, gpus: [] });
    await b.start();
    const ids = Array.from({ length: n }, (_, i) => `p${i}`);
    const t0 = performance.now();
    await b.submit(ids.map((id) => ({ trialId: id, trial: trial(id, 1000, { step_s: 1.0 }), command: [PY, FAKE], env: {}, gpus: 0 })));
    // wait until every trainer is up (env.json written)
    while (!ids.every((id) => fs.existsSync(path.join(dir, "trials", id, "env.json")))) await b.wait(20);
    const startS = (performance.now() - t0) / 1000;
    await b.poll();
    const ms: number[] = [];
    let reports = 0;
    for (let i = 0; i < polls; i++) {
      await b.wait(100);
      const p0 = performance.now();
      const ev: BackendEvent[] = await b.poll();
      ms.push(performance.now() - p0);
      reports += ev.filter((e) => e.type === "report").length;
    }
    b.killAll();
    await b.close();
    return { ms, reportsPerPoll: reports / polls, startS };
  });
}

/** Simulated seconds per real second: n trials x steps, with decision points answered each poll. */
async function replaySpeed(trials = 64, steps = 100, stepS = 60): Promise<{ simHours: number; realS: number; reports: number }> {
  const rows = ["lr,batch_size,t,eval_loss,time_s"];
  for (const lr of [1e-4, 1e-3, 1e-2]) for (let t = 1; t <= steps; t++) rows.push(`${lr},16,${t},${3 / t + lr},${stepS}`);
  const table = parseCurvesCsv(rows.join("\n"), "bench.csv");
  const b = new ReplayBackend({ curves: table, space: { lr: { loguniform: [1e-4, 1e-2] } }, metric: "eval_loss", maxConcurrent: 8, startTime: 0 });
  const pauseAt = [1, 4, 16, 64];
  const ids = Array.from({ length: trials }, (_, i) => `r${i}`);
  const p0 = performance.now();
  await b.submit(ids.map((id, i) => ({ trialId: id, trial: trial(id, steps, {}, { config: { lr: [1e-4, 1e-3, 1e-2][i % 3] }, pause_at: pauseAt }), command: [], env: {}, gpus: 1 })));
  let done = 0;
  let reports = 0;
  while (done < trials) {
    for (const e of await b.poll()) {
      if (e.type === "report") {
        reports++;
        if (pauseAt.includes(e.report.t)) b.decide(e.trialId, e.report.t, "continue");
      } else if (e.type === "state" && e.state === "completed") done++;
    }
    await b.wait(30_000);
  }
  const realS = (performance.now() - p0) / 1000;
  return { simHours: b.now() / 3_600_000, realS, reports };
}

export async function run(): Promise<string> {
  const out: string[] = ["## Backends: local processes and replay", ""];
  const sp = await spawnLatency();
  out.push(
    `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), Node ${process.version}.`,
    "",
    "| measure | median | p95 |",
    "|---|---|---|",
    `| submit() of one trial (write trial files + spawn), ms | ${f(q(sp.submitMs, 0.5))} | ${f(q(sp.submitMs, 0.95))} |`,
    `| submit -> trainer command running (sh wrapper + exec), ms | ${f(q(sp.upMs, 0.5), 0)} | ${f(q(sp.upMs, 0.95), 0)} |`,
  );
  for (const n of [8, 64]) {
    const pc = await pollCost(n);
    out.push(`| poll() with ${n} running fake trainers (${f(pc.reportsPerPoll, 1)} reports/poll; all ${n} up after ${f(pc.startS, 1)} s), ms | ${f(q(pc.ms, 0.5))} | ${f(q(pc.ms, 0.95))} |`);
  }
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await replaySpeed());
  const rs = runs.sort((a, b) => a.realS - b.realS)[1];
  out.push(
    "",
    `Replay: 64 trials x 100 steps of 60 s, 8 at a time, 4 decision points each answered at the next poll (1,601 polls, 30 s virtual poll interval): ` +
      `${f(rs.simHours, 1)} simulated hours (${rs.reports} reports) in ${f(rs.realS, 3)} s real (median of 3; cold first run ${f(runs.map((r) => r.realS).reduce((a, b) => Math.max(a, b)), 3)} s) = ` +
      `**${f(rs.simHours / rs.realS, 0)} simulated hours per real second**.`,
  );
  return out.join("\n");
}

if (require.main === module) {
  run().then((s) => console.log(s));
}
