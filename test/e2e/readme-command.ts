/**
 * The README's main command, run as a user runs it: `npm run workshop` in a
 * fresh clone of this repository, in its own process group; the URL is read
 * from what it prints. Stopped with Ctrl-C (SIGINT to the group), as a user
 * stops it.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..");

/** The README's first command, parsed from README.md itself so the test follows the README. */
export function readmeMainCommand(readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8")): string[] {
  const block = /## Two commands\s+```bash\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error("README.md: no ```bash block under '## Two commands'");
  const first = block[1].split("\n").map((l) => l.replace(/#.*$/, "").trim()).filter(Boolean)[0];
  if (!first) throw new Error("README.md: the '## Two commands' block is empty");
  return first.split(/\s+/);
}

/**
 * A clone of HEAD (in CI, HEAD is the fresh clone under test): no node_modules,
 * no dist, nothing the bootstrap would otherwise find already done.
 */
export function freshClone(into: string): string {
  const dir = path.join(into, "tunelab");
  const r = spawnSync("git", ["clone", "--quiet", "--no-hardlinks", ROOT, dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git clone failed: ${r.stderr}`);
  return dir;
}

export interface Running {
  child: ChildProcess;
  /** Everything printed so far (stdout + stderr, in order of arrival). */
  output(): string;
  /** Resolves with the first http URL printed after "Open:", the one a user pastes into a browser. */
  url: Promise<string>;
  /** Ctrl-C; resolves with the exit code (SIGKILL to the group after graceMs). */
  interrupt(graceMs?: number): Promise<number | null>;
}

export function startCommand(argv: string[], opts: { cwd: string; env: Record<string, string>; urlTimeoutMs: number }): Running {
  const child = spawn(argv[0], argv.slice(1), {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const killGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      /* gone */
    }
  };
  const onExit = () => killGroup("SIGKILL");
  process.once("exit", onExit);
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => {
    process.removeListener("exit", onExit);
    resolve(code);
  }));
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed within ${opts.urlTimeoutMs} ms; output:\n${out.slice(-4000)}`)), opts.urlTimeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString("utf8");
      const m = /Open:\s*\n\s*(http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the command exited (code ${code}) before printing a URL; output:\n${out.slice(-4000)}`));
    });
  });
  url.catch(() => undefined);
  return {
    child,
    output: () => out,
    url,
    async interrupt(graceMs = 20_000) {
      if (child.exitCode !== null) return child.exitCode;
      killGroup("SIGINT");
      const t = setTimeout(() => killGroup("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}
