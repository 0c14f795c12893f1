/**
 * Issue 8: the recorded GPU run's ASHA decisions are reproduced when its
 * recorded report lines are fed, in the same order, to a fresh ASHA
 * scheduler built from the run's own experiment.json (same seed).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseExperiment } from "../../src/config/schema";
import { createScheduler } from "../../src/schedulers";
import { Rng } from "../../src/space/rng";

const dir = path.resolve(__dirname, "../../data/results/gpu/asha-workshop");

test("replaying the GPU run's recorded reports reproduces its ASHA stops (same trials, same rungs)", () => {
  const cfg = parseExperiment(JSON.parse(fs.readFileSync(path.join(dir, "experiment.json"), "utf8")));
  const sched = createScheduler(cfg, new Rng(cfg.seed).fork(1));
  const events = fs.readFileSync(path.join(dir, "journal.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const recorded: string[] = [];
  const replayed: string[] = [];
  for (const e of events) {
    if (e.type === "trial_added") sched.onTrialAdd({ trialId: e.trialId, config: e.config });
    if (e.type === "decision" && e.action === "stop") recorded.push(`${e.trialId}@${e.t}`);
    if (e.type === "report" && !e.report.preempted) {
      for (const a of sched.onResult(e.trialId, e.report)) {
        if (a.action === "stop") replayed.push(`${a.trialId}@${e.report.t}`);
      }
    }
  }
  assert.ok(recorded.length >= 8, `the recorded run has stop decisions (${recorded.length})`);
  assert.deepEqual(replayed, recorded);
  // and the cut ones were cut at rungs 1, 2 or 4 (the workshop's g=1, η=2, R=5)
  for (const s of recorded) assert.ok(["1", "2", "4", "5"].includes(s.split("@")[1]), s);
});
