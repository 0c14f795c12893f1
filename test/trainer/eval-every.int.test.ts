/**
 * trainer.evalEvery with the real small trainer (issue 15): t counts
 * evaluations, the training underneath is the same steps in the same order.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { FAST, killAll, readReports, runTrainer, tmpRoot, writeTrial } from "./helpers";

const root = tmpRoot();
after(() => {
  killAll();
  fs.rmSync(root, { recursive: true, force: true });
});
const dirOf = (name: string) => path.join(root, name);
// 8192 tokens / (16 × 64) = 8 steps per epoch
const EIGHT = { model: "small", ...FAST };

describe("trainer.evalEvery (small model, CPU)", () => {
  test("a quarter epoch: 4 reports per epoch, 2 steps each; every 4th is the per-epoch run's report", async () => {
    const q = dirOf("quarter");
    writeTrial(q, { max_t: 8, trainer: { ...EIGHT, evalEvery: 0.25 } });
    const rq = await runTrainer(q);
    assert.equal(rq.code, 0, rq.stderr);
    const quarter = readReports(q);
    assert.deepEqual(quarter.map((x) => x.t), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(quarter.map((x) => x.steps), [2, 2, 2, 2, 2, 2, 2, 2]);
    assert.deepEqual(quarter.map((x) => x.epoch), [0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2]);
    // start-up is reported once per run, apart from training
    assert.equal(typeof quarter[0].startup_s, "number");
    assert.equal(quarter.slice(1).some((x) => "startup_s" in x), false);
    const e = dirOf("epochs");
    writeTrial(e, { max_t: 2, trainer: EIGHT });
    assert.equal((await runTrainer(e)).code, 0);
    const epochs = readReports(e);
    assert.equal(epochs[0].steps, 8);
    assert.equal("epoch" in epochs[0], false);
    // same seed, same steps on the same windows: evaluating in between changes nothing
    assert.ok(Math.abs((quarter[3].eval_loss as number) - (epochs[0].eval_loss as number)) < 1e-6, `${quarter[3].eval_loss} vs ${epochs[0].eval_loss}`);
    assert.ok(Math.abs((quarter[7].eval_loss as number) - (epochs[1].eval_loss as number)) < 1e-6, `${quarter[7].eval_loss} vs ${epochs[1].eval_loss}`);
  });

  test("restore at a fraction of an epoch continues the same curve", async () => {
    const a = dirOf("frac-a");
    writeTrial(a, { max_t: 6, trainer: { ...EIGHT, evalEvery: 0.5 } });
    assert.equal((await runTrainer(a)).code, 0);
    const whole = readReports(a);
    const b = dirOf("frac-b");
    writeTrial(b, { max_t: 3, pause_at: [], trainer: { ...EIGHT, evalEvery: 0.5 } });
    assert.equal((await runTrainer(b)).code, 0);
    // t=3 is mid-epoch 2: the resumed run trains epoch 2's second half, then epoch 3
    writeTrial(b, { max_t: 6, start_t: 3, restore_from: "checkpoints/t0003.pt", trainer: { ...EIGHT, evalEvery: 0.5 } });
    const r = await runTrainer(b);
    assert.equal(r.code, 0, r.stderr);
    const resumed = readReports(b);
    assert.deepEqual(resumed.map((x) => x.t), [1, 2, 3, 4, 5, 6]);
    for (let i = 0; i < 6; i++) {
      assert.ok(Math.abs((resumed[i].eval_loss as number) - (whole[i].eval_loss as number)) < 1e-6, `t=${i + 1}: ${resumed[i].eval_loss} vs ${whole[i].eval_loss}`);
    }
  });

  test("steps: every 3 steps across epochs (8 steps each)", async () => {
    const d = dirOf("steps");
    writeTrial(d, { max_t: 6, trainer: { ...EIGHT, steps_per_epoch: 8, evalEvery: 3 } });
    const r = await runTrainer(d);
    assert.equal(r.code, 0, r.stderr);
    const reps = readReports(d);
    assert.deepEqual(reps.map((x) => x.steps), [3, 3, 3, 3, 3, 3]);
    assert.deepEqual(reps.map((x) => x.epoch), [0.375, 0.75, 1.125, 1.5, 1.875, 2.25]);
  });

  test("bad evalEvery: exit 2 naming the field, the value and what is accepted", async () => {
    const d = dirOf("bad");
    writeTrial(d, { trainer: { ...EIGHT, evalEvery: 0.3 } });
    const r = await runTrainer(d);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), "tunelab-trainer: error: trainer.evalEvery 0.3: a fraction of an epoch must be 1/k for a whole k (0.5, 0.25, 0.2, 0.1, ...)");
  });
});
