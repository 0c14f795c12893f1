/**
 * Corrupt bytes in journal.jsonl (issue 14 defect 3): a flipped digit in a
 * report line (still valid JSON: only the per-line CRC sees it), garbage
 * over a trial_added line, and a line cut in two. Each is reported by line
 * and byte offset, what it held is recovered from the trial directories,
 * and `tunelab attach` finishes the run with the uninterrupted run's
 * decisions and summary; `tunelab status` of the result agrees.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { readJournal } from "../../src/experiment/journal";
import { readRun } from "../../src/cli/main";
import { cleanupAll, decisions, ledger, runCli, summaryOf, tableRow, timeless, tmpDir, total, writeExp } from "./helpers";

after(cleanupAll);

const exp = (dir: string, runDir: string) => writeExp(dir, { name: "corrupt", runDir, samples: 6, maxConcurrent: 1, epochs: 4 });
let ref: { decisions: string[]; summary: unknown };

before(async () => {
  const dir = tmpDir();
  const runDir = path.join(dir, "run");
  const r = await runCli(["run", exp(dir, runDir), "--poll", "30"]);
  assert.equal(r.code, 0, r.stderr);
  ref = { decisions: decisions(runDir), summary: timeless(summaryOf(runDir)) };
});

/** A run killed late (after its 14th snapshot): the journal then holds finished trials to corrupt. */
async function killedRun(): Promise<string> {
  const dir = tmpDir();
  const runDir = path.join(dir, "run");
  const r = await runCli(["run", exp(dir, runDir), "--poll", "30"], { env: { TUNELAB_FAULT: "journal-snapshot:14" } });
  assert.equal(r.signal, "SIGKILL");
  return runDir;
}

function lines(runDir: string): string[] {
  return fs.readFileSync(path.join(runDir, "journal.jsonl"), "utf8").split("\n");
}
function write(runDir: string, ls: string[]): void {
  fs.writeFileSync(path.join(runDir, "journal.jsonl"), ls.join("\n"));
}

const CASES: Array<[string, (ls: string[]) => number[]]> = [
  ["a flipped digit in a report line (valid JSON, wrong CRC)", (ls) => {
    const i = ls.findIndex((l) => l.includes('"type":"report"') && l.includes('"trialId":"t000"') && l.includes('"t":2'));
    ls[i] = ls[i].replace(/"eval_loss":(\d)/, (_m, d) => `"eval_loss":${(Number(d) + 1) % 10}`);
    return [i];
  }],
  ["garbage over the trial_added line of a finished trial", (ls) => {
    const i = ls.findIndex((l) => l.includes('"type":"trial_added"') && l.includes('"trialId":"t001"'));
    ls[i] = "\u0000\u0000garbage" + ls[i].slice(9);
    return [i];
  }],
  ["a report line cut in two, and the next report garbled", (ls) => {
    const i = ls.findIndex((l) => l.includes('"type":"report"') && l.includes('"trialId":"t000"') && l.includes('"t":3,'));
    ls.splice(i, 1, ls[i].slice(0, 40), ls[i].slice(40));
    const j = ls.findIndex((l) => l.includes('"type":"report"') && l.includes('"trialId":"t000"') && l.includes('"t":4,'));
    ls[j] = ls[j].slice(0, 30) + "#" + ls[j].slice(31);
    return [i, i + 1, j];
  }],
];

for (const [name, corrupt] of CASES) {
  test(`corrupt journal: ${name}: reported by position, recovered from the trial dirs, attach finishes exactly`, async () => {
    const runDir = await killedRun();
    const ls = lines(runDir);
    const idx = corrupt(ls);
    write(runDir, ls);
    const j = readJournal(path.join(runDir, "journal.jsonl"));
    assert.deepEqual(j.corrupt.map((c) => c.line), idx.map((i) => i + 1), "the corrupt lines, by number");
    assert.ok(j.corrupt.every((c) => c.offset > 0 && c.reason.length > 0));
    assert.ok(j.recovered.length >= 1, "something was recovered");
    const r = await runCli(["attach", runDir, "--poll", "30"]);
    assert.equal(r.code, 0, r.stderr);
    for (const c of j.corrupt) assert.match(r.stderr, new RegExp(`journal\\.jsonl line ${c.line} \\(byte ${c.offset}\\) is corrupt: `));
    assert.match(r.stderr, /recovered: t00\d: (report t=\d|trial_added) recovered from trials\/t00\d\//);
    assert.deepEqual(decisions(runDir), ref.decisions);
    // a finished trial's ASHA bracket lives only in its trial_added line (not in its trial dir, and the
    // scheduler forgets it when the trial ends): when that line is lost, so is the bracket, nothing else
    const lostAdd = j.recovered.filter((n) => n.includes("trial_added")).map((n) => n.slice(0, 4));
    const noBracket = (s: unknown) => {
      const c = JSON.parse(JSON.stringify(s));
      for (const t of c.trials) if (lostAdd.includes(t.trial_id)) delete t.bracket;
      return c;
    };
    assert.deepEqual(noBracket(timeless(summaryOf(runDir))), noBracket(ref.summary));
    // status reads the same journal (with its corrupt lines) and agrees
    assert.deepEqual(noBracket(timeless(readRun(runDir).summary)), noBracket(ref.summary));
    const rows = ledger(runDir);
    assert.equal(total(rows).lost + total(rows).duplicated, 0);
    tableRow(`corrupt journal: ${name}`, rows, `${j.corrupt.length} corrupt line(s) found, ${j.recovered.length} record(s) recovered`);
  });
}
