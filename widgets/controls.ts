/**
 * The standard ipywidgets 8 models we reuse by name (`@jupyter-widgets/controls`
 * 2.0.0, layout from `@jupyter-widgets/base` 2.0.0, output 1.0.0): every
 * front-end with ipywidgets 8 renders them without code of ours. Each class
 * sends the full default trait set (standard-defaults.ts) plus its own
 * Layout/Style child models, the way ipywidgets does.
 */
import type { MimeBundle } from "./kernel-bridge";
import { STANDARD_DEFAULTS, STANDARD_REFS } from "./standard-defaults";
import { Widget, type WidgetOptions } from "./widget";

const STYLE_OF: Record<string, string> = {
  IntProgressModel: "ProgressStyleModel",
  HTMLModel: "HTMLStyleModel",
  ButtonModel: "ButtonStyleModel",
  DropdownModel: "DescriptionStyleModel",
  RadioButtonsModel: "DescriptionStyleModel",
  IntSliderModel: "SliderStyleModel",
  FloatSliderModel: "SliderStyleModel",
};

function defaults(model: string): Record<string, unknown> {
  const d = STANDARD_DEFAULTS[model];
  if (!d) throw new Error(`no default state for ${model}`);
  return structuredClone(d);
}

export class Layout extends Widget {
  constructor(traits: Record<string, unknown> = {}, options?: WidgetOptions) {
    super({ ...defaults("LayoutModel"), ...traits }, options);
  }
}

export class Style extends Widget {
  constructor(model: string, traits: Record<string, unknown> = {}, options?: WidgetOptions) {
    super({ ...defaults(model), ...traits }, options);
  }
}

export interface ControlOptions extends WidgetOptions {
  layout?: Record<string, unknown>;
  style?: Record<string, unknown>;
}

/** A standard control: defaults + layout/style children + given traits. */
export class StandardWidget extends Widget {
  readonly layout: Layout | null;
  readonly style: Style | null;
  constructor(model: string, traits: Record<string, unknown>, options: ControlOptions = {}) {
    const refs = STANDARD_REFS[model] ?? [];
    const layout = refs.includes("layout") ? new Layout(options.layout, options) : null;
    const style = refs.includes("style") && STYLE_OF[model] ? new Style(STYLE_OF[model], options.style, options) : null;
    super({ ...defaults(model), ...(layout ? { layout } : {}), ...(style ? { style } : {}), ...traits }, options);
    this.layout = layout;
    this.style = style;
  }

  close(): void {
    super.close();
    this.layout?.close();
    this.style?.close();
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
export { escapeHtml };

export class IntProgress extends StandardWidget {
  constructor(traits: { value?: number; min?: number; max?: number; description?: string; bar_style?: string } = {}, options?: ControlOptions) {
    super("IntProgressModel", traits, options);
  }
  get value(): number {
    return this.get("value");
  }
  set value(v: number) {
    this.set({ value: Math.round(v) });
  }
  fallbackBundle(): MimeBundle {
    const v = this.get<number>("value"), lo = this.get<number>("min"), hi = this.get<number>("max");
    const frac = hi > lo ? (v - lo) / (hi - lo) : 0;
    const n = Math.round(frac * 20);
    return { "text/plain": `[${"#".repeat(n)}${".".repeat(20 - n)}] ${v}/${hi}` };
  }
}

export class HTML extends StandardWidget {
  constructor(traits: { value?: string; description?: string } = {}, options?: ControlOptions) {
    super("HTMLModel", traits, options);
  }
  get value(): string {
    return this.get("value");
  }
  set value(v: string) {
    this.set({ value: v });
  }
  fallbackBundle(): MimeBundle {
    const html = this.get<string>("value");
    return { "text/html": html, "text/plain": html.replace(/<[^>]*>/g, "") };
  }
}

export class Button extends StandardWidget {
  private clickHandlers = new Set<() => void>();
  constructor(traits: { description?: string; button_style?: string; icon?: string; tooltip?: string; disabled?: boolean } = {}, options?: ControlOptions) {
    super("ButtonModel", traits, options);
    this.onCustom((content) => {
      if (content?.event === "click") for (const fn of this.clickHandlers) fn();
    });
  }
  onClick(fn: () => void): () => void {
    this.clickHandlers.add(fn);
    return () => this.clickHandlers.delete(fn);
  }
  /** What a front-end click does (used by tests and keyboard shortcuts). */
  click(): void {
    for (const fn of this.clickHandlers) fn();
  }
  fallbackBundle(): MimeBundle {
    return { "text/plain": `[${this.get<string>("description")}]` };
  }
}

export class Dropdown extends StandardWidget {
  constructor(traits: { options: string[]; index?: number | null; description?: string }, options?: ControlOptions) {
    const { options: labels, ...rest } = traits;
    super("DropdownModel", { _options_labels: labels, index: labels.length ? 0 : null, ...rest }, options);
  }
  get value(): string | null {
    const i = this.get<number | null>("index");
    return i == null ? null : this.get<string[]>("_options_labels")[i] ?? null;
  }
}

export class RadioButtons extends StandardWidget {
  constructor(traits: { options: string[]; index?: number | null; description?: string }, options?: ControlOptions) {
    const { options: labels, ...rest } = traits;
    super("RadioButtonsModel", { _options_labels: labels, ...rest }, options);
  }
  get index(): number | null {
    return this.get<number | null>("index");
  }
  get value(): string | null {
    const i = this.index;
    return i == null ? null : this.get<string[]>("_options_labels")[i] ?? null;
  }
}

export class IntSlider extends StandardWidget {
  constructor(traits: { value?: number; min?: number; max?: number; step?: number; description?: string } = {}, options?: ControlOptions) {
    super("IntSliderModel", traits, options);
  }
  get value(): number {
    return this.get("value");
  }
}

export class FloatSlider extends StandardWidget {
  constructor(traits: { value?: number; min?: number; max?: number; step?: number; description?: string } = {}, options?: ControlOptions) {
    super("FloatSliderModel", traits, options);
  }
  get value(): number {
    return this.get("value");
  }
}

abstract class BoxBase extends StandardWidget {
  constructor(model: string, children: Widget[], traits: Record<string, unknown>, options?: ControlOptions) {
    super(model, { ...traits, children }, options);
  }
  get children(): Widget[] {
    return this.get("children");
  }
  set children(c: Widget[]) {
    this.set({ children: c });
  }
  fallbackBundle(): MimeBundle {
    const parts = this.children.map((c) => c.fallbackBundle());
    const html = parts.map((p) => (p["text/html"] as string) ?? `<pre>${escapeHtml(String(p["text/plain"] ?? ""))}</pre>`);
    const sep = this.get<string>("_model_name") === "HBoxModel" ? " " : "\n";
    return {
      "text/plain": parts.map((p) => String(p["text/plain"] ?? "")).join(sep),
      "text/html": `<div style="display:flex;flex-direction:${sep === " " ? "row" : "column"};gap:4px">${html.join("")}</div>`,
    };
  }
  close(): void {
    super.close();
  }
}

export class VBox extends BoxBase {
  constructor(children: Widget[] = [], traits: Record<string, unknown> = {}, options?: ControlOptions) {
    super("VBoxModel", children, traits, options);
  }
}

export class HBox extends BoxBase {
  constructor(children: Widget[] = [], traits: Record<string, unknown> = {}, options?: ControlOptions) {
    super("HBoxModel", children, traits, options);
  }
}

export class Tab extends StandardWidget {
  constructor(children: Widget[] = [], titles: string[] = [], options?: ControlOptions) {
    super("TabModel", { children, titles, selected_index: children.length ? 0 : null }, options);
  }
}

/** Output widget: holds outputs (nbformat dicts) set from the kernel. */
export class Output extends StandardWidget {
  constructor(options?: ControlOptions) {
    super("OutputModel", {}, options);
  }
  append(output: Record<string, unknown>): void {
    this.set({ outputs: [...this.get<unknown[]>("outputs"), output] });
  }
  appendDisplay(bundle: MimeBundle): void {
    this.append({ output_type: "display_data", data: bundle, metadata: {} });
  }
  clear(): void {
    this.set({ outputs: [] });
  }
}
