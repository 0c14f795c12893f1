/**
 * Server-side rendering of a vega-lite spec to SVG, for static fallbacks
 * (classic Notebook 6, nbconvert exports, GitHub). vega and vega-lite 6 are
 * ESM-only with top-level await, so they are loaded with a dynamic import
 * (kept as import() by TypeScript under module node16) and cached.
 */
import type { VegaLiteSpec } from "./spec";

let libs: Promise<{ vega: any; vl: any }> | null = null;

function load(): Promise<{ vega: any; vl: any }> {
  libs ??= Promise.all([import("vega"), import("vega-lite")]).then(([vega, vl]) => ({ vega, vl }));
  return libs;
}

/** Compile a vega-lite spec to a vega spec (e.g. for inspecting data sets). */
export async function compileVegaLite(spec: VegaLiteSpec): Promise<Record<string, unknown>> {
  const { vl } = await load();
  return vl.compile(spec).spec;
}

export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const { vega, vl } = await load();
  const vg = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(vg), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
