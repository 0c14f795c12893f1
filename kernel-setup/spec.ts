/**
 * Installs / removes the `tunelab` Jupyter kernel spec: a kernel.json with
 * absolute paths (node binary and the compiled kernel), so Jupyter can start
 * it without anything on PATH.
 *
 * CLI: node dist/kernel-setup/spec.js install [--user|--prefix P|--data-dir D]
 *      node dist/kernel-setup/spec.js remove  [same options]
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const KERNEL_NAME = "tunelab";

export interface SpecLocation {
  /** Per-user data dir (~/.local/share/jupyter or $JUPYTER_DATA_DIR); the default. */
  user?: boolean;
  /** `<prefix>/share/jupyter` (system or virtualenv install). */
  prefix?: string;
  /** An explicit Jupyter data dir; wins over the others. */
  dataDir?: string;
}

/** Repository root: dist/kernel-setup/spec.js → ../.. ; kernel-setup/spec.ts (tsx) → .. */
export function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 4; i++) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the repository root above ${__dirname}`);
}

/** Same rules as `jupyter --data-dir` for the user dir (Linux/macOS/Windows). */
export function userDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.JUPYTER_DATA_DIR) return path.resolve(env.JUPYTER_DATA_DIR);
  const home = os.homedir();
  if (process.platform === "darwin") return path.join(home, "Library", "Jupyter");
  if (process.platform === "win32") return path.join(env.APPDATA ?? path.join(home, "AppData", "Roaming"), "jupyter");
  const xdg = env.XDG_DATA_HOME || path.join(home, ".local", "share");
  return path.join(xdg, "jupyter");
}

export function dataDirFor(loc: SpecLocation = {}): string {
  if (loc.dataDir) return path.resolve(loc.dataDir);
  if (loc.prefix) return path.join(path.resolve(loc.prefix), "share", "jupyter");
  return userDataDir();
}

export function kernelSpecDir(loc: SpecLocation = {}): string {
  return path.join(dataDirFor(loc), "kernels", KERNEL_NAME);
}

export interface KernelSpecJson {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: "message" | "signal";
  env: Record<string, string>;
  metadata: Record<string, unknown>;
}

export function kernelSpec(root = repoRoot()): KernelSpecJson {
  return {
    argv: [process.execPath, path.join(root, "dist", "kernel-setup", "kernel", "main.js"), "{connection_file}"],
    display_name: "TypeScript (tunelab)",
    language: "typescript",
    // The kernel reads interrupt_request on a worker thread and also handles SIGINT.
    interrupt_mode: "message",
    env: {},
    metadata: { debugger: false },
  };
}

/** Writes kernels/tunelab/kernel.json; rewrites it only when it changed. Returns the directory. */
export function installKernelSpec(loc: SpecLocation = {}): { dir: string; changed: boolean } {
  const dir = kernelSpecDir(loc);
  const file = path.join(dir, "kernel.json");
  const text = JSON.stringify(kernelSpec(), null, 2) + "\n";
  let old: string | null = null;
  try {
    old = fs.readFileSync(file, "utf8");
  } catch {
    old = null;
  }
  if (old === text) return { dir, changed: false };
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
  return { dir, changed: true };
}

/** Removes kernels/tunelab; returns whether anything was there. */
export function removeKernelSpec(loc: SpecLocation = {}): boolean {
  const dir = kernelSpecDir(loc);
  if (!fs.existsSync(dir)) return false;
  fs.rmSync(dir, { recursive: true, force: true });
  return true;
}

function parseArgs(argv: string[]): { cmd: string; loc: SpecLocation } {
  const [cmd = "", ...rest] = argv;
  const loc: SpecLocation = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--user") loc.user = true;
    else if (a === "--prefix" || a === "--data-dir") {
      const v = rest[++i];
      if (!v) throw new Error(`${a} needs a directory`);
      if (a === "--prefix") loc.prefix = v;
      else loc.dataDir = v;
    } else if (a.startsWith("--prefix=")) loc.prefix = a.slice(9);
    else if (a.startsWith("--data-dir=")) loc.dataDir = a.slice(11);
    else throw new Error(`unknown option ${a}`);
  }
  return { cmd, loc };
}

export function cli(argv: string[]): number {
  const usage = "usage: spec.js install|remove [--user | --prefix DIR | --data-dir DIR]";
  try {
    const { cmd, loc } = parseArgs(argv);
    if (cmd === "install") {
      const { dir, changed } = installKernelSpec(loc);
      console.log(`${changed ? "installed" : "up to date"}: kernel spec "${KERNEL_NAME}" in ${dir}`);
      return 0;
    }
    if (cmd === "remove") {
      const removed = removeKernelSpec(loc);
      console.log(removed ? `removed ${kernelSpecDir(loc)}` : `no kernel spec "${KERNEL_NAME}" in ${kernelSpecDir(loc)}`);
      return 0;
    }
    console.error(usage);
    return 2;
  } catch (e) {
    console.error(`${(e as Error).message}\n${usage}`);
    return 2;
  }
}

if (require.main === module) process.exit(cli(process.argv.slice(2)));
