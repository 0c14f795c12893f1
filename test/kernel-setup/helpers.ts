/**
 * Shared set-up for the kernel tests: a built kernel, a temp Jupyter data dir
 * holding the tunelab kernel spec, the node_modules/tunelab link, and child
 * processes that are always cleaned up.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..");
export const PY = "/usr/bin/python3";
export const KERNEL_MAIN = path.join(ROOT, "dist", "kernel-setup", "kernel", "main.js");

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestMtime(p));
    else if (e.name.endsWith(".ts")) t = Math.max(t, fs.statSync(p).mtimeMs);
  }
  return t;
}

/** Builds dist/ with the project's tsc when the kernel sources are newer than the build. */
export function ensureBuilt(): void {
  // the kernel and notebooks run dist/: rebuild when any compiled source is newer (library and widgets too)
  const srcTime = Math.max(newestMtime(path.join(ROOT, "kernel-setup")), newestMtime(path.join(ROOT, "src")), newestMtime(path.join(ROOT, "widgets")));
  const built = fs.existsSync(KERNEL_MAIN) ? fs.statSync(KERNEL_MAIN).mtimeMs : 0;
  if (built >= srcTime && fs.existsSync(path.join(ROOT, "dist", "src", "space", "rng.js"))) return;
  // Other parts of the tree may have type errors mid-development; tsc still emits.
  spawnSync(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], {
    cwd: ROOT,
    stdio: "ignore",
  });
  if (!fs.existsSync(KERNEL_MAIN)) throw new Error("build failed: dist/kernel-setup/kernel/main.js missing");
}

/** node_modules/tunelab -> repo root (the bootstrap makes it; tests make it when missing). */
export function ensureTunelabLink(): void {
  const link = path.join(ROOT, "node_modules", "tunelab");
  if (!fs.existsSync(link)) {
    try {
      fs.symlinkSync("..", link, "dir");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
}

export interface JupyterSandbox {
  dir: string;
  dataDir: string;
  /** Environment that points every Jupyter path at the sandbox. */
  env: Record<string, string>;
  cleanup(): void;
}

/** A temp Jupyter data/runtime/config dir with the tunelab kernel spec installed. */
export function jupyterSandbox(): JupyterSandbox {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-kernel-test-"));
  const dataDir = path.join(dir, "data");
  const env = {
    JUPYTER_PATH: dataDir,
    JUPYTER_DATA_DIR: dataDir,
    JUPYTER_RUNTIME_DIR: path.join(dir, "runtime"),
    JUPYTER_CONFIG_DIR: path.join(dir, "config"),
    JUPYTER_ALLOW_INSECURE_WRITES: "1",
    IPYTHONDIR: path.join(dir, "ipython"),
  };
  const r = spawnSync(process.execPath, [path.join(ROOT, "dist", "kernel-setup", "spec.js"), "install", "--data-dir", dataDir], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`spec install failed: ${r.stderr}`);
  return { dir, dataDir, env, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command in its own process group; kills the whole group on timeout. */
export function runProcess(cmd: string, args: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs: number }): Promise<Ran> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(cmd, args, {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...opts.env },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    const kill = () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      stderr += `\n[test] timed out after ${opts.timeoutMs} ms\n`;
      kill();
    }, opts.timeoutMs);
    process.once("exit", kill);
    child.on("close", (code) => {
      clearTimeout(timer);
      process.removeListener("exit", kill);
      resolve({ code, stdout, stderr });
    });
  });
}
