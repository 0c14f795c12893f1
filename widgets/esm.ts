/**
 * The browser module text for anywidget's `_esm` trait. `npm run build`
 * (widgets/build.js) writes widgets/frontend/dist/<name>.esm.js. When that
 * file is missing, or older than a source under widgets/frontend/ (a
 * changed front-end would otherwise ship its stale bundle), build.js is run
 * here if it and esbuild are installed. Cached per process.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

const cache = new Map<string, string>();

/** widgets/ (tsx, from source) or dist/widgets/ (compiled) → the source widgets/ dir. */
function widgetsDirs(): string[] {
  return [path.resolve(__dirname), path.resolve(__dirname, "../../widgets")];
}

/** Newest mtime (ms) of the front-end sources under frontend/ (not dist/), 0 if none. */
export function newestSourceMtime(frontendDir: string): number {
  let newest = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== "dist" && e.name !== "node_modules") walk(p);
      } else if (/\.(js|ts|css)$/.test(e.name) && !e.name.endsWith(".d.ts")) {
        newest = Math.max(newest, statSync(p).mtimeMs);
      }
    }
  };
  if (existsSync(frontendDir)) walk(frontendDir);
  return newest;
}

/**
 * The bundle file of `name` in `widgetsDir`, (re)built first when it is
 * missing or older than its sources. A stale bundle whose rebuild fails
 * (e.g. esbuild not installed) is still used, with a warning on stderr.
 */
export function esmFile(name: string, widgetsDir: string): string {
  const file = path.join(widgetsDir, "frontend", "dist", `${name}.esm.js`);
  const build = path.join(widgetsDir, "build.js");
  const have = existsSync(file);
  const stale = have && statSync(file).mtimeMs < newestSourceMtime(path.join(widgetsDir, "frontend"));
  if (have && !stale) return file;
  if (!existsSync(build)) {
    if (have) return file;
    throw new Error(`widget front-end module "${name}" not found (${file}); run npm run build`);
  }
  try {
    execFileSync(process.execPath, [build], { stdio: "ignore", cwd: widgetsDir });
  } catch (e) {
    if (have) {
      process.stderr.write(`tunelab: ${file} is older than widgets/frontend/ and ${build} failed (${String(e)}); using the old bundle\n`);
      return file;
    }
    throw new Error(`widgets/frontend/dist/${name}.esm.js is missing and ${build} failed (${String(e)}); run npm run build`);
  }
  if (!existsSync(file)) throw new Error(`widgets/build.js did not produce ${name}.esm.js`);
  return file;
}

export function loadEsm(name: string): string {
  const hit = cache.get(name);
  if (hit) return hit;
  // the first dir with the bundle or its sources: widgets/ from source, else the source dir next to dist/
  const dirs = widgetsDirs();
  const dir = dirs.find((d) => existsSync(path.join(d, "frontend", "dist", `${name}.esm.js`)) || existsSync(path.join(d, "build.js"))) ?? dirs[0];
  const text = readFileSync(esmFile(name, dir), "utf8");
  cache.set(name, text);
  return text;
}
