/**
 * The student's first hour, walked as a user walks it (issue 12):
 *  1. the README's main command, exactly as README.md writes it (`npm run
 *     workshop`), in a fresh clone of this repository (no node_modules, no
 *     dist, no kernel spec: the command installs what is missing);
 *  2. the URL it prints, opened in headless Chromium: the JupyterLab 4
 *     notebook page it serves; notebooks 00-05 in order, each with ▶▶ Run All;
 *  3. the instructor's path: `tunelab notebooks build` into a folder outside
 *     the repository, Jupyter started on that folder, one student's 00-setup
 *     and 02-asha run there (the kernel finds `tunelab` from that folder).
 * Jupyter's per-user folders point into a temp dir, so nothing of the
 * machine's own set-up is used or changed. Times are printed, not asserted.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freshClone, readmeMainCommand, startCommand, type Running } from "./readme-command";
import { LabNotebook, launchChromium, type CellResult } from "../support/lab-page";

const NOTEBOOKS = ["00-setup", "01-manual", "02-asha", "03-pbt", "04-bohb", "05-comparison"];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-e2e-"));
const env: Record<string, string> = {
  JUPYTER_DATA_DIR: path.join(tmp, "jupyter-data"),
  JUPYTER_PATH: path.join(tmp, "jupyter-data"),
  JUPYTER_RUNTIME_DIR: path.join(tmp, "jupyter-runtime"),
  JUPYTER_CONFIG_DIR: path.join(tmp, "jupyter-config"),
  IPYTHONDIR: path.join(tmp, "ipython"),
  JUPYTER_ALLOW_INSECURE_WRITES: "1",
};
let clone: string;
let workshop: Running;
let chrome: Awaited<ReturnType<typeof launchChromium>>;
const ran = new Map<string, { cells: CellResult[]; seconds: number }>();
const times: string[] = [];

const errorsOf = (cells: CellResult[]) => cells.flatMap((c) => c.outputs.filter((o) => o.output_type === "error").map((o) => `cell ${c.index} (${c.head}): ${o.ename}: ${o.evalue}`));
const textOf = (cells: CellResult[]) => cells.flatMap((c) => c.outputs.map((o) => o.text ?? "")).join("\n");

async function runNotebook(url: string, file: string, label: string): Promise<{ cells: CellResult[]; seconds: number }> {
  const t0 = Date.now();
  const nb = await LabNotebook.open(chrome.browser, url, file, { timeoutMs: 180_000 });
  try {
    let cells = await nb.runAll({ timeoutMs: 20 * 60_000, renderTimeoutMs: 30_000 });
    if (label !== "00-setup" && label !== "05-comparison") {
      // the live plot is a child view of the experiment's box and renders after it: wait (bounded) before reading
      await nb.waitFor(".jp-OutputArea .jupyter-widgets .tunelab-liveplot", 30_000).catch(() => undefined);
      cells = await nb.cells();
    }
    await nb.screenshot(`e2e-${label}`, { fullPage: true }).catch(() => undefined);
    await nb.save();
    const seconds = (Date.now() - t0) / 1000;
    times.push(`${label} ${seconds.toFixed(0)} s`);
    return { cells, seconds };
  } finally {
    await nb.close({ shutdownKernel: true });
  }
}

before(async () => {
  clone = freshClone(tmp);
  assert.ok(!fs.existsSync(path.join(clone, "node_modules")) && !fs.existsSync(path.join(clone, "dist")), "the clone is fresh");
  const argv = readmeMainCommand();
  assert.deepEqual(argv, ["npm", "run", "workshop"], "the README's main command");
  const t0 = Date.now();
  workshop = startCommand(argv, { cwd: clone, env, urlTimeoutMs: 20 * 60_000 });
  const url = await workshop.url;
  times.push(`README command to URL ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  chrome = await launchChromium();
  for (const n of NOTEBOOKS) ran.set(n, await runNotebook(url, `${n}.ipynb`, n));
});

after(async () => {
  console.log(`e2e times: ${times.join(", ")}`);
  await chrome?.close();
  const code = await workshop?.interrupt();
  console.log(`npm run workshop exited ${code} after Ctrl-C`);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("the README's main command on a fresh clone installs the kernel and prints a URL to tunelab's JupyterLab 4 page", async () => {
  const url = await workshop.url;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/);
  assert.match(workshop.output(), /Jupyter is running with the tunelab kernel/);
  assert.ok(fs.existsSync(path.join(env.JUPYTER_DATA_DIR, "kernels", "tunelab", "kernel.json")), "the kernel spec went into the user's Jupyter folder");
  const spec = JSON.parse(fs.readFileSync(path.join(env.JUPYTER_DATA_DIR, "kernels", "tunelab", "kernel.json"), "utf8"));
  assert.ok(JSON.stringify(spec.argv).includes(clone), `the kernel runs the clone's tslab: ${JSON.stringify(spec.argv)}`);
});

for (const n of NOTEBOOKS) {
  test(`${n}: Run All in the page the README's command serves: every code cell ran, no error output, no widget error`, () => {
    const r = ran.get(n)!;
    assert.deepEqual(errorsOf(r.cells), []);
    const code = r.cells.filter((c) => c.cellType === "code");
    assert.ok(code.length > 0);
    assert.deepEqual(code.filter((c) => c.executionCount === null).map((c) => c.index), [], "cells that never ran");
    assert.deepEqual(r.cells.flatMap((c) => c.widgetErrors), []);
    assert.match(textOf(r.cells), /team demo-team, member me, backend local, team folder "team-folder"/);
  });
}

test("00-setup in JupyterLab 4's page: widgets render (quiz and check), and it says so", () => {
  const r = ran.get("00-setup")!;
  const out = textOf(r.cells);
  assert.match(out, /kernel: tunelab \S+/);
  const views = r.cells.reduce((s, c) => s + c.widgetViews, 0);
  const expected = r.cells.reduce((s, c) => s + c.widgetOutputs, 0);
  assert.ok(expected > 0, "00-setup displays widgets");
  assert.equal(views, expected, "every widget output rendered as a widget view");
});

test("each method notebook rendered its live view and saved one comparison row to the team folder", () => {
  for (const n of ["01-manual", "02-asha", "03-pbt", "04-bohb"]) {
    const r = ran.get(n)!;
    const live = r.cells.reduce((s, c) => s + c.anywidgetViews, 0);
    assert.ok(live >= 1, `${n}: the live plot (anywidget) rendered`);
  }
  const rows = path.join(clone, "notebooks", "team-folder", "rows");
  assert.deepEqual(fs.readdirSync(rows).sort(), ["me-asha.json", "me-bohb.json", "me-manual.json", "me-pbt.json"]);
  for (const f of fs.readdirSync(rows)) {
    const row = JSON.parse(fs.readFileSync(path.join(rows, f), "utf8")).row;
    assert.equal(row.member, "me", f);
    assert.equal(typeof row.bestValue, "number", `${f}: a best eval loss`);
  }
});

test("05-comparison shows the group summary table with a row per method and the grid's cost ratio 1.00", () => {
  const md = fs.readFileSync(path.join(clone, "notebooks", "exports", "demo-team-summary.md"), "utf8");
  const lines = md.split("\n").filter((l) => l.startsWith("|"));
  const first = (l: string) => l.split("|")[1].trim();
  const types = lines.slice(2).map(first);
  for (const m of ["Manual grid (me)", "ASHA (me)", "PBT (me)", "BOHB (me)"]) assert.ok(types.includes(m), `${m} in ${JSON.stringify(types)}`);
  assert.ok(lines.some((l) => first(l) === "Manual grid (me)" && / 1\.00 /.test(l)), md);
  // the table is shown in the notebook too (a cell's output holds the same header)
  assert.ok(textOf(ran.get("05-comparison")!.cells).includes(lines[0].split("|")[1].trim()), "the summary table is shown in 05");
});

test("instructor path: `tunelab notebooks build` into a folder outside the repository; 00-setup and 02-asha run there in the page", async () => {
  const course = {
    course: "e2e", secret: "e2e-secret-0123456789",
    teams: [{ name: "team-a", members: ["ana"], teamFolder: path.join(tmp, "srv", "course", "team-a", "shared"), backend: { kind: "local" } }],
  };
  const courseFile = path.join(tmp, "course.json");
  fs.writeFileSync(courseFile, JSON.stringify(course));
  const out = path.join(tmp, "srv", "course");
  const b = spawnSync("node", [path.join(clone, "bin", "tunelab.js"), "notebooks", "build", "--course", courseFile, "--out", out], { cwd: tmp, encoding: "utf8" });
  assert.equal(b.status, 0, b.stderr);
  const anaDir = path.join(out, "team-a", "ana");
  assert.ok(fs.existsSync(path.join(anaDir, "02-asha.ipynb")), b.stdout);
  assert.ok(!anaDir.startsWith(clone));
  // Jupyter started on the course folder, as an instructor would (the README's command with --notebook-dir)
  const ws = startCommand(["node", path.join(clone, "bin", "tunelab.js"), "workshop", "--notebook-dir", anaDir], { cwd: anaDir, env, urlTimeoutMs: 120_000 });
  try {
    const url = await ws.url;
    for (const n of ["00-setup", "02-asha"]) {
      const r = await runNotebook(url, `${n}.ipynb`, `built-${n}`);
      assert.deepEqual(errorsOf(r.cells), [], n);
      assert.match(textOf(r.cells), /team team-a, member ana, backend local/, n);
    }
    assert.deepEqual(fs.readdirSync(path.join(course.teams[0].teamFolder, "rows")), ["ana-asha.json"]);
  } finally {
    await ws.interrupt();
  }
});
