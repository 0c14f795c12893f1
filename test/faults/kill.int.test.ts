/**
 * kill -9 of `tunelab run` at chosen points (issue 14 defect 1), then
 * `tunelab attach`: the run finishes with the uninterrupted run's decisions
 * and summary (wall-clock figures aside), every report recorded once.
 * Points are the suite's hook (TUNELAB_FAULT=NAME:N makes the process
 * SIGKILL itself the N-th time it passes NAME) and, for the issue's own
 * reproduction, strace killing the driver at the mkdir of a trial directory.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { cleanupAll, decisions, ledger, ROOT, runCli, summaryOf, tableRow, timeless, tmpDir, total, writeExp } from "./helpers";

after(cleanupAll);

const exp = (dir: string, runDir: string) => writeExp(dir, { name: "kill", runDir, samples: 6, maxConcurrent: 1, epochs: 4 });
let ref: { decisions: string[]; summary: unknown };

before(async () => {
  const dir = tmpDir();
  const runDir = path.join(dir, "run");
  const r = await runCli(["run", exp(dir, runDir), "--poll", "30"]);
  assert.equal(r.code, 0, r.stderr);
  ref = { decisions: decisions(runDir), summary: timeless(summaryOf(runDir)) };
  assert.ok(ref.decisions.some((d) => d.includes(":stop")), "the reference run has ASHA stops");
});

const POINTS: Array<[string, string]> = [
  ["journal-snapshot:1", "right after the first snapshot, before the first trial's submit (the issue's case)"],
  ["journal-snapshot:6", "after a later snapshot"],
  ["local-prepared:3", "trial files written, snapshot not yet"],
  ["local-spawned:2", "trainer spawned, launch.json not yet written"],
  ["journal-snapshot:15", "late in the run"],
];

for (const [point, what] of POINTS) {
  test(`kill -9 at ${point} (${what}), then attach: same decisions and summary as uninterrupted`, async () => {
    const dir = tmpDir();
    const runDir = path.join(dir, "run");
    const r1 = await runCli(["run", exp(dir, runDir), "--poll", "30"], { env: { TUNELAB_FAULT: point } });
    assert.equal(r1.signal, "SIGKILL", `the driver was killed at ${point}: ${r1.stderr}`);
    const r2 = await runCli(["attach", runDir, "--poll", "30"]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual(decisions(runDir), ref.decisions);
    assert.deepEqual(timeless(summaryOf(runDir)), ref.summary);
    const rows = ledger(runDir);
    assert.equal(total(rows).lost + total(rows).duplicated, 0);
    tableRow(`kill -9 at ${point}`, rows, "1 kill, exact resume");
  });
}

test("the issue's reproduction: strace kills the driver at mkdir of trials/t002; attach finishes the run", async (t) => {
  const dir = tmpDir();
  const runDir = path.join(dir, "run");
  const f = exp(dir, runDir);
  const strace = spawnSync("strace", ["-f", "-qq", "-o", "/dev/null", "-P", path.join(runDir, "trials", "t002"), "-e", "trace=mkdir", "-e", "inject=mkdir:signal=KILL",
    process.execPath, "--import", "tsx", path.join(ROOT, "src/cli/main.ts"), "run", f, "--poll", "30"], { encoding: "utf8", cwd: ROOT });
  if (strace.error) return t.skip(`strace not runnable: ${strace.error.message}`);
  assert.ok(!fs.existsSync(path.join(runDir, "summary.json")), `the driver died at the mkdir: ${strace.stderr}`);
  const r2 = await runCli(["attach", runDir, "--poll", "30"]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual(decisions(runDir), ref.decisions);
  assert.deepEqual(timeless(summaryOf(runDir)), ref.summary);
  const rows = ledger(runDir);
  tableRow("strace: SIGKILL at mkdir trials/t002", rows, "1 kill, exact resume");
});
