/**
 * The HuggingFace path (tiny-bloom through Trainer). Runs whenever the test
 * python can import transformers; otherwise it is SKIPPED (not passed) with
 * the reason. On the GPU machine the same checks run through
 * src/trainer/gpu_check.py (no node there); its record is data/bench/trainer-gpu.json.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { PYTHON, killAll, pythonHas, readReports, runTrainer, tmpRoot, writeTrial } from "./helpers";

const has = pythonHas("transformers");
const skip = has ? false : `${PYTHON} cannot import transformers (Debian has no package for it); see data/bench/trainer-gpu.json for the GPU run`;
const root = tmpRoot();
after(() => {
  killAll();
  fs.rmSync(root, { recursive: true, force: true });
});

test("tiny-bloom through HF Trainer: per-epoch reports, then restore with a new lr", { skip }, async () => {
  const small = { model: "tiny-bloom", train_examples: 64, eval_examples: 16, max_length: 128, hidden_size: 64, n_layer: 2, n_head: 4 };
  const a = path.join(root, "A");
  writeTrial(a, { max_t: 2, config: { lr: 1e-3, bs: 4 }, trainer: small });
  const ra = await runTrainer(a);
  assert.equal(ra.code, 0, ra.stderr);
  const la = readReports(a);
  assert.deepEqual(la.map((x) => x.t), [1, 2]);
  assert.equal(la[0].dataset, "corpus");
  assert.ok(fs.existsSync(path.join(a, "checkpoints/t0002/optimizer.pt")));
  const b = path.join(root, "B");
  writeTrial(b, { max_t: 3, start_t: 2, restore_from: path.join(a, "checkpoints/t0002"), config: { lr: 2e-4, bs: 4 }, trainer: small });
  const rb = await runTrainer(b);
  assert.equal(rb.code, 0, rb.stderr);
  const lb = readReports(b);
  assert.deepEqual(lb.map((x) => x.t), [3]);
  assert.equal(lb[0].config_lr, 2e-4);
  // continues from the checkpoint: below the first (from-scratch) epoch's loss
  assert.ok((lb[0].eval_loss as number) < (la[0].eval_loss as number), `${lb[0].eval_loss} vs ${la[0].eval_loss}`);
});

test("a hub model without transformers or hub gives a clear error", async () => {
  const d = path.join(root, "E");
  writeTrial(d, { trainer: { model: "bigscience/bloomz-560m" } });
  const r = await runTrainer(d);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, has ? /tunelab-trainer: error: cannot load model/ : /tunelab-trainer: error: model 'bigscience\/bloomz-560m' needs the `transformers` package/);
});
