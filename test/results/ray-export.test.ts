/**
 * exportRay: a real tunelab run (the replay backend over the shipped
 * data/curves/small-cpu.csv) written in Ray Tune's layout, read back by
 * importRay to the same comparison row, and read by Python's own json, csv
 * and pickle modules the way Ray's ExperimentAnalysis reads a directory.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { experiment, type Experiment } from "../../src/experiment";
import { exportRay, importRay, readRay } from "../../src/results";

const CURVES = path.join(__dirname, "..", "..", "data", "curves", "small-cpu.csv");
const made: string[] = [];
process.on("exit", () => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-rayx-"));
  made.push(d);
  return d;
}

const SPACE = { lr: { loguniform: [1e-4, 2.2e-2] }, batch_size: { choice: [16, 32] }, weight_decay: { choice: [0, 0.1] } };

async function run(name: string, method: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<{ exp: Experiment; dir: string }> {
  const dir = tmp();
  const exp = experiment({
    name, seed: 3, space: SPACE, method, samples: 8, maxConcurrent: 3, trainer: { epochs: 6, gpusPerTrial: 1 },
    backend: { kind: "replay", curves: CURVES }, runDir: path.join(dir, "run"), ...extra,
  } as any);
  await exp.run();
  return { exp, dir };
}

function withoutSource<T extends { source?: string }>(r: T): Omit<T, "source"> {
  const { source: _s, ...rest } = r;
  return rest;
}

test("round trip: an ASHA run on the replay backend, exported with Ray's layout and imported back, gives the same comparison row", async () => {
  const { exp, dir } = await run("rt-asha", { kind: "asha", reductionFactor: 2 });
  const want = exp.summaryRow();
  const res = exportRay(exp.runDir, path.join(dir, "ray"));
  assert.equal(res.trials, 8);
  assert.equal(res.results, exp.history().filter((e) => e.type === "report").length);
  const got = importRay(res.dir);
  assert.deepEqual(withoutSource(got), withoutSource(want));
  assert.ok(want.bestValue !== null && want.gpuMinutes > 0 && (want.bestAnyT ?? 0) >= 1);
  assert.equal(got.source, res.dir);
  // stopped at rungs and completed, as the run had them
  const states = Object.fromEntries(exp.summary().trials.map((t) => [t.trial_id, t.state]));
  assert.deepEqual(Object.fromEntries(readRay(res.dir).trials.map((t) => [t.trialId, t.state])), states);
});

test("round trip: a grid (the team's manual grid) keeps its whole wall time as the runtime", async () => {
  const dir = tmp();
  const exp = experiment({
    name: "rt-grid", seed: 1, space: { lr: { grid: [0.001, 0.01] }, batch_size: { grid: [16, 32] }, weight_decay: { grid: [0] } },
    method: { kind: "grid" }, samples: 4, maxConcurrent: 2, trainer: { epochs: 4, gpusPerTrial: 2 },
    backend: { kind: "replay", curves: CURVES }, runDir: path.join(dir, "run"),
  } as any);
  await exp.run();
  const got = importRay(exportRay(exp.runDir, path.join(dir, "ray")).dir);
  assert.equal(got.method, "manual");
  assert.deepEqual(withoutSource(got), withoutSource(exp.summaryRow()));
});

test("round trip: PBT with exploits keeps the best trial's schedule (policy files with Ray's experiment tags); runtime within Ray's 1 s timestamps", async () => {
  const { exp, dir } = await run("rt-pbt", { kind: "pbt", perturbationInterval: 1 }, { samples: 4, maxConcurrent: 4, seed: 5 });
  const exploits = exp.history().filter((e) => e.type === "exploit");
  assert.ok(exploits.length >= 1, "the run exploited");
  const want = exp.summaryRow();
  const out = exportRay(exp.runDir, path.join(dir, "ray")).dir;
  const global = fs.readFileSync(path.join(out, "pbt_global.txt"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(global.length, exploits.length);
  // rows name trials by their experiment tags ("<n>_lr=0.0012,..."), as Ray's pbt.py writes them
  for (const r of global) assert.match(r[0], /^\d+_lr=[\d.]+,batch_size=\d+,weight_decay=[\d.]+$/);
  const got = importRay(out);
  // a resumed/exploited trial's report times come back from Ray's whole-second timestamps
  assert.ok(Math.abs(got.runtimeMinutes - want.runtimeMinutes) <= 1 / 60, `${got.runtimeMinutes} vs ${want.runtimeMinutes}`);
  assert.deepEqual({ ...withoutSource(got), runtimeMinutes: 0 }, { ...withoutSource(want), runtimeMinutes: 0 });
  // seed 5: the best trial's weights come from an exploit at t = 3 (two phases)
  assert.equal(want.schedule?.length, 2);
  assert.deepEqual(got.schedule, want.schedule);
});

test("export: Python's json, csv and pickle read the directory as Ray's ExperimentAnalysis does (auto-filled keys, params.json, resources)", async () => {
  const { exp, dir } = await run("fmt-asha", { kind: "asha", reductionFactor: 2 });
  const out = exportRay(exp.runDir, path.join(dir, "ray")).dir;
  const py = `
import csv, glob, json, os, pickle, sys, types
for m in ["ray", "ray.tune", "ray.tune.execution", "ray.tune.execution.placement_groups"]:
    sys.modules[m] = types.ModuleType(m)
class PlacementGroupFactory:
    pass
sys.modules["ray.tune.execution.placement_groups"].PlacementGroupFactory = PlacementGroupFactory
d = sys.argv[1]
state = json.load(open(max(glob.glob(os.path.join(d, "experiment_state-*.json")))))
out = {"start": state["stats"]["start_time"], "trials": []}
for trial_json, meta_json in state["trial_data"]:
    t = json.loads(trial_json); m = json.loads(meta_json)
    pgf = pickle.loads(bytes.fromhex(t["placement_group_factory"]))
    td = os.path.join(d, t["relative_logdir"])
    results = [json.loads(l) for l in open(os.path.join(td, "result.json"))]
    rows = list(csv.DictReader(open(os.path.join(td, "progress.csv"), newline="")))
    out["trials"].append({"id": t["trial_id"], "status": t["status"], "bundles": pgf._bundles,
        "params": json.load(open(os.path.join(td, "params.json"))), "keys": list(results[0].keys()),
        "csv_keys": list(rows[0].keys()), "n": len(results), "csv_n": len(rows),
        "iters": [r["training_iteration"] for r in results], "done": [r["done"] for r in results],
        "csv_done": [r["done"] for r in rows], "last": m["last_result"]["training_iteration"]})
print(json.dumps(out))
`;
  const got = JSON.parse(execFileSync("python3", ["-c", py, out], { encoding: "utf8" }));
  const s = exp.summary();
  assert.equal(got.trials.length, s.trials.length);
  const auto = ["timestamp", "checkpoint_dir_name", "done", "training_iteration", "trial_id", "date", "time_this_iter_s", "time_total_s", "pid", "hostname", "node_ip", "config", "time_since_restore", "iterations_since_restore", "experiment_tag"];
  for (const t of got.trials) {
    const tr = s.trials.find((x) => x.trial_id === t.id)!;
    assert.deepEqual(t.keys, ["eval_loss", ...auto]);
    assert.deepEqual(t.csv_keys, ["eval_loss", ...auto.filter((k) => k !== "config")]);
    assert.deepEqual(t.bundles, [{ CPU: 1, GPU: 1 }]);
    assert.deepEqual(Object.keys(t.params), ["batch_size", "lr", "weight_decay"]);
    assert.equal(t.status, "TERMINATED");
    assert.deepEqual(t.iters, Array.from({ length: tr.last_t! }, (_, i) => i + 1));
    assert.equal(t.csv_n, t.n);
    assert.deepEqual(t.done, t.iters.map((_: number, i: number) => i === t.n - 1));
    assert.deepEqual(t.csv_done, t.done.map((x: boolean) => (x ? "True" : "False")));
    assert.equal(t.last, tr.last_t);
  }
});

test("export: a run directory that is not one, or an output that is not empty, is refused with the path", () => {
  const d = tmp();
  assert.throws(() => exportRay(d, path.join(d, "out")), { message: `${path.join(d, "experiment.json")}: not found; RUN_DIR must be a tunelab run directory (runs/<name>/)` });
  fs.writeFileSync(path.join(d, "experiment.json"), "{}");
  fs.writeFileSync(path.join(d, "journal.jsonl"), "");
  fs.mkdirSync(path.join(d, "out"));
  fs.writeFileSync(path.join(d, "out", "x"), "");
  assert.throws(() => exportRay(d, path.join(d, "out")), { message: `${path.join(d, "out")}: exists and is not empty; export into a new directory` });
});
