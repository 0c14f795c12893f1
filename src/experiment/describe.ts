/**
 * What a method will do with a given experiment config, read from the very
 * scheduler and searcher objects the experiment builds (components.ts): the
 * rungs where ASHA can cut, HyperBand/BOHB's brackets as the trials fill
 * them, PBT's perturbation points, and when BOHB's model first fits. The
 * notebooks print these instead of typing numbers, so the text always
 * matches the run (issue 12 item 6).
 *
 * Only structure comes from the objects; two derived figures are simple
 * arithmetic on it and are labelled as such: the ASHA funnel "if exactly
 * 1/η continue at each rung" and the trial-epochs that follow from it.
 */
import type { ExperimentConfig, ExperimentInput, HParams } from "../config/types";
import { Rng } from "../space/rng";
import { sampleSpace, toSpace } from "../space";
import * as components from "./components";

export interface AshaPlan {
  gracePeriod: number;
  reductionFactor: number;
  /** t values below max_t where a trial waits for a decision and may be cut (bracket 0). */
  rungs: number[];
  /** trials still training after each rung if exactly 1/η continue: [{t: 0, trials: samples}, {t: rung1, ...}, ...]. */
  funnel: Array<{ t: number; trials: number }>;
  /** trial-epochs under that funnel, and with nobody cut (samples × max_t). */
  trialEpochs: number;
  trialEpochsNoCuts: number;
}

export interface BracketPlan {
  /** HyperBand's s (number of halvings). */
  s: number;
  /** how many of this run's trials the scheduler puts in it, in the order they are added. */
  trials: number;
  /** [configs, epochs] at each stage of the bracket, as the scheduler computes them. */
  stages: Array<{ configs: number; epochs: number }>;
}

export interface BracketsPlan {
  reductionFactor: number;
  brackets: BracketPlan[];
  /** budgets (epochs) where trials wait for their bracket, below max_t. */
  milestones: number[];
}

export interface BohbModelPlan {
  /** results at one budget before the searcher's density model first fits (probed on a fresh searcher). */
  threshold: number;
  /** most results this run's brackets produce at one budget, and that budget. */
  mostAtOneBudget: number;
  budget: number;
  /** whether the model can fit before this run's last trial is proposed (a necessary condition, not a promise). */
  canAct: boolean;
}

export interface PbtPlan {
  perturbationInterval: number;
  /** t values where members are ranked (a fresh member's pause_at). */
  perturbationPoints: number[];
  population: number;
  /** members in the bottom quantile (each exploits a top one) at every point. */
  exploitersPerPoint: number;
  quantileFraction: number;
  resampleProbability: number;
  /** explore multiplies a copied value by one of these (or resamples it). */
  perturbationFactors: number[];
  /** synchronous: members wait at each point until all have reached it, then the bottom ones exploit. */
  synch: boolean;
}

export interface MethodPlan {
  method: string;
  samples: number;
  maxT: number;
  asha?: AshaPlan;
  brackets?: BracketsPlan;
  bohbModel?: BohbModelPlan;
  pbt?: PbtPlan;
}

function validated(input: ExperimentConfig | ExperimentInput): ExperimentConfig {
  const c = input as Partial<ExperimentConfig>;
  const done = typeof c.runDir === "string" && typeof c.samples === "number" && typeof c.trainer?.epochs === "number" && typeof (c.method as { kind?: unknown })?.kind === "string";
  return done ? (input as ExperimentConfig) : components.parseExperiment(input);
}

const uniq = (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b);

/** The plan of `input` (a validated config such as `exp.config`, or what one writes to `experiment()`). */
export function methodPlan(input: ExperimentConfig | ExperimentInput): MethodPlan {
  const config = validated(input);
  const maxT = config.trainer.epochs;
  const plan: MethodPlan = { method: config.method.kind, samples: config.samples, maxT };
  const m = config.method;
  // a throwaway scheduler/searcher with the run's own seeding: probing them changes nothing in the run
  const master = new Rng(config.seed);
  const scheduler = components.createScheduler(config, master.fork(1));
  const configs: HParams[] = [];
  const draw = master.fork(3);
  for (let i = 0; i < config.samples; i++) configs.push(sampleSpace(toSpace(config.space), draw));
  const ids = configs.map((_, i) => `probe${i}`);

  if (m.kind === "asha") {
    scheduler.onTrialAdd({ trialId: ids[0], config: configs[0] });
    const rungs = uniq(scheduler.decisionPoints(ids[0]));
    const funnel = [{ t: 0, trials: config.samples }];
    let n = config.samples;
    for (const t of rungs) {
      n = Math.max(1, Math.round(n / m.reductionFactor));
      funnel.push({ t, trials: n });
    }
    let epochs = 0;
    funnel.forEach((f, i) => { epochs += f.trials * ((funnel[i + 1]?.t ?? maxT) - f.t); });
    plan.asha = { gracePeriod: m.gracePeriod, reductionFactor: m.reductionFactor, rungs, funnel, trialEpochs: epochs, trialEpochsNoCuts: config.samples * maxT };
  }

  if (m.kind === "hyperband" || m.kind === "bohb") {
    const hb = scheduler as unknown as {
      layout(): Array<Array<{ s: number; members: string[] } | null>>;
    };
    const milestones = new Set<number>();
    ids.forEach((id, i) => {
      scheduler.onTrialAdd({ trialId: id, config: configs[i] });
      for (const t of scheduler.decisionPoints(id)) milestones.add(t);
    });
    const { hyperbandStages, hyperbandSMax1 } = require("../schedulers/hyperband") as typeof import("../schedulers/hyperband");
    const sMax1 = hyperbandSMax1(maxT, m.reductionFactor);
    const brackets: BracketPlan[] = [];
    for (const band of hb.layout()) for (const b of band) {
      if (!b || b.members.length === 0) continue;
      brackets.push({ s: b.s, trials: b.members.length, stages: hyperbandStages(maxT, m.reductionFactor, b.s, sMax1).map(([configs, epochs]) => ({ configs, epochs })) });
    }
    plan.brackets = { reductionFactor: m.reductionFactor, brackets, milestones: uniq([...milestones]) };
  }

  if (m.kind === "bohb") {
    // how many results at one budget the searcher needs before its model fits: feed a fresh one until it does
    const searcher = components.createSearcher(config, new Rng(config.seed).fork(2)) as unknown as {
      observe(o: { trialId: string; config: HParams; budget: number; loss: number }): void;
      modelBudgets?(): number[];
    };
    let threshold = Infinity;
    if (typeof searcher.modelBudgets === "function") {
      const probe = new Rng(config.seed).fork(4);
      for (let i = 1; i <= 200; i++) {
        searcher.observe({ trialId: `obs${i}`, config: sampleSpace(toSpace(config.space), probe), budget: 1, loss: i });
        if (searcher.modelBudgets().length > 0) { threshold = i; break; }
      }
    }
    // results per budget that this run's brackets produce: every config of a stage reports at its epochs
    const perBudget = new Map<number, number>();
    for (const b of plan.brackets!.brackets) {
      b.stages.forEach((st, k) => {
        const configs = k === 0 ? b.trials : Math.min(st.configs, b.trials);
        perBudget.set(st.epochs, (perBudget.get(st.epochs) ?? 0) + configs);
      });
    }
    let most = 0, budget = 0;
    for (const [bu, n] of perBudget) if (n > most) { most = n; budget = bu; }
    // the model can pick only for a trial proposed after `threshold` results exist at one budget
    plan.bohbModel = { threshold, mostAtOneBudget: most, budget, canAct: Number.isFinite(threshold) && threshold < config.samples && most >= threshold };
  }

  if (m.kind === "pbt") {
    scheduler.onTrialAdd({ trialId: ids[0], config: configs[0] });
    const { quantileSize } = require("../schedulers/pbt") as typeof import("../schedulers/pbt");
    plan.pbt = {
      perturbationInterval: m.perturbationInterval,
      perturbationPoints: uniq(scheduler.decisionPoints(ids[0])),
      population: config.samples,
      exploitersPerPoint: quantileSize(config.samples, m.quantileFraction),
      quantileFraction: m.quantileFraction,
      resampleProbability: m.resampleProbability,
      perturbationFactors: [...m.perturbationFactors],
      synch: m.synch,
    };
  }
  return plan;
}

const list = (xs: number[]) => (xs.length ? xs.join(", ") : "none");
const pct = (x: number) => `${Math.round(x * 100)}%`;

/**
 * The plan in sentences, one fact per line, each starting with a fixed label
 * (tests read the numbers back and compare them with the run's journal).
 * `gridTrialEpochs` (the manual grid's configs × epochs) adds a cost range.
 */
export function describePlan(plan: MethodPlan, opts: { gridTrialEpochs?: number } = {}): string {
  const out: string[] = [`${plan.method}: ${plan.samples} trials, max_t ${plan.maxT} epochs`];
  const grid = opts.gridTrialEpochs;
  if (plan.asha) {
    const a = plan.asha;
    out.push(`rungs (t where a trial can be cut): ${list(a.rungs)}; max_t ${plan.maxT} is the end of training, not a rung`);
    out.push(`if exactly 1/${a.reductionFactor} continue at each rung: ${a.funnel.map((f) => `${f.trials} ${f.t === 0 ? "start" : `after t=${f.t}`}`).join(" → ")}; ${a.funnel.slice(1).map((f, i) => `${a.funnel[i].trials - f.trials} cut at t=${f.t}`).join(", ") || "nobody cut"}`);
    out.push(`trial-epochs: ${a.trialEpochs} of ${a.trialEpochsNoCuts} without cuts (${pct(a.trialEpochs / a.trialEpochsNoCuts)}); asynchronous ASHA cuts fewer (the first trial at a rung always continues)`);
    if (grid) out.push(`expected cost ratio vs the manual grid (${grid} trial-epochs): ${(a.trialEpochs / grid).toFixed(2)} to ${(a.trialEpochsNoCuts / grid).toFixed(2)}, before process start-up`);
  }
  if (plan.brackets) {
    const b = plan.brackets;
    out.push(`brackets (η=${b.reductionFactor}): ${b.brackets.map((x) => `s=${x.s}: ${x.trials} trial(s), stages ${x.stages.map((st) => `${st.configs}×${st.epochs}`).join(" → ")}`).join("; ")}`);
    out.push(`milestones (t where trials wait for their bracket): ${list(b.milestones)}`);
  }
  if (plan.bohbModel) {
    const mo = plan.bohbModel;
    out.push(Number.isFinite(mo.threshold)
      ? `model: fits after ${mo.threshold} results at one budget; this run's brackets give at most ${mo.mostAtOneBudget} (at ${mo.budget} epoch(s)) for ${plan.samples} trials: ${mo.canAct ? "the model can propose the later trials" : "every configuration will be random (more trials, or a searcher that fits sooner, let the model act)"}`
      : `model: the searcher never fit a model on 200 results at one budget`);
  }
  if (plan.pbt) {
    const p = plan.pbt;
    out.push(`perturbation interval: ${p.perturbationInterval}; perturbation points: ${list(p.perturbationPoints)}`);
    const explore = `copy a top member's checkpoint and explore: each copied value ×${p.perturbationFactors.join(" or ×")}, or resampled with probability ${p.resampleProbability}`;
    out.push(p.synch
      ? `population ${p.population}, synchronous: at each point, once every member has reached it, the bottom ${p.exploitersPerPoint} (quantile ${p.quantileFraction}) ${explore}`
      : `population ${p.population}, asynchronous: a member that reaches a point while ranked in the bottom ${p.exploitersPerPoint} (quantile ${p.quantileFraction}) of the latest results must ${explore}`);
  }
  return out.join("\n");
}

/**
 * The plan as a picture (vega-lite v5): ASHA's funnel (trials training up to
 * each rung if exactly 1/η continue), HyperBand/BOHB's brackets (configs ×
 * epochs per stage); null for methods without either (PBT: pbtPicture).
 */
export function planPicture(plan: MethodPlan): Record<string, unknown> | null {
  const schema = "https://vega.github.io/schema/vega-lite/v5.json";
  if (plan.asha) {
    const a = plan.asha;
    const values = a.funnel.map((f, i) => ({ label: `t ${f.t}–${a.funnel[i + 1]?.t ?? plan.maxT}`, trials: f.trials }));
    return {
      $schema: schema,
      title: `ASHA (η=${a.reductionFactor}, grace ${a.gracePeriod}, max_t ${plan.maxT}): trials training in each stretch if 1/${a.reductionFactor} continue at rungs ${list(a.rungs)}`,
      width: 360, height: 160,
      data: { values },
      layer: [
        { mark: { type: "bar", color: "#4c78a8" }, encoding: { x: { field: "label", type: "ordinal", sort: null, title: "epochs" }, y: { field: "trials", type: "quantitative", title: "trials" } } },
        { mark: { type: "text", dy: -6 }, encoding: { x: { field: "label", type: "ordinal", sort: null }, y: { field: "trials", type: "quantitative" }, text: { field: "trials", type: "quantitative" } } },
      ],
    };
  }
  if (plan.brackets) {
    const values = plan.brackets.brackets.flatMap((b, i) => b.stages.map((st, k) => ({ bracket: `#${i + 1} (s=${b.s}, ${b.trials} trial(s))`, stage: k, configs: k === 0 ? b.trials : Math.min(st.configs, b.trials), epochs: st.epochs })));
    return {
      $schema: schema,
      title: `${plan.method} brackets for ${plan.samples} trials (η=${plan.brackets.reductionFactor}, max_t ${plan.maxT}): configs trained to each budget`,
      width: 360, height: 40 + 30 * plan.brackets.brackets.length,
      data: { values },
      mark: { type: "circle", opacity: 0.8 },
      encoding: {
        x: { field: "epochs", type: "quantitative", title: "epochs per config at this stage" },
        y: { field: "bracket", type: "nominal", title: null, sort: null },
        size: { field: "configs", type: "quantitative", title: "configs" },
        color: { field: "bracket", type: "nominal", legend: null },
        tooltip: [{ field: "bracket", type: "nominal" }, { field: "configs", type: "quantitative" }, { field: "epochs", type: "quantitative" }],
      },
    };
  }
  return null;
}
