/**
 * A full disk (issue 14 defect 6): the run directory on a small tmpfs that
 * a filler file fills up. Errors name the file and the cause (ENOSPC, bytes
 * free) instead of a bare "ENOSPC ... write"; a trial that fails because
 * the disk is full says so even when its stderr is empty; after space is
 * freed, `tunelab attach` finishes the run with every report recorded once
 * and every finished trial still finished. The tmpfs is unmounted in
 * teardown.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { readJournal } from "../../src/experiment/journal";
import { killRunDirTrials } from "../../src/backends/local";
import { ledger, runCli, tableRow, tmpDir, total, writeExp } from "./helpers";

const mounts: string[] = [];
after(() => {
  for (const m of mounts) {
    killRunDirTrials(path.join(m, "run"));
    spawnSync("umount", ["-l", m]);
  }
});

function smallDisk(sizeKb: number): string | null {
  const m = tmpDir("tunelab-enospc-");
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${sizeKb}k,mode=0700`, "tmpfs", m], { encoding: "utf8" });
  if (r.status !== 0) return null;
  mounts.push(m);
  return m;
}

/** Fill the file system at `dir` but `leave` bytes. */
function fill(dir: string, leave: number): string {
  const f = path.join(dir, "filler");
  const free = Number(fs.statfsSync(dir).bavail) * Number(fs.statfsSync(dir).bsize);
  fs.writeFileSync(f, Buffer.alloc(Math.max(0, free - leave)));
  return f;
}

test("no space for the run directory: the error names the file and the cause; after freeing space the run goes", async (t) => {
  const m = smallDisk(256);
  if (!m) return t.skip("cannot mount a tmpfs here (not root?)");
  const runDir = path.join(m, "run");
  const f = writeExp(tmpDir(), { name: "nospace", runDir, samples: 2, maxConcurrent: 1, epochs: 2, method: { kind: "grid" }, space: { lr: { grid: [0.01, 0.001] } } });
  const filler = fill(m, 0);
  const r = await runCli(["run", f, "--poll", "30"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`tunelab: cannot (create|write|open)[^\\n]* ${m.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/run[^\\n]*: no space left on device \\(ENOSPC; \\d+ bytes free there\\)`));
  fs.rmSync(filler);
  const r2 = await runCli(["run", f, "--poll", "30"]);
  assert.equal(r2.code, 0, r2.stderr);
  const rows = ledger(runDir);
  assert.equal(total(rows).recorded, 4);
  tableRow("ENOSPC before the run (tmpfs full)", rows, "clear error, then run");
});

test("the disk fills up during the run: clear errors; attach after freeing space loses nothing, finished trials stay finished", async (t) => {
  const m = smallDisk(1024);
  if (!m) return t.skip("cannot mount a tmpfs here (not root?)");
  const runDir = path.join(m, "run");
  const f = writeExp(tmpDir(), { name: "fills", runDir, samples: 8, maxConcurrent: 2, epochs: 6, method: { kind: "grid" }, space: { lr: { grid: [0.1, 0.05, 0.01, 0.005, 0.001, 0.0005, 0.0001, 0.00005] } }, options: { step_s: 0.03 } });
  // room for the first trials' files and journal lines, not for the whole run
  const filler = fill(m, 48 * 1024);
  const r = await runCli(["run", f, "--poll", "30"]);
  const died = r.code === 1 && /no space left on device \(ENOSPC/.test(r.stderr);
  if (died) assert.match(r.stderr, /tunelab: cannot [^\n]*\/run\/[^\n]*: no space left on device \(ENOSPC; \d+ bytes free there\)/);
  const before = readJournal(path.join(runDir, "journal.jsonl"));
  const failedMsgs = [...before.events, ...before.trailing].filter((e) => e.type === "trial_state" && e.state === "failed").map((e) => (e as { message?: string }).message ?? "");
  for (const msg of failedMsgs) assert.match(msg, /stderr\.log is empty; \d+ bytes free on the file system holding \S+\/trials\/t\d+: it is full \(ENOSPC\), so the trainer could not write/, msg);
  assert.ok(died || failedMsgs.length > 0, `the full disk showed: driver ${r.code} ${r.stderr.slice(-500)}`);
  const finishedBefore = new Map<string, string>();
  for (const e of before.events) if (e.type === "trial_state" && ["completed", "stopped", "failed"].includes(e.state)) finishedBefore.set(e.trialId, e.state);
  assert.equal(before.corrupt.length, 0, "no half-written journal line was left behind");
  fs.rmSync(filler);
  if (died) {
    const r2 = await runCli(["attach", runDir, "--poll", "30"]);
    assert.equal(r2.code === 0 || r2.code === 1, true, r2.stderr);
    assert.doesNotMatch(r2.stderr, /tunelab: cannot|adopt .*no trial\.json/);
  }
  const after = readJournal(path.join(runDir, "journal.jsonl"));
  assert.equal(after.trailing.length, 0);
  const final = [...after.events].reverse().find((e) => e.type === "experiment_state");
  assert.ok(final && final.type === "experiment_state" && final.state === "finished", "the run finished");
  for (const [id, st] of finishedBefore) {
    const last = [...after.events].reverse().find((e) => e.type === "trial_state" && e.trialId === id);
    assert.equal(last && last.type === "trial_state" && last.state, st, `${id} stays ${st}`);
  }
  const rows = ledger(runDir);
  assert.equal(total(rows).lost + total(rows).duplicated, 0);
  tableRow("ENOSPC during the run (tmpfs fills)", rows, `${died ? "driver stopped with a clear error, attach finished" : "trials failed with a clear message"}; ${failedMsgs.length} trials failed for lack of space`);
});
