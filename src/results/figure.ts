/**
 * A vega-lite spec as a notebook output: the interactive spec for JupyterLab
 * plus an SVG (rendered here with vega) for front-ends without a vega-lite
 * renderer (classic Notebook 6, nbconvert HTML, GitHub).
 */
import type { VegaLiteSpec } from "../plots/spec";
import { VEGA_LITE_MIME } from "../plots/spec";
import { renderSvg } from "../plots/render";

export class Figure {
  constructor(readonly spec: VegaLiteSpec, readonly svg: string | null, readonly title: string) {}
  [Symbol.for("Jupyter.display")](): Record<string, unknown> {
    const b: Record<string, unknown> = { [VEGA_LITE_MIME]: this.spec, "text/plain": `<figure: ${this.title}>` };
    if (this.svg) b["image/svg+xml"] = this.svg;
    return b;
  }
}

/** Render once (SVG fallback) and return a displayable figure. */
export async function figure(spec: VegaLiteSpec): Promise<Figure> {
  let svg: string | null = null;
  try {
    svg = await renderSvg(spec);
  } catch {
    svg = null; // the spec still shows where vega-lite renders
  }
  const t = spec.title;
  return new Figure(spec, svg, typeof t === "string" ? t : "chart");
}
