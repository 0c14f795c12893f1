/**
 * tunelab's public surface: what notebook cells import (`import { experiment,
 * show, results } from "tunelab"`) and nothing else. Everything here is typed
 * with plain interfaces: tslab type-checks cells with TypeScript 5.0, so no
 * zod-inferred type may appear in these signatures.
 */
export { experiment, Experiment, resolveRunDir } from "./experiment";
export type {
  ExperimentOptions, ExperimentFactory, Summary, BestResult, TrialSummary,
  ExperimentEvent, ExperimentSource, ComparisonRow, ScheduleStep,
} from "./experiment";
export { parseExperiment, checkExperiment, ConfigError } from "./config/schema";
export type * from "./config/types";

export * as space from "./space";
export * as backends from "./backends";
export * as results from "./results";
export * as plots from "./plots";
export * as schedulers from "./schedulers";
export * as searchers from "./searchers";
export { simulate } from "./schedulers/simulate";
export { trainerCommand, defaultTrainerScript, type TrainerCommandOptions } from "./trainer/launcher";
export { clusterCheck, formatCheckReport, type CheckReport } from "./cli/cluster";
export {
  workshopSettings, parseBackendEnv, parseTeamFolderEnv, parseTrainerEnv, defaultReplayCurves, memberSeed, memberRunName,
  SettingsError, BACKEND_KINDS, kernelInfo, type KernelInfo, type WorkshopSettings, type WorkshopSettingsInput, type BackendInput,
} from "./cli/notebooks";
export { methodPlan, describePlan, planPicture, type MethodPlan, type AshaPlan, type BracketsPlan, type BracketPlan, type BohbModelPlan, type PbtPlan } from "./experiment/describe";

export {
  showExperiment, showExperiment as show, ExperimentView, LivePlot, TrialTable, quiz, Quiz, hashAnswer,
  Widget, IntProgress, HTML, Button, Dropdown, RadioButtons, IntSlider, FloatSlider, VBox, HBox, Tab, Output,
  widgetFrontend, waitForWidgetFrontend, type WidgetFrontend,
} from "../widgets";
export { display, updateDisplay, type DisplayHandle, type DisplayOpts } from "../widgets/display";
