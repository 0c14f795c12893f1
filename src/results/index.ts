/**
 * results: the comparison table, manual-log parsing, reference data, run-dir
 * loading and the team folder. Exposed to notebooks as `results` from "tunelab".
 */
export type { ComparisonRow, ScheduleStep, HParamValue } from "./row";
export { parseRow, rowLabel, comparisonRowSchema } from "./row";
export { compare, Comparison, MARKDOWN_COLUMNS, CSV_COLUMNS } from "./compare";
export type { ComparedRow, CompareOptions } from "./compare";
export {
  parseManualLog, parseManualLogFiles, manualRunsCsv, manualRunsFrame, manualGridRow,
  loadReference, referenceManualRow, referenceDir, loadRunDir, loadRunTrials, WORKSHOP_GRID_WALL_MINUTES,
} from "./manual-log";
export type { ManualRun, ManualLog, JobStamp, ManualRowOptions } from "./manual-log";
export { teamFolder, TeamFolder, LocalTeamFolder, RemoteTeamFolder, rowFileName, validateMember, validateMethod, transportForBackend } from "./team-folder";
export type { ExecTransport, TeamFolderSpec, TeamFolderRead } from "./team-folder";
export { parsePyRepr } from "./pyrepr";
export { formatConfig, formatHp, formatLoss } from "./format";
export { experimentDevice, deviceWords } from "./device";
export type { DeviceKind } from "./device";
export { rowFromSummary } from "./summary-row";
export { rowDevice, rowDevices, rowDeviceMinutes, markdownColumns } from "./compare";
export { Table, outcomesTable, trialOutcomes, cutsByRung, rungFunnel, cutsTable, pbtSteps, pbtLineageOf, pbtTable, lineageTable, bohbPicks } from "./interpret";
export type { RungCut, TrialOutcome, ExploitStep } from "./interpret";
export { figure, Figure } from "./figure";
export { ashaRungs, ashaFunnel, ashaPicture, hyperbandBrackets, bohbPicture, pbtPicture } from "./pictures";
export { importRay, readRay, rayCurvesCsv, writeRayCurves, isRayExperimentDir, flattenRayConfig } from "./ray-import";
export type { RayImportOptions, RayExperiment, RayTrial, RayResult, RayTrialStatus, RayCurvesOptions } from "./ray-import";
export { exportRay } from "./ray-export";
export type { RayExportResult } from "./ray-export";
