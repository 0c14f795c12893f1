/**
 * Feeds a recorded run's report lines, in journal order, to a fresh ASHA
 * scheduler built from the run's own experiment.json (same seed) and returns
 * the stops the run made beside the ones the scheduler makes now
 * ("<trial>@<t>" each), for the GPU replay tests.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseExperiment } from "../../src/config/schema";
import { createScheduler } from "../../src/schedulers";
import { Rng } from "../../src/space/rng";
import type { ExperimentConfig } from "../../src/config/types";

export function replayAshaStops(dir: string): { cfg: ExperimentConfig; recorded: string[]; replayed: string[] } {
  const cfg = parseExperiment(JSON.parse(fs.readFileSync(path.join(dir, "experiment.json"), "utf8")));
  const sched = createScheduler(cfg, new Rng(cfg.seed).fork(1));
  const events = fs.readFileSync(path.join(dir, "journal.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const recorded: string[] = [];
  const replayed: string[] = [];
  for (const e of events) {
    if (e.type === "trial_added") sched.onTrialAdd({ trialId: e.trialId, config: e.config });
    if (e.type === "decision" && e.action === "stop") recorded.push(`${e.trialId}@${e.t}`);
    if (e.type === "report" && !e.report.preempted) {
      for (const a of sched.onResult(e.trialId, e.report)) if (a.action === "stop") replayed.push(`${a.trialId}@${e.report.t}`);
    }
  }
  return { cfg, recorded, replayed };
}
