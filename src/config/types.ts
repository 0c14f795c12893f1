/**
 * Plain interfaces for the experiment config (design.md contract 1).
 * Notebook cells touch these; tslab type-checks cells with TypeScript 5.0,
 * so cells must never depend on zod inference. `src/config/schema.ts` holds
 * the zod schema and asserts at compile time that it parses to these types.
 */

/** One search-space dimension, as written by users. */
export type DomainSpec =
  | { loguniform: [number, number] }
  | { uniform: [number, number] }
  | { int: [number, number] }
  | { choice: Array<number | string | boolean> }
  | { grid: Array<number | string | boolean> };

export type SpaceSpec = Record<string, DomainSpec>;

/** A concrete hyperparameter assignment. */
export type HParams = Record<string, number | string | boolean>;

export interface GridMethod { kind: "grid" }
export interface RandomMethod { kind: "random" }
export interface AshaMethod {
  kind: "asha";
  /** g, minimum t before a trial can be stopped. Default 1. */
  gracePeriod: number;
  /** η. Default 4. */
  reductionFactor: number;
  /** R. Default = trainer.epochs. */
  maxT: number;
  /** number of brackets. Default 1. */
  brackets: number;
  stopLastTrials: boolean;
  /** "worst" (tunelab default) or "ignore" (Ray: NaN never stops). */
  nanPolicy: "worst" | "ignore";
}
export interface HyperbandMethod {
  kind: "hyperband";
  maxT: number;
  reductionFactor: number;
  stopLastTrials: boolean;
}
export interface PbtMethod {
  kind: "pbt";
  perturbationInterval: number;
  burnInPeriod: number;
  quantileFraction: number;
  resampleProbability: number;
  perturbationFactors: [number, number];
  /** names of hyperparameters to mutate; default: every key of `space`. */
  mutations?: string[];
  synch: boolean;
}
export interface BohbMethod {
  kind: "bohb";
  maxT: number;
  reductionFactor: number;
  minPointsInModel?: number;
  topNPercent: number;
  numSamples: number;
  randomFraction: number;
  bandwidthFactor: number;
  minBandwidth: number;
  stopLastTrials: boolean;
}
export type MethodSpec = GridMethod | RandomMethod | AshaMethod | HyperbandMethod | PbtMethod | BohbMethod;
export type MethodKind = MethodSpec["kind"];

/**
 * Where to sample (Ray's `search_alg`), independent of the scheduler
 * (`method`, Ray's `scheduler`). Left out: grid method → grid, bohb → bohb's
 * KDE, every other method → random.
 */
export interface GridSearcherSpec { kind: "grid" }
export interface RandomSearcherSpec { kind: "random" }
/** Optuna 3.1 TPESampler semantics (docs/tpe.md); defaults are Optuna's. */
export interface TpeSearcherSpec {
  kind: "tpe";
  /** random trials until this many trials completed or were stopped. Default 10. */
  nStartupTrials: number;
  /** candidates drawn from l(x) per suggestion. Default 24. */
  nEiCandidates: number;
  /** one joint Parzen estimator over all dimensions (Optuna multivariate=True). Default false. */
  multivariate: boolean;
  /** running trials count as the worst observations (Optuna constant_liar=True), for parallel trials. Default false. */
  constantLiar: boolean;
  considerPrior: boolean;
  priorWeight: number;
  considerMagicClip: boolean;
  considerEndpoints: boolean;
}
export interface BohbSearcherSpec {
  kind: "bohb";
  minPointsInModel?: number;
  topNPercent: number;
  numSamples: number;
  randomFraction: number;
  bandwidthFactor: number;
  minBandwidth: number;
}
export type SearcherSpec = GridSearcherSpec | RandomSearcherSpec | TpeSearcherSpec | BohbSearcherSpec;
export type SearcherKind = SearcherSpec["kind"];

export interface BudgetSpec {
  gpuMinutes?: number;
  wallMinutes?: number;
}

export interface TrainerSpec {
  /** argv; default: the bundled Python trainer. */
  command?: string[];
  /** "small" (embedded default), "tiny-bloom", a hub id or a local path. */
  model: string;
  /** dataset name or path; default depends on the model family. */
  dataset?: string;
  /** epochs of a full-budget trial (= maxT unless evalEvery is set). */
  epochs: number;
  /** report every N steps (small model, needs options.steps_per_epoch) or a fraction 1/k of an epoch; then t counts evaluations and a full budget is epochs' worth of them (config/eval-every.ts). */
  evalEvery?: number;
  gpusPerTrial: number;
  /** DeepSpeed config name ("zero3") or path. */
  deepspeed?: string;
  env: Record<string, string>;
  /** extra trainer settings passed through trial.json (e.g. steps per epoch). */
  options?: Record<string, number | string | boolean>;
}

export interface LocalBackendSpec {
  kind: "local";
  maxConcurrent?: number;
  /** GPU ids to hand out; default: none (CPU) or all visible. */
  gpus?: number[];
  /** trials sharing one GPU (default 1); each is accounted 1/slotsPerGpu GPU. */
  slotsPerGpu?: number;
  /** one warm trainer process per slot runs successive trials, resumes and PBT exploits
   *  (no start-up per trial; Ray's reuse_actors). Default true: only `python script.py`
   *  trainers on <= 1 GPU are reused, others start as before. */
  reuseProcesses?: boolean;
}
export interface SlurmBackendSpec {
  kind: "slurm";
  host?: string;
  port?: number;
  user?: string;
  identityFile?: string;
  /** SHA256 fingerprint, "SHA256:..." as ssh-keygen -lf prints. */
  hostKey?: string;
  knownHosts?: string;
  /** bastion: "user@host:port" */
  jump?: string;
  partition?: string;
  account?: string;
  qos?: string;
  reservation?: string;
  time?: string;
  cpusPerTrial?: number;
  memPerTrial?: string;
  constraint?: string;
  remoteDir: string;
  setup?: string[];
  accounting?: "sacct" | "none";
  /** seconds between polls (default 2). */
  pollInterval?: number;
  /** seconds of grace before the time limit: --signal=B:USR1@grace */
  signalGrace?: number;
  python?: string;
  /** one SLURM job per slot runs successive trials (warm trainer process, as the local backend's
   *  reuseProcesses). Default false: an idle worker's job keeps its allocation between trials. */
  reuseProcesses?: boolean;
}
export interface ReplayBackendSpec {
  kind: "replay";
  curves: string;
  /** real seconds per simulated second; 0 = as fast as possible (default). */
  timeScale?: number;
  /** simulated queue delay in seconds before each trial starts. */
  queueDelay?: number;
}
export type BackendSpec = LocalBackendSpec | SlurmBackendSpec | ReplayBackendSpec;

/** The validated experiment config, defaults filled in. */
export interface ExperimentConfig {
  name: string;
  metric: string;
  mode: "min" | "max";
  seed: number;
  space: SpaceSpec;
  method: MethodSpec;
  /**
   * Filled in by parseExperiment; optional so configs built by hand (tests,
   * older experiment.json files) keep working: createSearcher then uses the
   * method's usual searcher.
   */
  searcher?: SearcherSpec;
  samples: number;
  maxConcurrent: number;
  budget?: BudgetSpec;
  trainer: TrainerSpec;
  backend: BackendSpec;
  runDir: string;
}

/** What users may write: everything but name/space optional. */
export interface ExperimentInput {
  name: string;
  metric?: string;
  mode?: "min" | "max";
  seed?: number;
  space: SpaceSpec;
  method?: Partial<MethodSpec> & { kind: MethodKind };
  searcher?: Partial<SearcherSpec> & { kind: SearcherKind };
  samples?: number;
  maxConcurrent?: number;
  budget?: BudgetSpec;
  trainer?: Partial<TrainerSpec>;
  backend?: Partial<BackendSpec> & { kind: BackendSpec["kind"] };
  runDir?: string;
}
