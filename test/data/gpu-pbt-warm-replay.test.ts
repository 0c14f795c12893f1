/**
 * The warm fine-tuning GPU PBT runs (pbt-workshop, interval 2, in
 * finetune-warm-2026-12-03; pbt-default, interval 1, in finetune-warm2-2026-12-04)
 * wrote bounded journals: one snapshot, then delta lines carrying the
 * scheduler calls of each batch. A fresh PBT scheduler built from the run's
 * experiment.json, restored from the snapshot and fed those calls in order
 * (each onResult with the recorded report it refers to) returns exactly the
 * pauses, stops and exploits (donor, donor t, explored config) the driver
 * journaled, and its RNG ends each batch where the run's did.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseExperiment } from "../../src/config/schema";
import { createScheduler } from "../../src/schedulers";
import { Rng } from "../../src/space/rng";

const GPU = path.resolve(__dirname, "../../data/results/gpu");

function replay(dir: string) {
  const cfg = parseExperiment(JSON.parse(fs.readFileSync(path.join(dir, "experiment.json"), "utf8")));
  const lines = fs.readFileSync(path.join(dir, "journal.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const events = lines.filter((l) => l.type !== "snapshot" && l.type !== "delta");
  const snaps = lines.filter((l) => l.type === "snapshot");
  const deltas = lines.filter((l) => l.type === "delta");
  const rng = new Rng(cfg.seed).fork(1);
  const sched = createScheduler(cfg, rng);
  const snap = snaps[0];
  sched.setState(JSON.parse(JSON.stringify(snap.scheduler)));
  rng.setState(snap.rng.scheduler);
  const show = (a: any) => (a.action === "exploit" ? `${a.trialId} exploit ${a.donor}@${a.donorT} ${JSON.stringify(a.config)}` : `${a.trialId} ${a.action}`);
  const replayed: string[] = [];
  let onResults = 0;
  let rngChecked = 0;
  for (const d of deltas) {
    for (const [target, method, args] of d.calls) {
      if (target !== "scheduler") continue;
      const real = args.map((a: any) => {
        if (!a || typeof a !== "object" || typeof a.$report !== "number") return a;
        const e = events[a.$report];
        assert.ok(e && e.type === "report" && e.trialId === a.trial && e.report.t === a.t, `delta refers to the report of ${a.trial}@${a.t}`);
        return e.report;
      });
      const out = (sched as any)[method](...real);
      if (method === "onResult") {
        onResults++;
        for (const a of out) if (a.action === "pause" || a.action === "stop" || a.action === "exploit") replayed.push(show(a));
      }
    }
    if (d.rng) {
      assert.equal(rng.getState(), d.rng.scheduler, `scheduler RNG after the batch of line ${d.events}`);
      rngChecked++;
    }
  }
  const recorded = events.filter((e) => (e.type === "decision" && (e.action === "pause" || e.action === "stop")) || e.type === "exploit").map((e) => show(e.type === "exploit" ? { ...e, action: "exploit" } : e));
  const reports = events.filter((e) => e.type === "report" && !e.report.preempted).length;
  return { cfg, snaps: snaps.length, deltas: deltas.length, replayed, recorded, onResults, reports, rngChecked };
}

for (const [run, interval] of [["finetune-warm-2026-12-03/pbt-workshop", 2], ["finetune-warm2-2026-12-04/pbt-default", 1]] as const) {
  test(`the warm GPU run ${run} (perturbation interval ${interval}): its journal's delta calls reproduce every PBT decision`, () => {
    const r = replay(path.join(GPU, run));
    assert.equal(r.cfg.method.kind, "pbt");
    assert.equal(r.snaps, 1, "one full snapshot; the rest are deltas");
    assert.ok(r.deltas > 100, `${r.deltas} delta lines`);
    assert.equal(r.onResults, r.reports, "every recorded report went through onResult once");
    const exploits = r.recorded.filter((s) => s.includes("exploit"));
    assert.ok(exploits.length >= 3, `the run exploited (${exploits.length})`);
    assert.ok(r.rngChecked >= exploits.length, `RNG compared after ${r.rngChecked} batches`);
    assert.deepEqual(r.replayed, r.recorded);
    for (const s of exploits) assert.equal(Number(/@(\d+)/.exec(s)![1]) % interval, 0, `the donor's checkpoint is at a perturbation point: ${s}`);
  });
}
