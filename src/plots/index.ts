/** Plot builders: pure functions returning vega-lite v5 specs, plus SVG rendering. */
export { VEGA_LITE_V5_SCHEMA, VEGA_LITE_MIME, STATUS_COLORS, type VegaLiteSpec } from "./spec";
export { learningCurves, trialStatus, STATUS_DOMAIN, type CurvePoint, type ExploitMark, type LearningCurveOptions } from "./learning-curves";
export { pbtLineage, type ConfigChange, type LineageEdge, type PbtLineageData, type PbtLineageOptions } from "./pbt-lineage";
export { parallelCoordinates, parallelRows, type TrialOutcome, type ParallelCoordinatesOptions } from "./parallel-coordinates";
export { gpuMinutesOverTime, comparisonChart, type GpuMinutesPoint, type ComparisonPoint } from "./gpu-and-comparison";
export { renderSvg, compileVegaLite } from "./render";
