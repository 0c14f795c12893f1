/**
 * The browser module text for anywidget's `_esm` trait. `npm run build`
 * (widgets/build.js) writes widgets/frontend/dist/<name>.esm.js; when that
 * file is missing (tests run from source without a build) it is bundled on
 * the fly with esbuild if installed. Cached per process.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

const cache = new Map<string, string>();

function candidates(name: string): { dist: string[]; source: string[] } {
  // __dirname is widgets/ (tsx, from source) or dist/widgets/ (compiled)
  const roots = [path.resolve(__dirname), path.resolve(__dirname, "../../widgets")];
  return {
    dist: roots.map((r) => path.join(r, "frontend", "dist", `${name}.esm.js`)),
    source: roots.flatMap((r) => [path.join(r, "frontend", `${name}.js`), path.join(r, "frontend", `${name}.ts`)]),
  };
}

export function loadEsm(name: string): string {
  const hit = cache.get(name);
  if (hit) return hit;
  const { dist, source } = candidates(name);
  let text: string | undefined;
  const built = dist.find((p) => existsSync(p));
  if (built) text = readFileSync(built, "utf8");
  else {
    const src = source.find((p) => existsSync(p));
    if (!src) throw new Error(`widget front-end module "${name}" not found; run npm run build`);
    let esbuild: any;
    try {
      esbuild = require("esbuild");
    } catch {
      throw new Error(`widgets/frontend/dist/${name}.esm.js is missing and esbuild is not installed; run npm run build`);
    }
    const res = esbuild.buildSync({ entryPoints: [src], bundle: true, format: "esm", platform: "browser", target: "es2020", minify: true, legalComments: "none", write: false });
    text = res.outputFiles[0].text as string;
  }
  cache.set(name, text!);
  return text!;
}
