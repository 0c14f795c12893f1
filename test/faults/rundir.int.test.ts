/**
 * The run directory (issue 14 defects 2, 4, 7): one driver at a time (a
 * second `tunelab run`, or `attach` while the first lives, is refused with
 * the holder's PID and host; a dead holder's lock is taken over); data is
 * archived, never deleted (a re-run, --overwrite, a folder tunelab did not
 * create); secrets are private (run dir 0700, experiment.json with
 * trainer.env 0600, nothing world-readable).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { acquireRunDirLock, RunDirLockedError } from "../../src/experiment/lock";
import { cleanupAll, journalLines, ledger, lsl, runCli, startCli, tableRow, tmpDir, total, until, writeExp } from "./helpers";

after(cleanupAll);

test("two drivers on one run directory: the second run and an attach are refused naming PID and host; each trial runs once", async () => {
  const dir = tmpDir();
  const runDir = path.join(dir, "run");
  // long enough (3 × 4 × 1.5 s) that both latecomers start while the first driver lives, even on a loaded machine
  const f = writeExp(dir, { name: "twice", runDir, samples: 3, maxConcurrent: 1, epochs: 4, method: { kind: "grid" }, space: { lr: { grid: [0.01, 0.001, 0.0001] } }, options: { step_s: 1.5 } });
  const first = startCli(["run", f, "--poll", "30"]);
  let firstDone = false;
  void first.done.then(() => (firstDone = true));
  await until(() => journalLines(runDir) >= 3);
  const [second, attach] = await Promise.all([runCli(["run", f, "--poll", "30"]), runCli(["attach", runDir, "--poll", "30"])]);
  assert.equal(firstDone, false, `the latecomers ran while the first driver was alive: ${JSON.stringify([second, attach])}`);
  const r1 = await first.done;
  assert.equal(r1.code, 0, r1.stderr);
  const holder = new RegExp(`is in use by another tunelab driver: PID ${first.child.pid} on host ${os.hostname().replace(/[.]/g, "\\.")} \\(run since `);
  assert.equal(second.code, 1);
  assert.match(second.stderr, holder);
  assert.equal(attach.code, 1);
  assert.match(attach.stderr, holder);
  const rows = ledger(runDir);
  assert.deepEqual(rows.map((r) => r.recorded), [4, 4, 4], "each t once per trial (no second driver's runs)");
  for (const id of ["t000", "t001", "t002"]) {
    const ts = fs.readFileSync(path.join(runDir, "trials", id, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l).t);
    assert.deepEqual(ts, [1, 2, 3, 4], `${id}'s metrics.jsonl has no doubled t`);
  }
  assert.ok(!fs.existsSync(path.join(runDir, ".lock")), "the lock is released at the end");
  tableRow("two drivers at once (run + run, run + attach)", rows, "2nd refused with PID and host");
});

test("a lock left by a dead PID on this host is taken over; a live one, or one from another host, is not", () => {
  const dir = tmpDir();
  // a dead PID: a child that has exited
  const dead = 2 ** 22 + 12345;
  fs.writeFileSync(path.join(dir, ".lock"), JSON.stringify({ pid: dead, host: os.hostname(), since: "2026-01-01T00:00:00.000Z" }));
  const lock = acquireRunDirLock(dir);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, ".lock"), "utf8")).pid, process.pid);
  assert.throws(() => acquireRunDirLock(dir), (e: unknown) => e instanceof RunDirLockedError && e.holder.pid === process.pid && /PID \d+ on host /.test(e.message));
  lock.release();
  assert.ok(!fs.existsSync(path.join(dir, ".lock")));
  fs.writeFileSync(path.join(dir, ".lock"), JSON.stringify({ pid: dead, host: "other-host.example", since: "2026-01-01T00:00:00.000Z" }));
  assert.throws(() => acquireRunDirLock(dir), /in use by another tunelab driver: PID 4206649 on host other-host\.example/);
});

test("re-running a finished experiment archives the previous run (nothing deleted); a foreign folder is refused, and archived with --overwrite", async () => {
  const dir = tmpDir();
  const runDir = path.join(dir, "run");
  const f = writeExp(dir, { name: "again", runDir, samples: 2, maxConcurrent: 2, epochs: 2, method: { kind: "grid" }, space: { lr: { grid: [0.01, 0.001] } } });
  assert.equal((await runCli(["run", f, "--poll", "30"])).code, 0);
  const firstJournal = fs.readFileSync(path.join(runDir, "journal.jsonl"), "utf8");
  const r2 = await runCli(["run", f, "--poll", "30"]);
  assert.equal(r2.code, 0, r2.stderr);
  const arch = fs.readdirSync(path.join(runDir, "archive"));
  assert.equal(arch.length, 1);
  const old = path.join(runDir, "archive", arch[0]);
  assert.equal(fs.readFileSync(path.join(old, "journal.jsonl"), "utf8"), firstJournal, "the first run's journal kept byte for byte");
  assert.deepEqual(fs.readdirSync(path.join(old, "trials")).sort(), ["t000", "t001"]);
  assert.ok(fs.existsSync(path.join(old, "summary.json")));
  // a folder tunelab did not create
  const foreign = path.join(dir, "mine");
  fs.mkdirSync(foreign);
  fs.writeFileSync(path.join(foreign, "thesis.tex"), "precious");
  const g = writeExp(dir, { name: "foreign", runDir: foreign, samples: 1, maxConcurrent: 1, epochs: 1, method: { kind: "grid" }, space: { lr: { grid: [0.01] } } });
  const r3 = await runCli(["run", g]);
  assert.equal(r3.code, 1);
  assert.match(r3.stderr, new RegExp(`runDir ${foreign.replace(/[/.]/g, "\\$&")} exists, is not empty \\(thesis\\.tex\\) and was not created by tunelab: choose another runDir, or pass --overwrite`));
  assert.equal(fs.readFileSync(path.join(foreign, "thesis.tex"), "utf8"), "precious");
  const r4 = await runCli(["run", g, "--overwrite"]);
  assert.equal(r4.code, 0, r4.stderr);
  const a2 = fs.readdirSync(path.join(foreign, "archive"));
  assert.equal(fs.readFileSync(path.join(foreign, "archive", a2[0], "thesis.tex"), "utf8"), "precious", "archived, not deleted");
});

test("an unfinished run re-run with --overwrite: its finished trials are archived, not deleted", async () => {
  const dir = tmpDir();
  const runDir = path.join(dir, "run");
  const f = writeExp(dir, { name: "unf", runDir, samples: 3, maxConcurrent: 1, epochs: 3 });
  const r1 = await runCli(["run", f, "--poll", "30"], { env: { TUNELAB_FAULT: "journal-snapshot:8" } });
  assert.equal(r1.signal, "SIGKILL");
  const before = fs.readdirSync(path.join(runDir, "trials")).sort();
  const refused = await runCli(["run", f]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /holds an unfinished run of "unf": continue it with experiment\.attach/);
  const r2 = await runCli(["run", f, "--overwrite", "--poll", "30"]);
  assert.equal(r2.code, 0, r2.stderr);
  const arch = fs.readdirSync(path.join(runDir, "archive"));
  assert.deepEqual(fs.readdirSync(path.join(runDir, "archive", arch[0], "trials")).sort(), before);
});

test("secrets: run dir 0700, experiment.json (trainer.env) 0600, nothing in the run dir readable by others", async () => {
  const dir = tmpDir();
  const runDir = path.join(dir, "run");
  const f = writeExp(dir, { name: "secret", runDir, samples: 1, maxConcurrent: 1, epochs: 2, method: { kind: "grid" }, space: { lr: { grid: [0.01] } }, env: { API_TOKEN: "s3cr3t-token-123" } });
  const old = process.umask(0o022);
  try {
    const r = await runCli(["run", f, "--poll", "30"]);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    process.umask(old);
  }
  assert.match(fs.readFileSync(path.join(runDir, "experiment.json"), "utf8"), /s3cr3t-token-123/);
  assert.equal(fs.statSync(runDir).mode & 0o777, 0o700);
  assert.equal(fs.statSync(path.join(runDir, "experiment.json")).mode & 0o777, 0o600);
  // every directory is 0700 (nobody else can even look inside); files holding the config or the
  // environment, and everything the trainer writes (umask 077), are 0600
  const walk = (d: string) => {
    for (const n of fs.readdirSync(d)) {
      const p = path.join(d, n);
      const st = fs.statSync(p);
      if (st.isDirectory()) {
        assert.equal(st.mode & 0o777, 0o700, `${p} is ${(st.mode & 0o777).toString(8)}`);
        walk(p);
      } else if (!/summary\.json$/.test(n)) assert.equal(st.mode & 0o077, 0, `${p} is ${(st.mode & 0o777).toString(8)}: readable by others`);
    }
  };
  walk(runDir);
  const text = `${runDir}\n${lsl(runDir)}\n${runDir}/trials/t000\n${lsl(path.join(runDir, "trials", "t000"))}\n`;
  console.log(text);
  fs.writeFileSync(path.join(os.tmpdir(), "tunelab-local-run-ls.txt"), text);
  assert.equal(total(ledger(runDir)).recorded, 2);
});
