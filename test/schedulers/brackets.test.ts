import { test } from "node:test";
import * as assert from "node:assert/strict";
import { hyperbandSMax1, hyperbandStages, hyperbandR0 } from "../../src/schedulers";

/** Bracket by bracket, stages as "n@r" joined by " → ", "skipped" for r0 = 0: docs/brackets.md's tunelab column. */
function layout(R: number, eta: number): string {
  const m = hyperbandSMax1(R, eta);
  const out: string[] = [];
  for (let s = 0; s < m; s++) out.push(hyperbandR0(R, eta, s) === 0 ? "skipped" : hyperbandStages(R, eta, s, m).map(([n, r]) => `${n}@${r}`).join(" → "));
  return out.join("; ");
}

test("bracket layouts equal docs/brackets.md's tunelab column (every bracket ends at R)", () => {
  assert.equal(layout(5, 4), "2@5; 4@1 → 1@5");
  assert.equal(layout(8, 2), "4@8; 4@4 → 2@8; 6@2 → 3@4 → 2@8; 8@1 → 4@2 → 2@4 → 1@8");
  assert.equal(layout(10, 3), "3@10; 5@3 → 2@10; 9@1 → 3@3 → 1@10");
  assert.equal(layout(10, 2), "4@10; 4@5 → 2@10; 6@2 → 3@5 → 2@10; 8@1 → 4@2 → 2@5 → 1@10");
  assert.equal(layout(20, 3), "4@20; 6@6 → 2@20; 12@2 → 4@6 → 2@20; skipped");
  assert.equal(layout(81, 3), "5@81; 8@27 → 3@81; 15@9 → 5@27 → 2@81; 34@3 → 12@9 → 4@27 → 2@81; 81@1 → 27@3 → 9@9 → 3@27 → 1@81");
});
