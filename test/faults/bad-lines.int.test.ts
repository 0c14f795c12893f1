/**
 * A trainer that writes every kind of bad line (test/faults/fixtures/bad_trainer.py):
 * not JSON, arrays, no t, t as a string / NaN / 1e999, invalid UTF-8, a
 * 100 kB line, blank lines, a torn line glued to the next report, a CRLF
 * report, a torn last line at exit, and reports whose metrics are Python's
 * bare NaN / Infinity / -Infinity. Every report is recorded once, every bad
 * line is listed as rejected with its reason, blank lines are neither; and
 * a NaN at an ASHA rung is decided (the run ends), not dropped.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { readJournal } from "../../src/experiment/journal";
import type { ExperimentEvent } from "../../src/experiment/events";
import { BAD_TRAINER, cleanupAll, decisions, journalLines, ledger, runCli, startCli, tableRow, tmpDir, total, until, writeExp } from "./helpers";

after(cleanupAll);

function writtenLog(runDir: string): Array<{ kind: string; expect: string }> {
  const out: Array<{ kind: string; expect: string }> = [];
  for (const id of fs.readdirSync(path.join(runDir, "trials")).sort()) {
    const f = path.join(runDir, "trials", id, "written.jsonl");
    if (fs.existsSync(f)) for (const l of fs.readFileSync(f, "utf8").split("\n").filter(Boolean)) out.push(JSON.parse(l));
  }
  return out;
}

test("every kind of bad line: each report recorded once, each bad line rejected with its reason, NaN/Infinity as the trainer meant", async () => {
  const dir = tmpDir();
  const runDir = path.join(dir, "run");
  const f = writeExp(dir, { name: "badlines", runDir, method: { kind: "grid" }, space: { lr: { grid: [0.01, 0.001] } }, samples: 2, maxConcurrent: 2, epochs: 10, trainer: BAD_TRAINER, options: { nan_at: 3 } });
  const r = await runCli(["run", f, "--poll", "50"]);
  assert.equal(r.code, 0, r.stderr);
  const rows = ledger(runDir);
  const log = writtenLog(runDir);
  const t = total(rows);
  assert.equal(t.recorded, log.filter((x) => x.expect === "report").length, "every report line recorded");
  assert.equal(t.rejected, log.filter((x) => x.expect === "rejected").length, "every bad line rejected");
  assert.equal(t.recorded, 20);
  assert.equal(t.lost + t.duplicated, 0);
  const evs = readJournal(path.join(runDir, "journal.jsonl")).events;
  const rej = evs.filter((e) => e.type === "report_rejected") as Array<Extract<ExperimentEvent, { type: "report_rejected" }>>;
  const reasons = rej.map((e) => e.reason);
  for (const re of [/not JSON: not json at all/, /not an object: \[1, 2, 3\]/, /"t" must be a number \(finite\), got nothing/, /"t" must be a number \(finite\), got "3"/,
    /"t" must be a number \(finite\), got NaN: \{"t": NaN/, /"t" must be a number \(finite\), got Infinity: \{"t": 1e999/, /torn line \(never completed; a later report was written after it\): \{"t": 1, "eval_lo/,
    /torn last line \(the trainer ended before finishing it\): \{"t": 11/]) {
    assert.ok(reasons.some((x) => re.test(x)), `a rejection matching ${re}: ${JSON.stringify(reasons, null, 1)}`);
  }
  assert.ok(rej.every((e) => e.record > 0 && e.offset >= 0), "each rejection names its place in the file");
  // NaN, Infinity and -Infinity reached the journal as numbers
  const reps = evs.filter((e) => e.type === "report") as Array<Extract<ExperimentEvent, { type: "report" }>>;
  const at3 = reps.filter((e) => e.report.t === 3);
  assert.equal(at3.length, 2);
  assert.ok(at3.every((e) => Number.isNaN(e.report.eval_loss)), "NaN recorded as NaN");
  assert.ok(reps.filter((e) => e.report.t % 2 === 1).every((e) => e.report.train_loss === Infinity));
  assert.ok(reps.filter((e) => e.report.t % 2 === 0).every((e) => e.report.train_loss === -Infinity));
  // blank lines are not records; the CRLF report and the one glued to a torn line are
  assert.equal(log.filter((x) => x.kind === "blank").length, 2);
  assert.equal(reps.filter((e) => e.report.t === 1).length, 2);
  tableRow("bad lines (every kind, NaN/±Infinity, torn, CRLF, 100 kB)", rows);
});

test("bad lines + kill -9 of the driver + attach: the adopted reader resumes after the rejected lines too", async () => {
  const dir = tmpDir();
  const runDir = path.join(dir, "run");
  const f = writeExp(dir, { name: "badkill", runDir, method: { kind: "grid" }, space: { lr: { grid: [0.01, 0.001, 0.0001] } }, samples: 3, maxConcurrent: 3, epochs: 10, trainer: BAD_TRAINER, options: { step_s: 0.08 } });
  const a = startCli(["run", f, "--poll", "50"]);
  // kill once a good part of the trials' lines are journaled
  await until(() => journalLines(runDir) >= 25);
  a.child.kill("SIGKILL");
  await a.done;
  const r = await runCli(["attach", runDir, "--poll", "50"]);
  assert.equal(r.code, 0, r.stderr);
  const rows = ledger(runDir);
  const t = total(rows);
  assert.equal(t.recorded, 30);
  assert.equal(t.rejected, writtenLog(runDir).filter((x) => x.expect === "rejected").length);
  assert.equal(t.lost + t.duplicated, 0);
  tableRow("bad lines + kill -9 + attach", rows, "1 kill, 1 resume");
});

test("NaN at an ASHA rung: the trainer waiting there gets its decision and the run ends", async () => {
  const dir = tmpDir();
  const runDir = path.join(dir, "run");
  const f = writeExp(dir, { name: "nanrung", runDir, method: { kind: "asha", reductionFactor: 2 }, samples: 4, maxConcurrent: 2, epochs: 4, trainer: BAD_TRAINER, options: { nan_at: 1, bad: false } });
  const r = await runCli(["run", f, "--poll", "50"]);
  assert.equal(r.code, 0, r.stderr);
  const ds = decisions(runDir);
  // every trial reported NaN at rung 1 and was answered there
  for (const id of ["t000", "t001", "t002", "t003"]) assert.ok(ds.some((d) => d.startsWith(`${id}@1:`)), `${id} decided at rung 1: ${ds.join(", ")}`);
  const rows = ledger(runDir);
  assert.equal(total(rows).lost + total(rows).duplicated, 0);
  tableRow("NaN at an ASHA rung", rows, "decided, run ended");
});
