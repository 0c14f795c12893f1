/**
 * The warm fine-tuning GPU runs (2026-12-04, data/results/gpu/finetune-warm-2026-12-03
 * and finetune-warm2-2026-12-04, the second call with the workshop default TPE + ASHA):
 * its recorded report lines, fed in the same order to a fresh ASHA scheduler
 * built from each run's own experiment.json (same seed), give exactly the
 * stops the run made, at the rungs its configuration implies (R = 20 budget units).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { replayAshaStops } from "./asha-replay";

const ROOT = path.resolve(__dirname, "../../data/results/gpu/finetune-warm-2026-12-03");

// tpe-asha-default: η=2 with 3 brackets (rungs 1…16, 2…16, 4…16), so every cut is at one of 1, 2, 4, 8, 16
for (const [run, rungs] of [["asha-workshop", [1, 2, 4, 8, 16]], ["asha-default", [1, 4, 16]], ["tpe-asha-workshop", [1, 2, 4, 8, 16]], ["../finetune-warm2-2026-12-04/tpe-asha-default", [1, 2, 4, 8, 16]]] as const) {
  test(`replaying the warm fine-tuning run ${run}: the same ASHA stops (trial and rung), cuts only at rungs ${rungs.join(", ")}`, () => {
    const { cfg, recorded, replayed } = replayAshaStops(path.join(ROOT, run));
    assert.equal(cfg.trainer.epochs * 4, 20, "5 epochs evaluated every 0.25 epoch");
    const cuts = recorded.filter((s) => Number(s.split("@")[1]) < 20);
    assert.ok(cuts.length >= 4, `the run cut trials below R (${cuts.join(" ")})`);
    assert.deepEqual(replayed, recorded);
    // a stop at R = 20 is the end of training, not a cut
    for (const s of recorded) assert.ok([...rungs, 20].includes(Number(s.split("@")[1])), s);
  });
}
