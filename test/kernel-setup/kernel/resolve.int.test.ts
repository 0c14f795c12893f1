/**
 * A notebook outside the repository (no node_modules above it), run by the
 * real kernel under nbclient: `tunelab` resolves for the code and for tslab's
 * type check, with no link or NODE_PATH made by the user.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { JupyterSandbox, PY, ROOT, Ran, ensureBuilt, jupyterSandbox, runProcess } from "../helpers";
import { installedAbove } from "../../../kernel-setup/kernel/resolve";

let sandbox: JupyterSandbox;
let folder: string;
let ran: Ran;
let nb: any;

const cell = (source: string) => ({ cell_type: "code", id: `c${Math.random().toString(36).slice(2, 8)}`, metadata: {}, source, outputs: [], execution_count: null });

before(async () => {
  ensureBuilt();
  sandbox = jupyterSandbox();
  // Like an instructor's copy in /srv/course/team-a/ana/: nothing of the repository above it.
  folder = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-course-")), "team-a", "ana");
  fs.mkdirSync(folder, { recursive: true });
  const input = {
    nbformat: 4, nbformat_minor: 5,
    metadata: { kernelspec: { name: "tunelab", display_name: "TypeScript (tunelab)", language: "typescript" } },
    cells: [
      cell(`import { experiment, results, parseExperiment } from "tunelab";\nconsole.log(typeof experiment, typeof results.compare, typeof parseExperiment);`),
      // A wrong field type must be caught by the type checker: the types resolved, not \`any\`.
      cell(`import type { ExperimentConfig } from "tunelab";\nconst bad: ExperimentConfig["samples"] = "twelve";`),
      cell(`console.log(require.resolve("tunelab"));`),
    ],
  };
  const inFile = path.join(folder, "new.ipynb");
  fs.writeFileSync(inFile, JSON.stringify(input));
  const out = path.join(folder, "out.ipynb");
  ran = await runProcess(PY, [path.join(ROOT, "test/kernel-setup/py/run_notebook_allow_errors.py"), inFile, out, folder], {
    env: sandbox.env, cwd: folder, timeoutMs: 180_000,
  });
  if (fs.existsSync(out)) nb = JSON.parse(fs.readFileSync(out, "utf8"));
});

after(() => {
  sandbox?.cleanup();
  if (folder) fs.rmSync(path.dirname(path.dirname(folder)), { recursive: true, force: true });
});

test("the folder has no node_modules/tunelab above it (the premise)", () => {
  assert.equal(installedAbove(folder), null);
});

test("a notebook outside the repository imports tunelab and runs it", () => {
  assert.equal(ran.code, 0, ran.stderr.slice(-3000));
  const text = nb.cells[0].outputs.map((o: any) => [].concat(o.text ?? o.evalue ?? "").join("")).join("");
  assert.equal(text, "function function function\n");
});

test("tslab's type check sees tunelab's real types there (a wrong field type is TS2322)", () => {
  const err = nb.cells[1].outputs.find((o: any) => o.output_type === "error");
  assert.ok(err, `expected a type error, got ${JSON.stringify(nb.cells[1].outputs)}`);
  assert.match(err.evalue + err.traceback.join("\n"), /2322|not assignable to type 'number'/);
});

test("require in a cell resolves tunelab to the kernel's own package", () => {
  const text = nb.cells[2].outputs.map((o: any) => [].concat(o.text ?? "").join("")).join("").trim();
  assert.equal(text, path.join(ROOT, "dist", "src", "index.js"));
});
