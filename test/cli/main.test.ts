/** `tunelab` CLI on the real replay backend (recorded curves written by the test). */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../src/cli/main";
import { experiment } from "../../src/experiment";

function curvesCsv(): string {
  const lines = ["lr,bs,t,eval_loss,time_s"];
  for (const lr of [0.1, 0.01, 0.001]) for (const bs of [1, 2]) for (let t = 1; t <= 5; t++) {
    const q = Math.abs(Math.log10(lr) + 2) + (bs === 2 ? 0.3 : 0);
    lines.push(`${lr},${bs},${t},${(2 + q + 3 / t + q * t * 0.05).toFixed(4)},${5 + bs}`);
  }
  return lines.join("\n") + "\n";
}

const made: string[] = [];
process.on("exit", () => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });

function setup(extra: Record<string, unknown> = {}): { dir: string; file: string; spec: any } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-cli-"));
  made.push(dir);
  fs.writeFileSync(path.join(dir, "curves.csv"), curvesCsv());
  const spec = {
    name: "cli-asha", seed: 3, space: { lr: { loguniform: [0.001, 0.1] }, bs: { choice: [1, 2] } },
    method: { kind: "asha", reductionFactor: 2 }, samples: 8, maxConcurrent: 3, trainer: { epochs: 5 },
    backend: { kind: "replay", curves: "curves.csv" }, ...extra,
  };
  const file = path.join(dir, "exp.json");
  fs.writeFileSync(file, JSON.stringify(spec));
  return { dir, file, spec };
}

function io(cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { cwd, stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s), isTTY: false } } };
}

test("tunelab run FILE (replay): exit 0, plain progress lines on a non-TTY stderr, the summary on stdout, summary.json written", async () => {
  const { dir } = setup();
  const c = io(dir);
  const code = await main(["run", "exp.json"], c.io);
  assert.equal(code, 0, c.err.join(""));
  const out = c.out.join("");
  assert.match(out, /^experiment cli-asha \(asha\) finished: 8 trials/m);
  assert.match(out, /^best at full budget \(t=5\): eval_loss [\d.]+, trial t\d{3}/m);
  const summary = JSON.parse(fs.readFileSync(path.join(dir, "runs", "cli-asha", "summary.json"), "utf8"));
  assert.equal(summary.trials.length, 8);
  assert.ok(out.includes(`trial ${summary.best.trial_id}`));
  const err = c.err.join("");
  assert.match(err, /^t000 added lr=/m);
  assert.match(err, /^experiment finished$/m);
  assert.ok(!err.includes("\r"), "no carriage returns when stderr is not a TTY");
});

test("tunelab run: a TTY stderr gets a progress bar", async () => {
  const { dir } = setup({ samples: 3 });
  const c = io(dir);
  (c.io.stderr as any).isTTY = true;
  assert.equal(await main(["run", "exp.json"], c.io), 0);
  const err = c.err.join("");
  assert.match(err, /\r\[#{30}\] 3\/3 done · 0 running · best eval_loss [\d.]+ \(t\d{3}@\d\)/);
});

test("tunelab run on an invalid file exits 2 naming the field path; invalid JSON and a missing file exit 2 too", async () => {
  const { dir } = setup({ space: { lr: { loguniform: [0.1, "x"] } } });
  const c = io(dir);
  assert.equal(await main(["run", "exp.json"], c.io), 2);
  assert.match(c.err.join(""), /space\.lr\.loguniform/);
  assert.equal(fs.existsSync(path.join(dir, "runs")), false, "nothing was started");
  fs.writeFileSync(path.join(dir, "bad.json"), "{ name: ");
  const c2 = io(dir);
  assert.equal(await main(["run", "bad.json"], c2.io), 2);
  assert.match(c2.err.join(""), /bad\.json: not valid JSON/);
  const c3 = io(dir);
  assert.equal(await main(["run", "missing.json"], c3.io), 2);
  assert.match(c3.err.join(""), /missing\.json: cannot read: ENOENT/);
  const c4 = io(dir);
  const { file } = setup({ method: { kind: "asha", reductionFactor: 2, brackets: 0 } });
  assert.equal(await main(["run", file], c4.io), 2);
  assert.match(c4.err.join(""), /method\.brackets/);
});

test("tunelab status NAME prints the trial table and the best; by DIR too", async () => {
  const { dir } = setup();
  assert.equal(await main(["run", "exp.json"], io(dir).io), 0);
  const c = io(dir);
  assert.equal(await main(["status", "cli-asha"], c.io), 0);
  const out = c.out.join("");
  const summary = JSON.parse(fs.readFileSync(path.join(dir, "runs", "cli-asha", "summary.json"), "utf8"));
  assert.match(out, /^cli-asha \(asha, replay\) — finished;/);
  assert.match(out, /^trial\s+state\s+last_t\s+eval_loss\s+best\s+gpu_s\s+lr\s+bs$/m);
  for (const t of summary.trials) assert.match(out, new RegExp(`^${t.trial_id}\\s+${t.state}\\s+${t.last_t}\\s`, "m"));
  assert.match(out, new RegExp(`best at full budget \\(t=5\\): eval_loss [\\d.]+, trial ${summary.best.trial_id}`));
  const c2 = io("/");
  assert.equal(await main(["status", path.join(dir, "runs", "cli-asha")], c2.io), 0);
  assert.equal(c2.out.join(""), out);
  const c3 = io(dir);
  assert.equal(await main(["status", "nope"], c3.io), 1);
  assert.match(c3.err.join(""), /no experiment "nope"/);
});

test("tunelab attach NAME finishes a run whose driver stopped (real replay backend adopts its trials)", async () => {
  const { dir, spec } = setup();
  const cwd = process.cwd();
  process.chdir(dir);
  const ac = new AbortController();
  try {
    const exp = experiment(spec, { signal: ac.signal });
    let n = 0;
    exp.subscribe((e) => { if (e.type === "report" && ++n === 6) ac.abort(); });
    await exp.run();
  } finally {
    process.chdir(cwd);
  }
  const before = io(dir);
  await main(["status", "cli-asha"], before.io);
  assert.match(before.out.join(""), /— running;/);
  const c = io(dir);
  assert.equal(await main(["attach", "cli-asha"], c.io), 0, c.err.join(""));
  assert.match(c.err.join(""), /attached to .*cli-asha: \d+ events restored/);
  const s = JSON.parse(fs.readFileSync(path.join(dir, "runs", "cli-asha", "summary.json"), "utf8"));
  assert.equal(s.state, "finished");
  assert.equal(s.trials.length, 8);
  assert.ok(s.trials.every((t: any) => ["completed", "stopped"].includes(t.state)), JSON.stringify(s.states));
  // attaching to a finished run changes nothing
  const c2 = io(dir);
  assert.equal(await main(["attach", "cli-asha"], c2.io), 0);
  assert.match(c2.err.join(""), /already ended \(finished\)/);
});

test("tunelab --help exits 0; no command or an unknown one exits 2", async () => {
  const c = io("/");
  assert.equal(await main(["--help"], c.io), 0);
  assert.match(c.out.join(""), /tunelab run FILE/);
  assert.match(c.out.join(""), /tunelab attach NAME\|DIR/);
  assert.equal(await main([], io("/").io), 2);
  const c2 = io("/");
  assert.equal(await main(["frobnicate"], c2.io), 2);
  assert.match(c2.err.join(""), /unknown command "frobnicate"/);
});

test("tunelab compare DIR... prints the comparison table of finished runs (results module)", async () => {
  const a = setup({ name: "cmp-asha" });
  assert.equal(await main(["run", "exp.json"], io(a.dir).io), 0);
  const g = setup({ name: "cmp-grid", method: { kind: "grid" }, space: { lr: { grid: [0.1, 0.01] }, bs: { grid: [1, 2] } }, samples: 4 });
  assert.equal(await main(["run", "exp.json"], io(g.dir).io), 0);
  const c = io("/");
  const code = await main(["compare", path.join(g.dir, "runs", "cmp-grid"), path.join(a.dir, "runs", "cmp-asha")], c.io);
  assert.equal(code, 0, c.err.join(""));
  const out = c.out.join("");
  assert.match(out, /^\|.*\|$/m);
  // the results module labels a tunelab grid run as the manual grid (the cost baseline)
  assert.match(out, /^\| Manual grid \| 2\.6000 \|/m);
  assert.match(out, /^\| ASHA \| [\d.]+ \| [\d.]+ \| 3 \| [\d.]+ \| [\d.]+ \|/m);
  const csv = io("/");
  assert.equal(await main(["compare", path.join(a.dir, "runs", "cmp-asha"), "--csv"], csv.io), 0);
  assert.ok(csv.out.join("").split("\n").length >= 2);
});

test("subcommands of other modules are wired: usage errors exit 2", async () => {
  const c = io("/");
  assert.equal(await main(["notebooks", "build"], c.io), 2);
  assert.match(c.err.join(""), /--course COURSE\.json --out DIR/);
  const c2 = io("/");
  assert.equal(await main(["cluster", "check"], c2.io), 2);
  assert.match(c2.out.join(""), /usage: tunelab cluster check FILE/);
  const c3 = io("/");
  assert.equal(await main(["compare"], c3.io), 2);
});
