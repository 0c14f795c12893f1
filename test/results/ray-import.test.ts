/**
 * results.importRay / readRay on Ray Tune experiment directories. Ray cannot
 * be installed here, so the directories are FIXTURES built by
 * fixtures/ray/make_fixtures.py from Ray 2.x's documented formats and the
 * workshop's published records (kaust-rccl/ksl-docs hpo_raytune_guide.rst);
 * every test name says so.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { compare, importRay, rayCurvesCsv, readRay, referenceManualRow } from "../../src/results";
import { experiment } from "../../src/experiment";

const FIX = path.join(__dirname, "fixtures", "ray");
const dirOf = (m: string) => path.join(FIX, m, "bloom_fsdp_tune");

const made: string[] = [];
process.on("exit", () => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-ray-"));
  made.push(d);
  return d;
}
/** A writable copy of a fixture experiment directory. */
function copyOf(m: string): string {
  const d = path.join(tmp(), "bloom_fsdp_tune");
  fs.cpSync(dirOf(m), d, { recursive: true });
  return d;
}
function stateFileOf(d: string): string {
  return path.join(d, fs.readdirSync(d).find((n) => n.startsWith("experiment_state"))!);
}
function trialDirOf(d: string, id: string): string {
  return path.join(d, fs.readdirSync(d).find((n) => n.includes(`_${id}_`))!);
}

test("fixture dirs (Ray formats + workshop records): ASHA, PBT and BOHB as Ray reported them reproduce the published rows (workshop.md §5) in the group summary", () => {
  const rows = ["asha", "pbt", "bohb"].map((m) => importRay(dirOf(m), { scope: "last" }));
  assert.equal(compare([referenceManualRow(), ...rows]).markdown(), [
    "| Run Type | Eval Loss | Runtime to find best HP (min) | # GPUs | GPU Minutes | Cost Ratio | Best config |",
    "|---|---:|---:|---:|---:|---:|---|",
    "| Manual grid (workshop, V100) | 9.3347 | 177.0 | 2 | 354.0 | 1.00 | lr=5e-6, bs=1, wd=0 |",
    "| Ray Best (ASHA) | 9.4901 | 16.6 | 8 | 109.7 | 0.31 | lr=1.2039e-5, bs=1, wd=0 |",
    "| Ray Best (PBT) | 9.5751 | 48.0 | 8 | 426.8 | 1.21 | t0: lr=9.7152e-6, bs=1, wd=0 → t2: lr=7.8053e-6, bs=1, wd=0 |",
    "| Ray Best (BOHB) | 9.3748 | 8.1 | 8 | 181.0 | 0.51 | lr=1.1269e-5, bs=1, wd=0 |",
    "",
  ].join("\n"));
  // the published values themselves: best lr, bs, wd, eval_loss, time_total_s, training_iteration at the best
  const published = {
    asha: { lr: 1.2038662726466814e-05, loss: 9.490140914916992, time: 336.2171709537506, t: 2, id: "9e128c22" },
    pbt: { lr: 7.805253063551074e-06, loss: 9.575139045715332, time: 1139.949450492859, t: 5, id: "a2b9e_00002" },
    bohb: { lr: 1.1268857461796244e-05, loss: 9.374804496765137, time: 439.33418583869934, t: 1, id: "1e353f29" },
  };
  for (const [m, p] of Object.entries(published)) {
    const r = readRay(dirOf(m), { scope: "last" });
    assert.deepEqual(r.best, { trialId: p.id, t: p.t, value: p.loss, timeTotalS: p.time, config: { lr: p.lr, bs: 1, wd: 0 } }, m);
    assert.equal(r.row.note, `Ray get_best_result(scope="last"): trial ${p.id} at training_iteration ${p.t} of 5, time_total_s ${p.time.toFixed(1)}`);
  }
});

test("fixture dirs (Ray formats + workshop records): tunelab's row is the best at the full budget, with the best at any budget and its training_iteration", () => {
  const rows = ["asha", "pbt", "bohb"].map((m) => importRay(dirOf(m)));
  assert.equal(compare([referenceManualRow(), ...rows]).markdown().split("\n").slice(3, 6).join("\n"), [
    "| ASHA (Ray Tune) | 9.7501 | 9.5 | 8 | 109.7 | 0.31 | lr=1.0143e-5, bs=2, wd=0 |",
    "| PBT (Ray Tune) | 9.5751 | 48.0 | 8 | 426.8 | 1.21 | t0: lr=9.7152e-6, bs=1, wd=0 → t2: lr=7.8053e-6, bs=1, wd=0 |",
    "| BOHB (Ray Tune) | 9.5697 | 20.4 | 8 | 181.0 | 0.51 | lr=7.1264e-6, bs=1, wd=0 |",
  ].join("\n"));
  const [asha, pbt, bohb] = rows;
  assert.deepEqual([asha.method, asha.bestValue, asha.bestConfig, asha.bestAnyValue, asha.bestAnyT, asha.maxT], ["asha", 9.75011, { lr: 1.01433e-05, bs: 2, wd: 0 }, 9.3321, 3, 5]);
  assert.deepEqual([bohb.method, bohb.bestValue, bohb.bestAnyValue, bohb.bestAnyT], ["bohb", 9.56968, 9.3412, 3]);
  assert.deepEqual(pbt.schedule, [
    { t: 0, config: { lr: 9.7152e-06, bs: 1, wd: 0 } },
    { t: 2, config: { lr: 7.805253063551074e-06, bs: 1, wd: 0 } },
  ]);
  // GPU-minutes = Σ time_this_iter_s × 2 GPUs per trial (TorchTrainer: 2 workers × 1 GPU, read from the pickled resources)
  const publishedAshaSeconds = [198.073, 180.903, 454.752, 642.327, 338.861, 366.073, 192.285, 180.044, 108.882, 336.2171709537506, 184.294, 107.262];
  assert.equal(asha.gpuMinutes, Math.round(publishedAshaSeconds.reduce((a, b) => a + b, 0) * 2 * 1e6) / 1e6 / 60);
  const e = readRay(dirOf("asha"));
  assert.deepEqual([e.gpusPerTrial, e.peakConcurrent, asha.gpus, e.metric, e.mode, e.maxT], [2, 4, 8, "eval_loss", "min", 5]);
  assert.deepEqual(e.trials.map((t) => t.state).sort(), [...Array(2).fill("completed"), ...Array(10).fill("stopped")]);
  assert.deepEqual(e.warnings, []);
});

test("fixture dir (Ray formats): a trial still RUNNING and one in ERROR are reported as such, in the warnings and the row's note", () => {
  const d = copyOf("asha");
  const sf = stateFileOf(d);
  const state = JSON.parse(fs.readFileSync(sf, "utf8"));
  const ids: string[] = [];
  state.trial_data = state.trial_data.map(([t, m]: [string, string], i: number) => {
    const tr = JSON.parse(t);
    const meta = JSON.parse(m.replace(/-Infinity/g, "null"));
    if (i === 2) tr.status = "RUNNING";
    if (i === 3) { tr.status = "ERROR"; meta.error_filename = "error.txt"; }
    if (i === 2 || i === 3) ids.push(tr.trial_id);
    return [JSON.stringify(tr), JSON.stringify(meta)];
  });
  fs.writeFileSync(sf, JSON.stringify(state));
  fs.writeFileSync(path.join(trialDirOf(d, ids[1]), "error.txt"), "Failure # 1 (occurred at 2025-08-14_12-40-00)\nray.exceptions.RayTaskError(OutOfMemoryError): CUDA out of memory\n");
  const r = readRay(d);
  assert.deepEqual(r.warnings, [
    `trial ${ids[0]} is still RUNNING (last result at training_iteration 5): the experiment has not finished`,
    `trial ${ids[1]} ERROR: Failure # 1 (occurred at 2025-08-14_12-40-00) ray.exceptions.RayTaskError(OutOfMemoryError): CUDA out of memory`,
  ]);
  assert.deepEqual([r.trials[2].state, r.trials[3].state, r.summary.states.running, r.summary.states.failed], ["running", "failed", 1, 1]);
  assert.equal(r.row.note, `1 trial(s) still running (${ids[0]} RUNNING): not finished; 1 trial(s) errored (${ids[1]})`);
});

test("fixture dirs (Ray formats): wrong or partial directories get an error naming the file", () => {
  const empty = tmp();
  assert.throws(() => importRay(empty), { message: `${path.join(empty, "experiment_state-*.json")}: not found; a Ray Tune experiment directory holds one (Ray 2.x writes it next to the trial directories)` });
  assert.throws(() => importRay(path.join(empty, "nope")), (e: Error) => e.message.startsWith(`${path.join(empty, "nope")}: not a readable directory (ENOENT)`));

  const noDir = copyOf("bohb");
  const victim = fs.readdirSync(noDir).find((n) => n.startsWith("TorchTrainer_"))!;
  fs.rmSync(path.join(noDir, victim), { recursive: true });
  assert.throws(() => importRay(noDir), (e: Error) => e.message.includes(path.join(noDir, victim)) && e.message.includes("trial directory of") && e.message.includes("not found"));

  const noResults = copyOf("bohb");
  const tdir = path.join(noResults, fs.readdirSync(noResults).find((n) => n.startsWith("TorchTrainer_"))!);
  fs.rmSync(path.join(tdir, "result.json"));
  fs.rmSync(path.join(tdir, "progress.csv"));
  assert.throws(() => importRay(noResults), (e: Error) => e.message.startsWith(`${path.join(tdir, "result.json")}: no such file (nor progress.csv)`));

  const torn = copyOf("bohb");
  const tdir2 = path.join(torn, fs.readdirSync(torn).find((n) => n.startsWith("TorchTrainer_") && fs.readFileSync(path.join(torn, n, "result.json"), "utf8").split("\n").length > 3)!);
  const lines = fs.readFileSync(path.join(tdir2, "result.json"), "utf8").split("\n");
  lines[0] = lines[0].slice(0, 40);
  fs.writeFileSync(path.join(tdir2, "result.json"), lines.join("\n"));
  assert.throws(() => importRay(torn), (e: Error) => e.message.startsWith(`${path.join(tdir2, "result.json")}:1: not valid JSON`));

  // a torn last line (a trial writing right now) is skipped, not an error
  const writing = copyOf("bohb");
  const first = readRay(writing).trials[0];
  const tdir3 = first.dir;
  const before = first.results.length;
  assert.ok(before >= 1);
  fs.appendFileSync(path.join(tdir3, "result.json"), '{"eval_loss": 9.1, "training_it');
  assert.equal(readRay(writing).trials[0].results.length, before);
  assert.throws(() => importRay(dirOf("asha"), { gpusPerTrial: -1 }), { message: "options.gpusPerTrial: got -1; expected a number >= 0" });

  const badState = copyOf("pbt");
  fs.writeFileSync(stateFileOf(badState), JSON.stringify({ runner_data: {} }));
  assert.throws(() => importRay(badState), { message: `${stateFileOf(badState)}: no "trial_data" (Ray ≥ 2.7) or "checkpoints" (older Ray) list of trials` });

  assert.throws(() => importRay(dirOf("asha"), { metric: "eval_f1" }), (e: Error) => /result\.json: no result has a finite "eval_f1"/.test(e.message));
  assert.throws(() => importRay(dirOf("asha"), { scope: "best" as any }), { message: 'options.scope: got "best"; expected one of full-budget, last, all' });
});

test("fixture dir (Ray formats): without result.json the trials are read from progress.csv, same row", () => {
  const d = copyOf("asha");
  for (const n of fs.readdirSync(d)) if (n.startsWith("TorchTrainer_")) fs.rmSync(path.join(d, n, "result.json"));
  assert.deepEqual({ ...importRay(d), source: "" }, { ...importRay(dirOf("asha")), source: "" });
});

test("fixture dir (Ray formats): without tuner.pkl the method comes from the options, else the row says it is a Ray run of unknown scheduler", () => {
  const d = copyOf("asha");
  fs.rmSync(path.join(d, "tuner.pkl"));
  const plain = readRay(d);
  assert.equal(plain.method, "ray");
  assert.equal(plain.warnings[0], `${d}: the scheduler is not recorded (no tuner.pkl); pass options.method (asha, hyperband, bohb, pbt, random) to name the row`);
  const named = importRay(d, { method: "asha", member: "alice" });
  assert.deepEqual([named.method, named.label, named.member, named.bestValue], ["asha", "ASHA (Ray Tune, alice)", "alice", 9.75011]);
});

test("fixture dir (Ray formats): the recorded-curves table of the PBT run drives a tunelab ASHA experiment on the replay backend", async () => {
  const exp0 = readRay(dirOf("pbt"));
  const csv = rayCurvesCsv(exp0);
  const lines = csv.trim().split("\n");
  assert.equal(lines[0], "lr,bs,wd,t,eval_loss,time_s");
  // the 10 trials never exploited, each from t = 1 to 5 (the two exploited ones continue someone else's weights)
  assert.equal(lines.length, 1 + 10 * 5);
  assert.equal(lines[1], `0.0000147127,1,0.01,1,10.71,${exp0.trials[0].results[0].time_this_iter_s}`);
  const dir = tmp();
  fs.writeFileSync(path.join(dir, "curves.csv"), csv);
  const exp = experiment({
    name: "from-ray", seed: 4, space: { lr: { loguniform: [5e-6, 2e-4] }, bs: { choice: [1, 2] }, wd: { choice: [0, 0.01] } },
    method: { kind: "asha", reductionFactor: 2 }, samples: 8, maxConcurrent: 4, trainer: { epochs: 5, gpusPerTrial: 2 },
    backend: { kind: "replay", curves: path.join(dir, "curves.csv") }, runDir: path.join(dir, "run"),
  } as any);
  const s = await exp.run();
  assert.equal(s.state, "finished");
  assert.deepEqual(s.trials.filter((t) => t.state === "failed"), []);
  // every report is a recorded value of the Ray trials at that t
  const recorded = new Set(lines.slice(1).map((l) => { const c = l.split(","); return `${c[3]}:${c[4]}`; }));
  for (const e of exp.history()) if (e.type === "report") assert.ok(recorded.has(`${e.report.t}:${e.report.eval_loss}`), `t ${e.report.t} loss ${e.report.eval_loss} is not a recorded value`);
  assert.ok(s.best && s.best.t === 5);
});

test("fixture dir (Ray formats): a PENDING trial that never started (no directory yet) is counted as pending, not an error", () => {
  const d = copyOf("bohb");
  const sf = stateFileOf(d);
  const state = JSON.parse(fs.readFileSync(sf, "utf8"));
  const [t0, m0] = state.trial_data[0];
  const tr = JSON.parse(t0);
  state.trial_data.push([JSON.stringify({ ...tr, trial_id: "5c0ffee5", status: "PENDING", relative_logdir: null }), m0.replace(/-Infinity/g, "null")]);
  fs.writeFileSync(sf, JSON.stringify(state));
  const r = readRay(d);
  assert.deepEqual([r.trials.length, r.trials[12].state, r.trials[12].results.length, r.summary.states.pending], [13, "pending", 0, 1]);
  assert.equal(r.warnings[0], "trial 5c0ffee5 is still PENDING (no result yet): the experiment has not finished");
  assert.equal(r.row.bestValue, importRay(dirOf("bohb")).bestValue);
});

test("fixture dirs are reproducible: make_fixtures.py writes them byte for byte, and data/ray-example is the ASHA one", () => {
  const out = tmp();
  execFileSync("python3", [path.join(FIX, "make_fixtures.py"), out]);
  const files = (root: string): string[] => fs.readdirSync(root, { recursive: true }).map(String).filter((f) => fs.statSync(path.join(root, f)).isFile()).sort();
  for (const m of ["asha", "pbt", "bohb"]) {
    const want = files(path.join(FIX, m));
    assert.deepEqual(files(path.join(out, m)), want, m);
    for (const f of want) assert.ok(fs.readFileSync(path.join(out, m, f)).equals(fs.readFileSync(path.join(FIX, m, f))), `${m}/${f} differs from what make_fixtures.py writes`);
  }
  const example = path.join(__dirname, "..", "..", "data", "ray-example", "bloom_fsdp_tune");
  const ex = files(example);
  assert.deepEqual(ex, files(dirOf("asha")));
  for (const f of ex) assert.ok(fs.readFileSync(path.join(example, f)).equals(fs.readFileSync(path.join(dirOf("asha"), f))), `data/ray-example/${f}`);
  assert.deepEqual({ ...importRay(example), source: "" }, { ...importRay(dirOf("asha")), source: "" });
});
