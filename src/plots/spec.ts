/**
 * Shared bits of every plot builder. Specs are plain JSON (vega-lite v5):
 * JupyterLab 4's built-in renderer bundles vega-lite 5, so we emit v5 specs
 * under `application/vnd.vegalite.v5+json` and avoid features newer than 5.x.
 */

export type VegaLiteSpec = Record<string, unknown>;

export const VEGA_LITE_V5_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";
export const VEGA_LITE_MIME = "application/vnd.vegalite.v5+json";

/** Colours by trial status; fixed so a live plot and its SVG fallback agree. */
export const STATUS_COLORS: Record<string, string> = {
  running: "#4c78a8",
  completed: "#54a24b",
  paused: "#f58518",
  stopped: "#b0b0b0",
  failed: "#9d755d",
  best: "#e45756",
};

/** Names of hyperparameters conventionally searched on a log scale. */
export function looksLogScale(name: string): boolean {
  return /(^|_)(lr|learning_?rate|weight_?decay|wd|eps|epsilon|alpha|l2)($|_)/i.test(name);
}

export function finite(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(x);
}
