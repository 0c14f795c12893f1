/**
 * `import ... from "tunelab"` from a notebook in any folder.
 *
 * The kernel runs with the notebook's folder as its working directory
 * (Jupyter starts it there). A notebook inside this repository finds
 * `tunelab` through node_modules; a copy built for a team into
 * `/srv/course/team-a/ana/`, or a new notebook in `$HOME`, has no
 * node_modules above it. So, when no `node_modules/tunelab` is visible from
 * the working directory, the kernel serves its own package under that name,
 * both to tslab's type checker (which reads files through TypeScript's
 * `ts.sys`) and to Node's `require` (the compiled cells call it). A
 * `node_modules/tunelab` the user installed themselves always wins, for the
 * types and the code alike, so the two never disagree.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Module from "node:module";

export const PACKAGE_NAME = "tunelab";

/** The nearest `node_modules/tunelab` at or above `dir`, or null. */
export function installedAbove(dir: string, name = PACKAGE_NAME): string | null {
  let d = path.resolve(dir);
  for (;;) {
    const p = path.join(d, "node_modules", name);
    if (fs.existsSync(path.join(p, "package.json"))) return p;
    const up = path.dirname(d);
    if (up === d) return null;
    d = up;
  }
}

/**
 * Maps `<cwd>/node_modules/<name>/...` to `<packageRoot>/...`; other paths
 * unchanged. Exported for tests.
 */
export function forwardPath(cwd: string, packageRoot: string, p: string, name = PACKAGE_NAME): string {
  const virtualRoot = path.join(path.resolve(cwd), "node_modules", name);
  const rel = path.relative(virtualRoot, p);
  if (rel === "") return packageRoot;
  if (rel.startsWith("..") || path.isAbsolute(rel)) return p;
  return path.join(packageRoot, rel);
}

interface TsSys {
  fileExists(p: string): boolean;
  readFile(p: string, encoding?: string): string | undefined;
  directoryExists(p: string): boolean;
  realpath?(p: string): string;
  getDirectories(p: string): string[];
}

export interface Resolution {
  /** Where `tunelab` comes from for this kernel. */
  packageRoot: string;
  /** "installed": the user's own node_modules; "kernel": served by the kernel. */
  source: "installed" | "kernel";
}

/**
 * Installs the fallback for the kernel's lifetime, before the first
 * converter is created. `tsSys` is tslab's TypeScript's `ts.sys`.
 */
export function installPackageFallback(cwd: string, packageRoot: string, tsSys: TsSys): Resolution {
  const mine = installedAbove(cwd);
  if (mine) return { packageRoot: mine, source: "installed" };

  const fwd = (p: string) => forwardPath(cwd, packageRoot, p);
  const nodeModules = path.join(path.resolve(cwd), "node_modules");
  const orig = {
    fileExists: tsSys.fileExists.bind(tsSys),
    readFile: tsSys.readFile.bind(tsSys),
    directoryExists: tsSys.directoryExists.bind(tsSys),
    realpath: tsSys.realpath?.bind(tsSys),
    getDirectories: tsSys.getDirectories.bind(tsSys),
  };
  tsSys.fileExists = (p) => orig.fileExists(fwd(p));
  tsSys.readFile = (p, enc) => orig.readFile(fwd(p), enc);
  // TypeScript only looks inside node_modules folders that exist.
  tsSys.directoryExists = (p) => orig.directoryExists(fwd(p)) || path.resolve(p) === nodeModules;
  tsSys.getDirectories = (p) => orig.getDirectories(fwd(p));
  // Real paths send TypeScript on to the package's own node_modules for its imports (zod, ...).
  if (orig.realpath) tsSys.realpath = (p) => orig.realpath!(fwd(p));

  // Node: resolve `tunelab` and `tunelab/...` to the kernel's package when nothing else does.
  const M = Module as unknown as {
    _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string;
  };
  const origResolve = M._resolveFilename;
  M._resolveFilename = function (request, parent, isMain, options) {
    try {
      return origResolve.call(this, request, parent, isMain, options);
    } catch (e) {
      if (request === PACKAGE_NAME) return origResolve.call(this, packageRoot, parent, isMain, options);
      if (request.startsWith(PACKAGE_NAME + "/")) {
        return origResolve.call(this, path.join(packageRoot, request.slice(PACKAGE_NAME.length + 1)), parent, isMain, options);
      }
      throw e;
    }
  };
  return { packageRoot, source: "kernel" };
}
