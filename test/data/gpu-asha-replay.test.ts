/**
 * Issue 8: the recorded GPU run's ASHA decisions are reproduced when its
 * recorded report lines are fed, in the same order, to a fresh ASHA
 * scheduler built from the run's own experiment.json (same seed).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { replayAshaStops } from "./asha-replay";

const dir = path.resolve(__dirname, "../../data/results/gpu/asha-workshop");

test("replaying the GPU run's recorded reports reproduces its ASHA stops (same trials, same rungs)", () => {
  const { recorded, replayed } = replayAshaStops(dir);
  assert.ok(recorded.length >= 8, `the recorded run has stop decisions (${recorded.length})`);
  assert.deepEqual(replayed, recorded);
  // and the cut ones were cut at rungs 1, 2 or 4 (the workshop's g=1, η=2, R=5)
  for (const s of recorded) assert.ok(["1", "2", "4", "5"].includes(s.split("@")[1]), s);
});
