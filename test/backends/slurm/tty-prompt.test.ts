/**
 * ttyPrompt (src/backends/slurm/ssh.ts) on a real pseudo-terminal: util-linux
 * `script` runs a child whose stdin is a pty; we type into it like a user.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { ttyPrompt } from "../../../src/backends/slurm/ssh";

const ROOT = path.resolve(__dirname, "../../..");

/** Run `code` under a pty; type each answer once the text before it has appeared. Returns the whole terminal output. */
function underPty(code: string, typing: Array<[string, string]>): Promise<{ out: string; code: number | null }> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-tty-")), "child.ts");
  fs.writeFileSync(file, code);
  const cmd = `'${process.execPath}' --import tsx '${file}'`;
  const child = spawn("script", ["-qfec", cmd, "/dev/null"], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, TERM: "dumb" } });
  let out = "";
  let next = 0;
  const feed = () => {
    while (next < typing.length && out.includes(typing[next][0])) child.stdin.write(typing[next++][1]);
  };
  child.stdout.on("data", (d) => {
    out += d.toString();
    feed();
  });
  child.stderr.on("data", (d) => (out += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) => child.on("close", (c) => (clearTimeout(timer), resolve({ out, code: c }))));
}

const CHILD = `
const { ttyPrompt } = require(${JSON.stringify(path.join(ROOT, "src/backends/slurm/ssh"))});
const ask = ttyPrompt();
if (!ask) { console.log("NO-TTY"); process.exit(3); }
ask([{ prompt: "Verification code: ", echo: false }, { prompt: "Site: ", echo: true }], { name: "tunelab 2FA", instructions: "enter the code" })
  .then((a) => { console.log("ANSWERS=" + JSON.stringify(a)); process.exit(0); }, (e) => { console.log("REJECTED=" + e.message); process.exit(4); });
`;

test("ttyPrompt on a real pty: hidden prompt echoes nothing, visible one echoes; backspace edits; answers in order", async () => {
  const r = await underPty(CHILD, [["Verification code: ", "12x\x7f3456\r"], ["Site: ", "kaust\r"]]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /enter the code\r?\ntunelab 2FA: Verification code: /);
  assert.match(r.out, /ANSWERS=\["123456","kaust"\]/);
  const beforeAnswers = r.out.slice(0, r.out.indexOf("ANSWERS="));
  assert.doesNotMatch(beforeAnswers, /12|3456/, "the hidden answer is not echoed");
  assert.match(beforeAnswers, /Site: kaust/, "the visible answer is echoed");
});

test("ttyPrompt: Ctrl-C at the prompt rejects with a message (which the AuthError then carries)", async () => {
  const r = await underPty(CHILD, [["Verification code: ", "12\x03"]]);
  assert.equal(r.code, 4, r.out);
  assert.match(r.out, /REJECTED=cancelled at the terminal/);
});

test("ttyPrompt is undefined when stdin is not a terminal", () => {
  assert.equal(ttyPrompt(new PassThrough() as any, new PassThrough() as any), undefined);
});
