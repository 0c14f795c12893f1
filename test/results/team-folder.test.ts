import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { teamFolder, rowFileName, type ComparisonRow, type ExecTransport } from "../../src/results";
import { LocalTransport } from "../../src/backends/slurm/transport";

function row(method: string, v: number, extra: Partial<ComparisonRow> = {}): ComparisonRow {
  return { method, metric: "eval_loss", mode: "min", bestValue: v, bestConfig: { lr: 1e-5, bs: 1 }, runtimeMinutes: 10, gpus: 2, gpuMinutes: 20, ...extra };
}
function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-team-"));
}

test("two members saving at the same time (concurrent promises): both rows survive", async () => {
  const dir = tmp();
  try {
    const ann = teamFolder(dir, { member: "ann" });
    const bob = teamFolder(dir, { member: "bob" });
    await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => ann.save(row("asha", 9 + i))),
      ...Array.from({ length: 20 }, (_, i) => bob.save(row("pbt", 8 + i))),
      ann.save(row("manual", 9.3)),
    ]);
    const { rows, problems } = await ann.read();
    assert.deepEqual(problems, []);
    assert.deepEqual(rows.map((r) => [r.member, r.method]), [["ann", "manual"], ["ann", "asha"], ["bob", "pbt"]]);
    assert.deepEqual(fs.readdirSync(path.join(dir, "rows")).sort(), ["ann-asha.json", "ann-manual.json", "bob-pbt.json"]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("two members as two child processes writing into one folder: both rows survive, no torn reads", async () => {
  const dir = tmp();
  const script = path.join(__dirname, "fixtures/write-rows.ts");
  const kids = [["ann", "asha"], ["bob", "asha"]].map(([m, method]) =>
    spawn(process.execPath, ["--import", "tsx", script, dir, m, method, "60"], { stdio: ["ignore", "pipe", "pipe"] }));
  try {
    const done = kids.map((k) => new Promise<number | null>((res) => k.on("close", res)));
    // read while they write: every file we see must parse (atomic rename)
    let reads = 0;
    let finished = false;
    void Promise.all(done).then(() => (finished = true));
    while (!finished) {
      const r = await teamFolder(dir).read();
      assert.deepEqual(r.problems, []);
      reads++;
      await new Promise((res) => setTimeout(res, 5));
    }
    assert.deepEqual(await Promise.all(done), [0, 0]);
    const { rows } = await teamFolder(dir).read();
    assert.deepEqual(rows.map((r) => [r.member, r.method, r.bestValue]), [["ann", "asha", 9.059], ["bob", "asha", 9.059]]);
    assert.ok(reads > 0);
    assert.deepEqual(fs.readdirSync(path.join(dir, "rows")).filter((n) => n.endsWith(".tmp")), []);
  } finally {
    for (const k of kids) if (k.exitCode === null) k.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("names are validated: no path traversal, no '-' in methods", async () => {
  assert.throws(() => rowFileName("../etc", "asha"), /member "..\/etc" is not allowed/);
  assert.throws(() => rowFileName("a/b", "asha"), /not allowed/);
  assert.throws(() => rowFileName("ann", "as-ha"), /method "as-ha" is not allowed/);
  assert.throws(() => rowFileName("", "asha"), /not allowed/);
  assert.equal(rowFileName("ann.lee_2", "bohb"), "ann.lee_2-bohb.json");
  const dir = tmp();
  try {
    await assert.rejects(teamFolder(dir).save(row("asha", 1), { member: "../../x" }), /not allowed/);
    await assert.rejects(teamFolder(dir, { member: "ann" }).save({ ...row("asha", 1), gpus: -1 }), /"gpus"/);
    assert.equal(fs.existsSync(path.join(dir, "rows")), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a broken file is reported by name, the other rows still load", async () => {
  const dir = tmp();
  try {
    await teamFolder(dir, { member: "ann" }).save(row("asha", 9));
    fs.writeFileSync(path.join(dir, "rows", "bob-pbt.json"), "{not json");
    const r = await teamFolder(dir).read();
    assert.equal(r.rows.length, 1);
    assert.equal(r.problems[0].file, "bob-pbt.json");
    assert.match(r.problems[0].error, /not JSON/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("remote team folder through a shell transport (bash on this host; SSH in the .int test): quoting and concurrency", async () => {
  const base = tmp();
  const dir = path.join(base, "team folder 'quoted' $(touch pwned)");
  const t = new LocalTransport();
  try {
    const ann = teamFolder({ cluster: dir, transport: t }, { member: "ann" });
    const bob = teamFolder({ cluster: dir, transport: t }, { member: "bob" });
    await Promise.all([ann.save(row("asha", 9.5, { note: "it's \"quoted\" | piped" })), bob.save(row("bohb", 9.4)), ann.save(row("manual", 9.3))]);
    const { rows, problems } = await bob.read();
    assert.deepEqual(problems, []);
    assert.deepEqual(rows.map((r) => [r.member, r.method, r.bestValue]), [["ann", "manual", 9.3], ["ann", "asha", 9.5], ["bob", "bohb", 9.4]]);
    assert.equal(rows[1].note, "it's \"quoted\" | piped");
    assert.equal(fs.existsSync(path.join(process.cwd(), "pwned")), false);
    assert.ok(fs.existsSync(path.join(dir, "rows", "bob-bohb.json")));
    // an empty/missing remote folder reads as no rows
    assert.deepEqual((await teamFolder({ cluster: path.join(base, "none"), transport: t }).read()).rows, []);
    // a minimal {exec} transport that fails surfaces the exit code
    const failing: ExecTransport = { exec: async () => ({ stdout: "", stderr: "Permission denied", code: 1 }) };
    await assert.rejects(teamFolder({ cluster: "/x" }, { transport: failing, member: "ann" }).save(row("asha", 1)), /exit 1.*Permission denied/);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});
