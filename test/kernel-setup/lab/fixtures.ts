/**
 * Notebooks for the JupyterLab 4 page tests: every tunelab widget class in
 * one notebook (quiz, standard controls, an ExperimentView fed by the
 * synthetic stream of test/widgets/notebook-fixture.ts, whose source records
 * the user's actions), a real experiment on the replay backend slowed down
 * so its live plot grows while the page watches, and a detection notebook.
 */
import * as path from "node:path";
import { ROOT, WIDGETS_DIST, streamNotebook } from "../../widgets/notebook-fixture";

export const CURVES = path.join(ROOT, "data", "curves", "small-cpu.csv");

const code = (source: string) => ({ cell_type: "code", execution_count: null, metadata: {}, outputs: [], source });
const markdown = (source: string) => ({ cell_type: "markdown", metadata: {}, source });
const META = { kernelspec: { name: "tunelab", display_name: "TypeScript (tunelab)", language: "typescript" }, language_info: { name: "typescript" } };
const notebook = (cells: unknown[]) => ({ cells, metadata: META, nbformat: 4, nbformat_minor: 5 });

export const QUIZ = { question: "Which rung does ASHA stop a bad trial at?", options: ["never", "the first rung at which it is behind the others (with a reduction factor of 2, half of them go on)", "the last epoch"], answer: 1, explanation: "It is cut where it falls behind." };

/**
 * Cells: 0 markdown, 1 stream set-up, 2 the ExperimentView (returns while the
 * stream goes on), 3 quiz, 4 standard controls.
 */
export function widgetsNotebook(o: { trials: number; epochs: number; epochMs: number }): Record<string, unknown> {
  const stream = streamNotebook({ ...o, awaitEnd: false, svgEveryMs: 5000 }) as { cells: Array<{ source: string }> };
  return notebook([
    markdown("# Every tunelab widget\nRendered by JupyterLab 4's notebook and the ipywidgets manager."),
    code(stream.cells[0].source),
    code(stream.cells[1].source),
    code(`W.quiz([${JSON.stringify(QUIZ)}])`),
    code(`new W.VBox([
  new W.Dropdown({ options: ["grid", "asha", "pbt"], index: 1, description: "method" }),
  new W.IntSlider({ value: 4, min: 1, max: 16, description: "samples" }),
  new W.FloatSlider({ value: 0.5, min: 0, max: 1, step: 0.1, description: "fraction" }),
  new W.Tab([new W.HTML({ value: "<b>first tab</b>" }), new W.HTML({ value: "second tab" })], ["one", "two"]),
])`),
  ]);
}

/**
 * A real experiment (tunelab's public API, imported as a student does) on
 * the replay backend replaying the small model's recorded CPU curves,
 * `timeScale` real seconds per recorded second, so the run takes a while.
 * Cells: 0 config + show, 1 run, 2 summary.
 */
export function liveNotebook(o: { runDir: string; timeScale: number }): Record<string, unknown> {
  return notebook([
    code(`import { experiment } from "tunelab";
const exp = experiment({
  name: "lab-live",
  space: { lr: { choice: [0.0001, 0.001, 0.0046, 0.022] }, batch_size: { choice: [16, 32] }, weight_decay: { choice: [0] } },
  method: { kind: "asha", reductionFactor: 2 },
  samples: 8, maxConcurrent: 2, seed: 3,
  trainer: { epochs: 8 },
  backend: { kind: "replay", curves: ${JSON.stringify(CURVES)}, timeScale: ${o.timeScale} },
  runDir: ${JSON.stringify(o.runDir)},
});
exp.show();`),
    code(`await exp.run();`),
    code(`console.log(\`trials in the table: \${exp.table().shape[0]}\`);`),
  ]);
}

/** One cell: 6 * 7. */
export function keysNotebook(): Record<string, unknown> {
  return notebook([code("6 * 7")]);
}

/** One cell printing what widgetFrontend() says (JSON on stdout). */
export function detectNotebook(): Record<string, unknown> {
  return notebook([code(`const { waitForWidgetFrontend } = require(${JSON.stringify(path.join(ROOT, "dist", "src", "index.js"))});
const f = await waitForWidgetFrontend(5000);
console.log(JSON.stringify(f));`)]);
}

export { WIDGETS_DIST };
