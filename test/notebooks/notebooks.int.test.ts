/**
 * Executes EVERY workshop notebook on the real tunelab kernel with nbclient
 * (a real Jupyter client, store_widget_state=True), in workshop order, the
 * way a team member would: 02-asha on the embedded default (local backend +
 * the real small trainer), the other experiment notebooks on replay of the
 * recorded curves; then 05-comparison merges the rows from the team folder.
 * Also executes an instructor-built copy, and renders every executed
 * notebook in headless Chromium for screenshots (test-artifacts/notebooks/).
 *
 * Needs dist/ (npx tsc -p .) and the "tunelab" package entry (dist/src/index.js).
 * TUNELAB_NOTEBOOK_PKG=<dir> points the notebooks at another package dir (a shim while the entry is missing).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { ensureBuilt, jupyterSandbox, runProcess, PY, type JupyterSandbox } from "../kernel-setup/helpers";
import { buildNotebooks, cellTags, type Notebook } from "../../src/cli/notebooks";
import { compare, parseRow, type ComparisonRow } from "../../src/results";
import { formatRatio } from "../../src/results/format";
import { MARKDOWN_COLUMNS } from "../../src/results/compare";

const ROOT = path.resolve(__dirname, "../..");
const ARTIFACTS = path.join(ROOT, "test-artifacts", "notebooks");
const CURVES = path.join(ROOT, "data/curves/small-cpu.csv");
const REPLAY = JSON.stringify({ kind: "replay", curves: CURVES });
/** 02-asha runs for real; the rest replay (seconds). */
const PLAN: Array<[string, "replay" | "local"]> = [
  ["00-setup", "replay"], ["01-manual", "replay"], ["02-asha", "local"], ["03-pbt", "replay"], ["04-bohb", "replay"], ["05-comparison", "replay"],
];

let sandbox: JupyterSandbox;
let nbDir: string;
let teamDir: string;
const executed = new Map<string, { nb: any; status: { ok: boolean; error: string | null }; stderr: string }>();

function linkPackage(dir: string): void {
  const pkg = process.env.TUNELAB_NOTEBOOK_PKG ?? ROOT;
  fs.mkdirSync(path.join(dir, "node_modules"), { recursive: true });
  fs.symlinkSync(pkg, path.join(dir, "node_modules", "tunelab"), "dir");
}

async function execute(src: string, out: string, env: Record<string, string>, timeoutS: number) {
  const r = await runProcess(PY, [path.join(__dirname, "run_notebook.py"), src, out, String(timeoutS)], {
    env: { ...sandbox.env, ...env }, cwd: path.dirname(src), timeoutMs: (timeoutS + 60) * 1000,
  });
  const last = r.stdout.trim().split("\n").pop() ?? "";
  let status: { ok: boolean; error: string | null };
  try {
    status = JSON.parse(last);
  } catch {
    status = { ok: false, error: `runner: rc ${r.code}\n${r.stdout}\n${r.stderr}`.slice(-4000) };
  }
  const nb = fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, "utf8")) : null;
  return { nb, status, stderr: r.stderr };
}

/** Trainer processes of this test that outlived their kernel (none expected): killed, counted. */
function killStrays(base: string): number {
  let n = 0;
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const env = fs.readFileSync(`/proc/${pid}/environ`, "utf8");
      if (env.includes(`TUNELAB_TRIAL_DIR=${base}`)) {
        process.kill(Number(pid), "SIGKILL");
        n++;
      }
    } catch { /* gone or not ours */ }
  }
  return n;
}

function outputs(nb: any): any[] {
  return nb.cells.filter((c: any) => c.cell_type === "code").flatMap((c: any) => c.outputs);
}
/** nbformat stores multi-line strings as arrays of lines */
const str = (x: unknown): string => (Array.isArray(x) ? x.join("") : typeof x === "string" ? x : "");
function text(nb: any): string {
  return outputs(nb).map((o: any) => str(o.text) + str(o.data?.["text/plain"]) + str(o.data?.["text/markdown"])).join("\n");
}
function widgetState(nb: any): Record<string, any> {
  return nb.metadata?.widgets?.["application/vnd.jupyter.widget-state+json"]?.state ?? {};
}

before(async () => {
  ensureBuilt();
  const entry = path.join(process.env.TUNELAB_NOTEBOOK_PKG ?? ROOT, process.env.TUNELAB_NOTEBOOK_PKG ? "index.js" : "dist/src/index.js");
  assert.ok(fs.existsSync(entry), `the tunelab package entry ${entry} is missing (src/index.ts not written/built yet)`);
  sandbox = jupyterSandbox();
  nbDir = path.join(sandbox.dir, "work", "notebooks");
  teamDir = path.join(sandbox.dir, "work", "team");
  fs.mkdirSync(nbDir, { recursive: true });
  linkPackage(path.join(sandbox.dir, "work"));
  for (const [name] of PLAN) fs.copyFileSync(path.join(ROOT, "notebooks", `${name}.ipynb`), path.join(nbDir, `${name}.ipynb`));
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  for (const [name, backend] of PLAN) {
    const env: Record<string, string> = { TUNELAB_TEAM_FOLDER: teamDir };
    if (backend === "replay") env.TUNELAB_BACKEND = REPLAY;
    const out = path.join(ARTIFACTS, `${name}.executed.ipynb`);
    executed.set(name, await execute(path.join(nbDir, `${name}.ipynb`), out, env, backend === "local" ? 480 : 180));
  }
});

after(() => {
  if (sandbox) {
    killStrays(sandbox.dir);
    sandbox.cleanup();
  }
});

for (const [name, backend] of PLAN) {
  test(`${name} runs top to bottom on ${backend === "local" ? "the local backend with the real small trainer" : "replay"} without errors`, () => {
    const r = executed.get(name)!;
    assert.ok(r.status.ok, `${name}: ${r.status.error}`);
    const errors = outputs(r.nb).filter((o: any) => o.output_type === "error");
    assert.deepEqual(errors.map((e: any) => `${e.ename}: ${e.evalue}`), []);
    assert.ok(r.nb.cells.filter((c: any) => c.cell_type === "code").every((c: any) => c.execution_count !== null), "every code cell ran");
  });
}

test("widget state is stored for the setup check and for every experiment's live view and quiz", () => {
  for (const name of ["00-setup", "01-manual", "02-asha", "03-pbt", "04-bohb"]) {
    const nb = executed.get(name)!.nb;
    const state = widgetState(nb);
    const views = outputs(nb).filter((o: any) => o.data?.["application/vnd.jupyter.widget-view+json"]).map((o: any) => o.data["application/vnd.jupyter.widget-view+json"].model_id);
    assert.ok(views.length >= 1, `${name}: no widget view output`);
    for (const id of views) assert.ok(state[id], `${name}: widget ${id} has no saved state`);
    if (name !== "00-setup" && name !== "01-manual") {
      // the live experiment view and the quiz
      assert.ok(views.length >= 2, `${name}: ${views.length} widget views`);
    }
  }
});

test("the saved live view of each method shows the final picture: the last update replaced the placeholder shown by exp.show()", () => {
  for (const name of ["02-asha", "03-pbt", "04-bohb"]) {
    const html = (o: any) => [o.data?.["text/html"] ?? ""].flat().join("");
    const views = outputs(executed.get(name)!.nb).filter((o: any) => /class="tunelab-experiment"/.test(html(o)));
    assert.equal(views.length, 1, `${name}: one live view output`);
    assert.equal(views[0].output_type, "display_data", `${name}: shown as display_data so it can be updated`);
    const m = /data-points="(\d+)" data-state="([a-z_]+)"/.exec(html(views[0]));
    assert.ok(m && Number(m[1]) > 0 && m[2] === "finished", `${name}: saved view says ${m?.[0]}`);
    assert.match([views[0].data["image/svg+xml"]].flat().join(""), /aria-roledescription="line mark"/, `${name}: the SVG fallback is the learning-curves picture`);
  }
});

test("ConfigError for a refused range is shown, with the reason", () => {
  for (const name of ["02-asha", "03-pbt", "04-bohb"]) {
    assert.match(text(executed.get(name)!.nb), /ConfigError: invalid experiment config:\s+space\.lr\.loguniform: got \[0, 0\.01\]/);
  }
});

test("the interpretation cells show the method's decisions", () => {
  assert.match(text(executed.get("02-asha")!.nb), /trials that reached each rung[\s\S]*\| t \| reached \| cut \|/);
  assert.match(text(executed.get("03-pbt")!.nb), /where the weights of t\d+ come from/);
  assert.match(text(executed.get("04-bohb")!.nb), /of \d+ configuration\(s\) proposed by the model/);
});

test("every method notebook wrote its comparison row to the team folder", () => {
  const files = fs.readdirSync(path.join(teamDir, "rows")).sort();
  assert.deepEqual(files, ["me-asha.json", "me-bohb.json", "me-manual.json", "me-pbt.json"]);
  for (const f of files) {
    const row = parseRow(JSON.parse(fs.readFileSync(path.join(teamDir, "rows", f), "utf8")).row, f);
    assert.equal(row.member, "me");
    assert.ok(row.gpuMinutes > 0, `${f}: gpuMinutes ${row.gpuMinutes}`);
  }
  // the local run really trained: its row says so
  const asha = JSON.parse(fs.readFileSync(path.join(teamDir, "rows", "me-asha.json"), "utf8")).row as ComparisonRow;
  assert.equal(asha.method, "asha");
  assert.ok(asha.bestValue !== null && asha.bestValue > 0 && asha.bestValue < 6, `asha best ${asha.bestValue}`);
});

test("05-comparison exports a well-formed Markdown table whose cost ratios are computed from the rows", () => {
  const md = fs.readFileSync(path.join(nbDir, "exports", "demo-team-summary.md"), "utf8");
  const rows = fs.readdirSync(path.join(teamDir, "rows")).map((f) => JSON.parse(fs.readFileSync(path.join(teamDir, "rows", f), "utf8")).row as ComparisonRow);
  const lines = md.split("\n").filter((l) => l.startsWith("|"));
  const cols = (l: string) => l.replace(/\\\|/g, "").split("|").slice(1, -1).map((c) => c.trim());
  assert.deepEqual(cols(lines[0]), [...MARKDOWN_COLUMNS]);
  assert.match(lines[1], /^\|(-{3}:?\|)+$/);
  assert.equal(lines.length, 2 + rows.length);
  for (const l of lines) assert.equal(cols(l).length, MARKDOWN_COLUMNS.length, l);
  const manual = rows.find((r) => r.method === "manual")!;
  const byType = new Map(compare(rows).rows.map((r) => [r.runType, r]));
  for (const l of lines.slice(2)) {
    const c = cols(l);
    const r = byType.get(c[0]);
    assert.ok(r, `row ${c[0]} not in the team folder`);
    assert.equal(c[5], formatRatio(r.gpuMinutes / manual.gpuMinutes), `${c[0]} cost ratio`);
    assert.equal(c[4], r.gpuMinutes.toFixed(1));
  }
  assert.ok(lines.some((l) => cols(l)[0] === "Manual grid (me)" && cols(l)[5] === "1.00"));
  const discussion = md.split("## Discussion")[1].trim().split("\n");
  assert.ok(discussion.length >= 5 && discussion.length <= 7, discussion.join("\n"));
  const csv = fs.readFileSync(path.join(nbDir, "exports", "demo-team-summary.csv"), "utf8").trim().split("\n");
  assert.equal(csv.length, 1 + rows.length);
  // the chart was rendered (vega-lite + SVG fallback)
  assert.ok(outputs(executed.get("05-comparison")!.nb).some((o: any) => o.data?.["application/vnd.vegalite.v5+json"] && o.data?.["image/svg+xml"]));
});

test("an instructor-built copy executes and keeps the team's settings", async () => {
  const course = {
    course: "test", secret: "test-secret-123",
    teams: [{ name: "team-x", members: ["zoe"], teamFolder: path.join(sandbox.dir, "team-x"), backend: { kind: "replay", curves: CURVES } }],
  };
  const out = path.join(sandbox.dir, "built");
  buildNotebooks({ course, outDir: out });
  linkPackage(out);
  const src = path.join(out, "team-x", "zoe", "00-setup.ipynb");
  const r = await execute(src, path.join(ARTIFACTS, "built-00-setup.executed.ipynb"), {}, 180);
  assert.ok(r.status.ok, String(r.status.error));
  assert.match(text(r.nb), /backend "replay": no cluster to check/);
  assert.match(text(r.nb), new RegExp(`team folder ${path.join(sandbox.dir, "team-x").replace(/[/.]/g, "\\$&")}: 0 row`));
  const quizCell = r.nb.cells.find((c: any) => cellTags(c).includes("quiz"));
  assert.ok(!/"answer":/.test(str(quizCell.source)), "the built quiz has no plain answer");
  assert.ok(quizCell.outputs.some((o: any) => o.data?.["application/vnd.jupyter.widget-view+json"]), "the hashed quiz displays as a widget");
});

test("screenshots of every executed notebook rendered in Chromium (test-artifacts/notebooks/*.png)", async () => {
  const { launchChromium, screenshot } = await import("../widgets/browser/harness");
  const chromium = await launchChromium();
  try {
    for (const [name] of PLAN) {
      const ipynb = path.join(ARTIFACTS, `${name}.executed.ipynb`);
      // render the saved outputs' static fallbacks (SVG/HTML): nbconvert would fetch the widget manager from a CDN
      const nb: Notebook = JSON.parse(fs.readFileSync(ipynb, "utf8"));
      delete nb.metadata.widgets;
      for (const c of nb.cells) for (const o of (c.outputs ?? []) as any[]) {
        if (!o.data) continue;
        delete o.data["application/vnd.jupyter.widget-view+json"];
        const svg = str(o.data["image/svg+xml"]);
        if (svg) {
          // nbconvert 6.5's lab template strips inline SVG (clean_html): show it as an <img> instead
          delete o.data["application/vnd.vegalite.v5+json"];
          delete o.data["image/svg+xml"];
          o.data["text/html"] = `<img src="data:image/svg+xml;base64,${Buffer.from(svg).toString("base64")}">`;
        }
      }
      const tmp = path.join(sandbox.dir, `${name}.static.ipynb`);
      fs.writeFileSync(tmp, JSON.stringify(nb));
      const r = spawnSync(PY, ["-m", "nbconvert", "--to", "html", "--output-dir", ARTIFACTS, "--output", name, tmp], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const html = path.join(ARTIFACTS, `${name}.html`);
      const page = await chromium.browser.newPage();
      await page.setViewport({ width: 1100, height: 900 });
      // the export's scripts (require.js, MathJax) come from CDNs: no JS, no network, static outputs only
      await page.setJavaScriptEnabled(false);
      await page.setRequestInterception(true);
      page.on("request", (req: any) => (req.url().startsWith("file:") || req.url().startsWith("data:") ? req.continue() : req.abort()));
      await page.goto(`file://${html}`, { waitUntil: "domcontentloaded", timeout: 60_000 });
      await page.addStyleTag({ content: "#MathJax_Message{display:none !important}" });
      const png = path.join(ARTIFACTS, `${name}.png`);
      await screenshot(page, png, { fullPage: true });
      await page.close();
      assert.ok(fs.statSync(png).size > 10_000, `${png} is suspiciously small`);
    }
    fs.mkdirSync(path.join(ROOT, "docs", "img"), { recursive: true });
    fs.copyFileSync(path.join(ARTIFACTS, "05-comparison.png"), path.join(ROOT, "docs", "img", "notebook-05-comparison.png"));
  } finally {
    await chromium.close();
  }
});

test("00-setup on a SLURM backend: the cluster check runs from a cell and the team folder lives on the cluster (private cluster over SSH)", async () => {
  const { startCluster } = await import("../support/cluster");
  const cluster = await startCluster({ sshd: true });
  try {
    const s = cluster.ssh;
    const backend = { kind: "slurm", host: s.host, port: s.port, user: s.user, identityFile: s.identityFile, hostKey: s.hostKeyFingerprint, remoteDir: path.join(cluster.base, "runs") };
    const remoteTeam = path.join(cluster.base, "team-on-cluster");
    fs.mkdirSync(path.join(remoteTeam, "rows"), { recursive: true });
    fs.writeFileSync(path.join(remoteTeam, "rows", "ann-asha.json"), JSON.stringify({
      format: "tunelab-team-row/1", member: "ann", method: "asha", written_at: new Date().toISOString(),
      row: { method: "asha", metric: "eval_loss", mode: "min", bestValue: 2.5, bestConfig: null, runtimeMinutes: 1, gpus: 2, gpuMinutes: 2 },
    }));
    const r = await execute(path.join(nbDir, "00-setup.ipynb"), path.join(ARTIFACTS, "00-setup-slurm.executed.ipynb"), {
      TUNELAB_BACKEND: JSON.stringify(backend), TUNELAB_TEAM_FOLDER: JSON.stringify({ cluster: remoteTeam }),
    }, 180);
    assert.ok(r.status.ok, String(r.status.error));
    const out = text(r.nb);
    assert.match(out, /tunelab cluster check/);
    assert.doesNotMatch(out, /no cluster to check/);
    assert.match(out, new RegExp(`team folder ${remoteTeam.replace(/[/.]/g, "\\$&")}: 1 row\\(s\\) so far from ann`));
  } finally {
    await cluster.stop();
  }
});
