/**
 * The browser module text for anywidget's `_esm` trait. `npm run build`
 * (widgets/build.js) writes widgets/frontend/dist/<name>.esm.js; when that
 * file is missing (tests run from source without a build) build.js is run
 * once here if esbuild is installed. Cached per process.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

const cache = new Map<string, string>();

/** widgets/ (tsx, from source) or dist/widgets/ (compiled) → the source widgets/ dir. */
function widgetsDirs(): string[] {
  return [path.resolve(__dirname), path.resolve(__dirname, "../../widgets")];
}

export function loadEsm(name: string): string {
  const hit = cache.get(name);
  if (hit) return hit;
  const find = () => widgetsDirs().map((d) => path.join(d, "frontend", "dist", `${name}.esm.js`)).find((p) => existsSync(p));
  let file = find();
  if (!file) {
    const build = widgetsDirs().map((d) => path.join(d, "build.js")).find((p) => existsSync(p));
    if (!build) throw new Error(`widget front-end module "${name}" not found; run npm run build`);
    try {
      execFileSync(process.execPath, [build], { stdio: "ignore" });
    } catch (e) {
      throw new Error(`widgets/frontend/dist/${name}.esm.js is missing and ${build} failed (${String(e)}); run npm run build`);
    }
    file = find();
    if (!file) throw new Error(`widgets/build.js did not produce ${name}.esm.js`);
  }
  const text = readFileSync(file, "utf8");
  cache.set(name, text);
  return text;
}
