/**
 * Issue 8: the recorded GPU PBT runs (workshop interval 2, tunelab default
 * interval 1) are consistent with the scheduler: a fresh PBT scheduler
 * restored from each of the journal's snapshots and fed the report lines that
 * follow it returns the decisions the driver journaled after each line: the
 * same pauses, and the same exploits (donor, donor t, explored config).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseExperiment } from "../../src/config/schema";
import { createScheduler } from "../../src/schedulers";
import { Rng } from "../../src/space/rng";

const TERMINAL = new Set(["completed", "stopped", "failed", "paused"]);

function replay(run: string): { method: string; recorded: string[]; replayed: string[]; exploits: number; checked: number; reports: number } {
  const dir = path.resolve(__dirname, "../../data/results/gpu", run);
  const cfg = parseExperiment(JSON.parse(fs.readFileSync(path.join(dir, "experiment.json"), "utf8")));
  const events = fs.readFileSync(path.join(dir, "journal.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const recorded: string[] = [];
  const replayed: string[] = [];
  let exploits = 0;
  let checked = 0;
  let reports = 0;
  // restored at each snapshot, then fed the reports that follow it (several may arrive in one poll)
  let sched: ReturnType<typeof createScheduler> | null = null;
  // whether the driver told the scheduler something (a trial's end) that this replay does not feed it
  let stale = true;
  // one line per decision, for a scheduler action and for the journaled decision / exploit event alike
  const show = (a: any, t: number) =>
    a.action === "exploit" ? `${a.trialId}@${t} exploit ${a.donor}@${a.donorT} ${JSON.stringify(a.config)}` : `${a.trialId}@${t} ${a.action}`;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const isReport = e.type === "report" && !e.report.preempted;
    if (isReport) reports++;
    if (e.type === "snapshot") {
      sched = createScheduler(cfg, new Rng(cfg.seed).fork(1));
      sched.setState(JSON.parse(JSON.stringify(e.scheduler)));
      stale = false;
    } else if (e.type === "trial_state" && TERMINAL.has(e.state)) stale = true;
    else if (isReport && !stale && sched) {
      // the decisions the driver journaled right after this report
      const after: string[] = [];
      for (let j = i + 1; j < events.length && events[j].type !== "snapshot" && events[j].type !== "report"; j++) {
        const d = events[j];
        if (d.type === "decision" && (d.action === "pause" || d.action === "stop")) after.push(show(d, e.report.t));
        if (d.type === "exploit") after.push(show({ ...d, action: "exploit" }, e.report.t));
      }
      const actions = sched.onResult(e.trialId, e.report).filter((a) => a.action === "pause" || a.action === "stop" || a.action === "exploit");
      recorded.push(...after);
      replayed.push(...actions.map((a) => show(a, e.report.t)));
      exploits += after.filter((s) => s.includes("exploit")).length;
      checked++;
    }
  }
  return { method: cfg.method.kind, recorded, replayed, exploits, checked, reports };
}

for (const [run, interval] of [["pbt-workshop", 2], ["pbt-default", 1]] as const) {
  test(`the recorded GPU ${run} run (perturbation interval ${interval}): decisions reproduce from the journal's snapshots`, () => {
    const { method, recorded, replayed, exploits, checked, reports } = replay(run);
    assert.equal(method, "pbt");
    assert.ok(exploits >= 3, `the run exploited (${exploits})`);
    // only lines right after a trial ended are skipped (the replay does not feed ends)
    assert.ok(checked >= 0.75 * reports, `replayed ${checked} of ${reports} report lines`);
    assert.deepEqual(replayed, recorded);
    // exploits happen only at perturbation points, from a donor's checkpoint at a perturbation point
    for (const s of recorded.filter((x) => x.includes("exploit"))) {
      const m = /^t\d+@(\d+) exploit t\d+@(\d+)/.exec(s)!;
      assert.equal(Number(m[1]) % interval, 0, s);
      assert.equal(Number(m[2]) % interval, 0, s);
    }
  });
}
