/** The CLI as a user meets it: per-command --help, a run whose trials all fail, `status | head`. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { commandHelp, main } from "../../src/cli/main";
import { ensureBuilt } from "../kernel-setup/helpers";

const ROOT = path.resolve(__dirname, "../..");
const made: string[] = [];
process.on("exit", () => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-cli-paths-"));
  made.push(d);
  return d;
}

function io(cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { cwd, stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s), isTTY: false } } };
}

test("tunelab run --help prints run's usage alone and exits 0", async () => {
  const c = io("/");
  assert.equal(await main(["run", "--help"], c.io), 0);
  const out = c.out.join("");
  assert.match(out, /^Usage:\n  tunelab run FILE \[--poll MS\] \[--overwrite\]\n/);
  assert.ok(!out.includes("tunelab status"), out);
  assert.equal(commandHelp("status")?.split("\n")[1], "  tunelab status NAME|DIR     trial states and the best so far of runs/NAME (or DIR)");
  const bad = io("/");
  assert.equal(await main(["frob", "--help"], bad.io), 2);
});

test("a run whose trials all fail says so and exits 1 (local backend, a trainer that exits 3)", async () => {
  const dir = tmp();
  const spec = {
    name: "all-fail", seed: 1, space: { lr: { loguniform: [1e-3, 1e-2] } }, method: { kind: "random" }, samples: 3, maxConcurrent: 3,
    trainer: { epochs: 2, command: ["/bin/sh", "-c", "echo 'boom: bad config' >&2; exit 3"] }, backend: { kind: "local" },
  };
  fs.writeFileSync(path.join(dir, "exp.json"), JSON.stringify(spec));
  const c = io(dir);
  const code = await main(["run", "exp.json", "--poll", "50"], c.io);
  assert.equal(code, 1);
  assert.match(c.err.join(""), /^tunelab: all 3 trials failed \(first, t00\d.*boom: bad config/m);
});

test("`tunelab status NAME | head -1` ends quietly (no EPIPE stack trace)", async () => {
  ensureBuilt();
  const dir = tmp();
  const curves = ["lr,t,eval_loss,time_s"];
  for (const lr of [0.1, 0.01]) for (let t = 1; t <= 3; t++) curves.push(`${lr},${t},${(1 + lr * 10 + 1 / t).toFixed(4)},1`);
  fs.writeFileSync(path.join(dir, "c.csv"), curves.join("\n") + "\n");
  const spec = {
    name: "pipe", seed: 1, space: { lr: { choice: [0.1, 0.01] } }, method: { kind: "random" }, samples: 1500, maxConcurrent: 16,
    trainer: { epochs: 3 }, backend: { kind: "replay", curves: "c.csv" },
  };
  fs.writeFileSync(path.join(dir, "exp.json"), JSON.stringify(spec));
  assert.equal(await main(["run", "exp.json"], io(dir).io), 0);
  // more than a pipe buffer (64 KiB) of lines, a reader that stops after one: the writer gets EPIPE
  const r = spawnSync("/bin/sh", ["-c", `node ${JSON.stringify(path.join(ROOT, "bin/tunelab.js"))} status pipe | head -1`], { cwd: dir, encoding: "utf8" });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^pipe \(random, replay\) — finished;/);
  assert.equal(r.stderr, "");
});
