/**
 * Property (issue 14): kill -9 the driver at random instants of a run, over
 * many seeds, and resume with `tunelab attach` (itself killed again at
 * random for some seeds): the final summary equals the uninterrupted run's
 * (wall-clock figures aside), decisions included, and every report is in
 * the journal exactly once. Real processes: `tunelab run` / `attach` and
 * the fake trainer (local backend); one trial at a time, so the
 * uninterrupted run is deterministic. An instant is drawn as a journal
 * length (kill when the journal reaches it) plus a random 0-40 ms, so kills
 * land all over the run, between and inside batches.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { Rng } from "../../src/space/rng";
import { cleanupAll, decisions, journalLines, ledger, runCli, startCli, summaryOf, tableRow, timeless, tmpDir, total, until, writeExp } from "./helpers";

after(cleanupAll);

const SEEDS = 12;
const exp = (dir: string, runDir: string) => writeExp(dir, { name: "rk", runDir, samples: 5, maxConcurrent: 1, epochs: 4 });
let ref: { decisions: string[]; summary: unknown; lines: number };

before(async () => {
  const dir = tmpDir();
  const runDir = path.join(dir, "run");
  const r = await runCli(["run", exp(dir, runDir), "--poll", "30"]);
  assert.equal(r.code, 0, r.stderr);
  ref = { decisions: decisions(runDir), summary: timeless(summaryOf(runDir)), lines: journalLines(runDir) };
});

test(`random kill -9 over ${SEEDS} seeds: every resume equals the uninterrupted run`, async () => {
  let kills = 0;
  let exact = 0;
  const all: ReturnType<typeof ledger> = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    const rng = new Rng(seed);
    const dir = tmpDir();
    const runDir = path.join(dir, "run");
    // 1 kill for odd seeds, 2 for even ones (the second one kills the attach)
    const plan = seed % 2 ? 1 : 2;
    let args = ["run", exp(dir, runDir), "--poll", "30"];
    for (let k = 0; k < plan; k++) {
      const at = Math.max(1, Math.floor(rng.next() * (ref.lines - 1)));
      const extra = Math.floor(rng.next() * 40);
      const p = startCli(args);
      let ended = false;
      void p.done.then(() => (ended = true));
      await until(() => ended || journalLines(runDir) >= at);
      await new Promise((r) => setTimeout(r, extra));
      if (!ended) {
        p.child.kill("SIGKILL");
        const res = await p.done;
        if (res.signal === "SIGKILL") kills++;
      } else await p.done;
      args = ["attach", runDir, "--poll", "30"];
    }
    const r = await runCli(args);
    assert.equal(r.code, 0, `seed ${seed}: ${r.stderr}`);
    assert.deepEqual(decisions(runDir), ref.decisions, `seed ${seed}: decisions`);
    assert.deepEqual(timeless(summaryOf(runDir)), ref.summary, `seed ${seed}: summary`);
    const rows = ledger(runDir);
    assert.equal(total(rows).lost + total(rows).duplicated, 0, `seed ${seed}`);
    all.push(...rows);
    exact++;
  }
  assert.ok(kills >= SEEDS, `at least one real kill per seed (${kills})`);
  tableRow(`random kill -9 (${SEEDS} seeds)`, all, `${kills} kills, ${exact}/${SEEDS} runs resumed exactly`);
  console.log(`random-kill: ${kills} kills, ${exact} exact resumes of ${SEEDS} runs`);
});
