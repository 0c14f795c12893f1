/**
 * `tunelab export --ray`, `tunelab export --curves` and `tunelab compare`
 * on Ray Tune directories: a real run on the replay backend, and the FIXTURE
 * Ray experiment (built from Ray's formats and the workshop's records; Ray
 * cannot be installed here).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../src/cli/main";

const ROOT = path.join(__dirname, "..", "..");
const ASHA_FIXTURE = path.join(ROOT, "test", "results", "fixtures", "ray", "asha", "bloom_fsdp_tune");
const made: string[] = [];
process.on("exit", () => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });

function io(cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { cwd, stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s), isTTY: false } } };
}

test("tunelab export --ray RUN_DIR OUT, then tunelab compare reads the Ray directory to the run's own row", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-cli-ray-"));
  made.push(dir);
  const spec = {
    name: "cli-ray", seed: 2, space: { lr: { loguniform: [1e-4, 2.2e-2] }, batch_size: { choice: [16, 32] }, weight_decay: { choice: [0] } },
    method: { kind: "asha", reductionFactor: 2 }, samples: 6, maxConcurrent: 3, trainer: { epochs: 5, gpusPerTrial: 1 },
    backend: { kind: "replay", curves: path.join(ROOT, "data", "curves", "small-cpu.csv") },
  };
  fs.writeFileSync(path.join(dir, "exp.json"), JSON.stringify(spec));
  assert.equal(await main(["run", "exp.json"], io(dir).io), 0);
  const ex = io(dir);
  assert.equal(await main(["export", "--ray", "runs/cli-ray", "ray-out"], ex.io), 0);
  assert.match(ex.out.join(""), new RegExp(`^6 trials, \\d+ results → ${path.join(dir, "ray-out").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\n$`));
  const a = io(dir);
  const b = io(dir);
  assert.equal(await main(["compare", "runs/cli-ray"], a.io), 0);
  assert.equal(await main(["compare", "ray-out"], b.io), 0);
  assert.equal(b.out.join(""), a.out.join(""));
  assert.match(a.out.join(""), /\| ASHA \| \d+\.\d{4} \|/);
  // the curves of the exported run (trials that reached the full budget)
  const c = io(dir);
  assert.equal(await main(["export", "--curves", "ray-out", "curves/from-ray.csv"], c.io), 0);
  const csv = fs.readFileSync(path.join(dir, "curves", "from-ray.csv"), "utf8").trim().split("\n");
  assert.equal(csv[0], "batch_size,lr,weight_decay,t,eval_loss,time_s");
  assert.equal(c.out.join(""), `${csv.length - 1} curve rows → ${path.join(dir, "curves", "from-ray.csv")}\n`);
});

test("tunelab compare on the fixture Ray directory: --scope last prints the workshop's published ASHA row; errors exit 1 or 2 naming the file", async () => {
  const c = io(ROOT);
  assert.equal(await main(["compare", ASHA_FIXTURE, "--scope", "last"], c.io), 0);
  assert.equal(c.out.join("").split("\n")[2], "| Ray Best (ASHA) | 9.4901 | 16.6 | 8 | 109.7 | — | lr=1.2039e-5, bs=1, wd=0 |");
  const bad = io(ROOT);
  assert.equal(await main(["compare", ASHA_FIXTURE, "--scope", "best"], bad.io), 2);
  assert.equal(bad.err.join(""), '--scope: got "best"; expected one of full-budget, last, all\n');
  const usage = io(ROOT);
  assert.equal(await main(["export", "--ray", "only-one"], usage.io), 2);
  assert.equal(usage.err.join(""), "usage: tunelab export --ray RUN_DIR OUT | tunelab export --curves RAY_DIR FILE [--method M]\n");
  const missing = io(ROOT);
  const nowhere = path.join(os.tmpdir(), "tunelab-no-such-run-dir");
  assert.equal(await main(["export", "--ray", nowhere, path.join(nowhere, "out")], missing.io), 1);
  assert.equal(missing.err.join(""), `tunelab: ${path.join(nowhere, "experiment.json")}: not found; RUN_DIR must be a tunelab run directory (runs/<name>/)\n`);
});
