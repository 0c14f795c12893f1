/**
 * Attach after a kernel restart: a driver crashes (or is aborted) mid-run,
 * the trials keep running on the simulated cluster (in-test stand-in
 * backend), a new Experiment attaches to the run dir with a new backend
 * object on the same cluster, adopts the running trials, and finishes. The
 * journal must then be line-for-line the one of an uninterrupted run with
 * the same seed: same events, same decisions, same snapshots.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Experiment, experiment } from "../../src/experiment";
import { SimulatedCrash } from "../../src/experiment/driver";
import type { ExperimentConfig } from "../../src/config/types";
import { config, gridCsv, LETTERS_CSV, ListSearcher, sim, StandInPbt, tmpDir } from "./helpers";
import { SimBackend } from "./sim-backend";

function journalLines(cfg: ExperimentConfig): string[] {
  return fs.readFileSync(path.join(cfg.runDir, "journal.jsonl"), "utf8").trim().split("\n");
}

function ashaConfig(dir: string): ExperimentConfig {
  return config({ name: "att", seed: 11, space: { lr: { loguniform: [0.0005, 0.2] }, bs: { choice: [1, 2] } }, method: { kind: "asha", reductionFactor: 2 }, samples: 12, maxConcurrent: 4, trainer: { epochs: 6 } }, dir);
}

test("attach after a crash at any point of an ASHA run: the journal equals an uninterrupted run's, nothing resubmitted", async () => {
  const refDir = tmpDir();
  const ref = ashaConfig(refDir);
  const r = sim(gridCsv());
  const refSummary = await new Experiment(ref, { backend: r.backend }).run();
  const want = journalLines(ref);
  const nEvents = want.filter((l) => !["snapshot", "delta"].includes(JSON.parse(l).type)).length;
  assert.ok(nEvents > 100);
  const points = [1, 3, 17, 40, Math.floor(nEvents / 2), nEvents - 30, nEvents - 2];
  let adopted = 0;
  for (const n of points) {
    const dir = tmpDir();
    const cfg = ashaConfig(dir);
    const s = sim(gridCsv());
    await assert.rejects(new Experiment(cfg, { backend: s.backend, crashAfterEvents: n }).run(), SimulatedCrash);
    const submitted = s.cluster.submissions.length;
    const attached = experiment.attach(cfg.runDir, { backend: new SimBackend(s.cluster) });
    const summary = await attached.run();
    assert.deepEqual(journalLines(cfg), want, `crash after ${n} events`);
    assert.deepEqual({ ...summary }, { ...refSummary }, `summary after crash at ${n}`);
    // trials running at the crash were adopted, not submitted again
    const live = (s.cluster.adoptions[0] ?? []).map((a) => a.trialId);
    adopted += live.length;
    const resubmitted = s.cluster.submissions.slice(submitted).filter((l) => live.includes(l.trialId));
    assert.deepEqual(resubmitted, [], `crash at ${n}: adopted trials were not resubmitted`);
    assert.equal(s.cluster.submissions.length, r.cluster.submissions.length, `crash at ${n}: same number of submissions in all`);
  }
  assert.ok(adopted >= 10, `running trials were adopted (${adopted})`);
});

test("attach after a clean abort (kernel restart between batches) continues identically", async () => {
  const refDir = tmpDir();
  const ref = ashaConfig(refDir);
  await new Experiment(ref, { backend: sim(gridCsv()).backend }).run();
  const dir = tmpDir();
  const cfg = ashaConfig(dir);
  const s = sim(gridCsv());
  const ac = new AbortController();
  const first = new Experiment(cfg, { backend: s.backend, signal: ac.signal });
  let reports = 0;
  first.subscribe((e) => { if (e.type === "report" && ++reports === 25) ac.abort(); });
  const partial = await first.run();
  assert.ok(partial.trials.some((t) => t.state === "running" || t.state === "queued" || t.state === "pending"));
  assert.equal(fs.existsSync(path.join(cfg.runDir, "summary.json")), false, "an aborted run writes no summary");
  const attached = Experiment.attach(cfg.runDir, { backend: new SimBackend(s.cluster) });
  assert.equal(attached.history().length, first.history().length, "history restored from the journal");
  await attached.run();
  assert.deepEqual(journalLines(cfg), journalLines(ref));
  assert.ok(s.cluster.adoptions[0].length > 0);
  assert.ok(s.cluster.adoptions[0].every((a) => a.reportsSeen >= 0));
});

test("attach in the middle of PBT exploits (stand-in scheduler): restarts and policy files continue identically", async () => {
  const mk = (dir: string) => config({ name: "pbta", space: { lr: { choice: [0.1, 0.01, 0.001] }, bs: { choice: [1, 2] } }, method: { kind: "pbt", perturbationInterval: 2 }, samples: 3, maxConcurrent: 3, trainer: { epochs: 6 } }, dir);
  const configs = [{ lr: 0.01, bs: 1 }, { lr: 0.1, bs: 2 }, { lr: 0.001, bs: 1 }];
  const ref = mk(tmpDir());
  await new Experiment(ref, { backend: sim(gridCsv()).backend, searcher: new ListSearcher(configs), scheduler: new StandInPbt([2, 4]) }).run();
  const want = journalLines(ref);
  const wantGlobal = fs.readFileSync(path.join(ref.runDir, "pbt_global.txt"), "utf8");
  const n = want.filter((l) => !["snapshot", "delta"].includes(JSON.parse(l).type)).length;
  for (const k of [15, 18, 21, 30, 37, n - 10]) {
    const cfg = mk(tmpDir());
    const s = sim(gridCsv());
    await assert.rejects(new Experiment(cfg, { backend: s.backend, searcher: new ListSearcher(configs), scheduler: new StandInPbt([2, 4]), crashAfterEvents: k }).run(), SimulatedCrash);
    await Experiment.attach(cfg.runDir, { backend: new SimBackend(s.cluster), searcher: new ListSearcher(configs), scheduler: new StandInPbt([2, 4]) }).run();
    assert.deepEqual(journalLines(cfg), want, `PBT crash after ${k} events`);
    assert.equal(fs.readFileSync(path.join(cfg.runDir, "pbt_global.txt"), "utf8"), wantGlobal, `PBT crash after ${k}: pbt_global.txt`);
  }
});

test("attach on the sequential ASHA letters: restored trial table and best match", async () => {
  const mk = (dir: string) => config({ name: "let", space: { cfg: { choice: ["A", "B", "C", "D", "E", "F"] } }, method: { kind: "asha", reductionFactor: 2 }, samples: 6, maxConcurrent: 1, trainer: { epochs: 5 } }, dir);
  const letters = ["A", "B", "C", "D", "E", "F"].map((cfg) => ({ cfg }));
  const cfg = mk(tmpDir());
  const s = sim(LETTERS_CSV);
  await assert.rejects(new Experiment(cfg, { backend: s.backend, searcher: new ListSearcher(letters), crashAfterEvents: 30 }).run(), SimulatedCrash);
  const att = Experiment.attach(cfg.runDir, { backend: new SimBackend(s.cluster), searcher: new ListSearcher(letters) });
  const sum = await att.run();
  assert.deepEqual(sum.trials.map((t) => `${t.config.cfg}:${t.state}@${t.last_t}`), ["A:completed@5", "B:stopped@1", "C:completed@5", "D:stopped@1", "E:stopped@2", "F:completed@5"]);
  assert.equal(sum.best!.value, 0.5);
});

test("attach refuses a dir without experiment.json; without a snapshot it starts afresh", async () => {
  const dir = tmpDir();
  assert.throws(() => Experiment.attach(path.join(dir, "nope")), /no experiment ".*nope"/);
  const cfg = ashaConfig(dir);
  fs.mkdirSync(cfg.runDir, { recursive: true });
  fs.writeFileSync(path.join(cfg.runDir, "experiment.json"), JSON.stringify(cfg));
  fs.writeFileSync(path.join(cfg.runDir, "journal.jsonl"), '{"type":"experiment_started","at":1,"name":"att","method":"asha","maxT":6}\n');
  const s = sim(gridCsv());
  const sum = await Experiment.attach(cfg.runDir, { backend: s.backend }).run();
  assert.equal(sum.trials.length, 12);
  assert.equal(s.cluster.adoptions.length, 0);
});

for (const method of [
  { kind: "hyperband", reductionFactor: 3 },
  { kind: "bohb", reductionFactor: 3 },
  { kind: "pbt", perturbationInterval: 1 },
] as const) {
  test(`attach determinism with the real ${method.kind} scheduler (pauses, resumes, exploits across the crash)`, async () => {
    const mk = (dir: string) => config({ name: `att-${method.kind}`, seed: 4, space: { lr: { loguniform: [0.001, 0.1] }, bs: { choice: [1, 2] } }, method: { ...method } as any, samples: method.kind === "pbt" ? 4 : 10, maxConcurrent: 3, trainer: { epochs: 6 } }, dir);
    const ref = mk(tmpDir());
    await new Experiment(ref, { backend: sim(gridCsv()).backend }).run();
    const want = journalLines(ref);
    const kinds = want.map((l) => JSON.parse(l)).filter((e) => e.type === "decision").map((e) => e.action);
    if (method.kind === "pbt") assert.ok(kinds.includes("exploit"), "the reference run exploits");
    else assert.ok(kinds.includes("pause"), "the reference run pauses trials");
    const n = want.filter((l) => !["snapshot", "delta"].includes(JSON.parse(l).type)).length;
    for (const k of [Math.floor(n / 4), Math.floor(n / 2), Math.floor((3 * n) / 4)]) {
      const cfg = mk(tmpDir());
      const s = sim(gridCsv());
      await assert.rejects(new Experiment(cfg, { backend: s.backend, crashAfterEvents: k }).run(), SimulatedCrash);
      await Experiment.attach(cfg.runDir, { backend: new SimBackend(s.cluster) }).run();
      assert.deepEqual(journalLines(cfg), want, `${method.kind}: crash after ${k} events`);
    }
  });
}

test("journal compaction: deltas between full snapshots; a crash anywhere, attach replays the deltas after the last snapshot and the journal equals an uninterrupted run's", async () => {
  const mk = (dir: string) => config({ name: "cmp", seed: 5, space: { lr: { loguniform: [0.0005, 0.2] }, bs: { choice: [1, 2] } }, method: { kind: "hyperband", reductionFactor: 2 }, samples: 16, maxConcurrent: 3, trainer: { epochs: 6 } }, dir);
  const ref = mk(tmpDir());
  const r = sim(gridCsv());
  const refSummary = await new Experiment(ref, { backend: r.backend, compactAfterBytes: 1 }).run();
  const want = journalLines(ref);
  const types = want.map((l) => JSON.parse(l).type);
  const snaps = types.filter((t) => t === "snapshot").length;
  const deltas = types.filter((t) => t === "delta").length;
  assert.ok(snaps >= 3 && deltas > 3 * snaps, `${snaps} snapshots, ${deltas} deltas`);
  // every commit after the first is a delta until the deltas outweigh 4× the last snapshot
  assert.equal(types.find((t) => t === "snapshot" || t === "delta"), "snapshot");
  const n = types.filter((t) => t !== "snapshot" && t !== "delta").length;
  for (const k of [5, Math.floor(n / 3), Math.floor(n / 2), Math.floor((4 * n) / 5), n - 3]) {
    const cfg = mk(tmpDir());
    const s = sim(gridCsv());
    await assert.rejects(new Experiment(cfg, { backend: s.backend, crashAfterEvents: k, compactAfterBytes: 1 }).run(), SimulatedCrash);
    const summary = await Experiment.attach(cfg.runDir, { backend: new SimBackend(s.cluster), compactAfterBytes: 1 }).run();
    assert.deepEqual(journalLines(cfg), want, `crash after ${k} events`);
    assert.deepEqual({ ...summary }, { ...refSummary });
  }
});
