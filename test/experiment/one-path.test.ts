/**
 * One decision path (issue 13): the same seeded experiment on the shipped
 * recorded curves, once as a notebook runs it (`experiment({...}).run()`:
 * driver + replay backend, journal on) and once through the bench's path
 * (`simulate()` with a curve function answering from the same CSV), gives
 * identical decisions, trials, reports and GPU-seconds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { experiment } from "../../src/experiment";
import type { ExperimentEvent } from "../../src/experiment/events";
import { parseExperiment } from "../../src/config/schema";
import type { ExperimentInput } from "../../src/config/types";
import { createScheduler } from "../../src/schedulers";
import { createSearcher } from "../../src/searchers";
import { simulate } from "../../src/schedulers/simulate";
import type { Scheduler, SchedulerAction } from "../../src/schedulers/types";
import { loadCurves, NearestCurves } from "../../src/backends/curves";
import { ReplayBackend } from "../../src/backends/replay";
import { Rng } from "../../src/space/rng";
import { tmpDir } from "./helpers";

const CSV = path.join(__dirname, "..", "..", "data", "curves", "small-cpu.csv");
const SPACE = { lr: { loguniform: [1e-4, 2e-2] as [number, number] }, batch_size: { choice: [16, 32] }, weight_decay: { choice: [0, 0.1] } };

/** Records every action the scheduler returns, with the number of reports seen so far. */
function recording(s: Scheduler, out: Array<[number, SchedulerAction]>, reports: { n: number }): Scheduler {
  return new Proxy(s, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        if (prop === "onResult") reports.n++;
        const r = v.apply(target, args);
        if (prop === "onResult" || prop === "onTrialComplete" || prop === "onTrialError") for (const a of r as SchedulerAction[]) out.push([reports.n, a]);
        return r;
      };
    },
  });
}

const methods: Array<[string, ExperimentInput["method"], number, Partial<ExperimentInput>?]> = [
  ["asha", { kind: "asha", reductionFactor: 2, gracePeriod: 1 }, 24],
  ["tpe+asha", { kind: "asha", reductionFactor: 2, gracePeriod: 1 }, 24, { searcher: { kind: "tpe" } }],
  ["hyperband", { kind: "hyperband", reductionFactor: 2 }, 24],
  ["bohb", { kind: "bohb", reductionFactor: 2 }, 24],
  ["pbt", { kind: "pbt", perturbationInterval: 2 }, 8],
];

for (const [name, method, samples, extra] of methods) {
  test(`${name}: driver + replay backend and simulate() on the same curves decide identically`, async () => {
    const dir = tmpDir();
    const input = {
      name: `one-${name.replace("+", "-")}`, seed: 17, space: SPACE, method, samples, maxConcurrent: 4, trainer: { epochs: 8 },
      backend: { kind: "replay", curves: CSV }, runDir: path.join(dir, "run"), ...extra,
    } as ExperimentInput;
    const cfg = parseExperiment(input);

    // 1. the notebook's path; parts built exactly as Experiment builds them (master seed forks 1 and 2)
    const viaDriver: Array<[number, SchedulerAction]> = [];
    const master = new Rng(cfg.seed);
    // the backend the config names, with its virtual clock at 0 as the simulator's (exact sums of step times)
    const backend = new ReplayBackend({ curves: CSV, space: cfg.space, metric: cfg.metric, maxConcurrent: cfg.maxConcurrent, runDir: path.resolve(cfg.runDir), startTime: 0 });
    const exp = experiment(input, {
      backend,
      scheduler: recording(createScheduler(cfg, master.fork(1)), viaDriver, { n: 0 }),
      searcher: createSearcher(cfg, new Rng(cfg.seed).fork(2)),
    });
    const summary = await exp.run();

    // 2. the bench's path, answering each configuration with the replay backend's nearest recorded curve
    const nearest = new NearestCurves(loadCurves(CSV), cfg.space);
    const sim = simulate({
      scheduler: createScheduler(cfg, new Rng(cfg.seed).fork(1)), searcher: createSearcher(cfg, new Rng(cfg.seed).fork(2)),
      samples, maxConcurrent: 4, maxT: 8, metric: "eval_loss", mode: "min",
      curve: (c, t) => {
        const r = nearest.find(c);
        if (typeof r === "string") throw new Error(r);
        return { value: r.points[t - 1].value, seconds: r.points[t - 1].time_s };
      },
    });

    assert.ok(viaDriver.filter(([, a]) => a.action !== "continue").length >= 5, `${name} made decisions`);
    assert.deepEqual(sim.decisions, viaDriver);
    const h = exp.history();
    const t0 = h[0].at;
    const driverTrials = summary.trials.map((t) => ({
      id: t.trial_id, config: t.config, state: t.state, t: t.last_t,
      reports: h.filter((e): e is Extract<ExperimentEvent, { type: "report" }> => e.type === "report" && e.trialId === t.trial_id).map((e) => [e.report.t, e.report.eval_loss, (e.at - t0) / 1000]),
    }));
    const simTrials = sim.trials.map((t) => ({ id: t.id, config: t.config, state: t.state, t: t.t, reports: t.reports.map((r) => [r.t, r.value, r.clock]) }));
    assert.deepEqual(simTrials, driverTrials);
    assert.ok(Math.abs(sim.gpuSeconds - summary.gpu_seconds) < 1e-6, `GPU-seconds ${sim.gpuSeconds} vs ${summary.gpu_seconds}`);
    if (name === "pbt") assert.ok(h.some((e) => e.type === "exploit"), "PBT exploited");
    if (name === "tpe+asha") assert.ok(sim.trials.length === samples && cfg.searcher?.kind === "tpe");
  });
}
