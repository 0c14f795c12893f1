#!/usr/bin/env node
/**
 * Bundles the workshop's notebook page (src/index.ts) with esbuild into
 * dist/tunelab/{index.html,page.js,page.css}; the Jupyter server serves that
 * folder at <base_url>static/tunelab/ (kernel-setup/workshop.ts).
 *
 *   node kernel-setup/lab/build.js            build
 *   node kernel-setup/lab/build.js --if-stale build only when a source or the lockfile is newer than the bundle
 *
 * Needs this folder's own node_modules (npm ci here; the bootstrap does it).
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const HERE = __dirname;
const OUT = path.join(HERE, "dist", "tunelab");
const STAMP = path.join(HERE, "dist", ".build-stamp");
const SOURCES = [path.join(HERE, "src"), path.join(HERE, "page.css"), path.join(HERE, "build.js"), path.join(HERE, "package-lock.json")];

function newest(p) {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...fs.readdirSync(p).map((e) => newest(path.join(p, e))));
}

/** True when the bundle is missing or older than a source or the lockfile. */
function stale() {
  const st = fs.statSync(STAMP, { throwIfNoEntry: false });
  return !st || !fs.existsSync(path.join(OUT, "page.js")) || Math.max(...SOURCES.map(newest)) > st.mtimeMs;
}

function packageVersion(dir) {
  return JSON.parse(fs.readFileSync(path.join(HERE, "node_modules", dir, "package.json"), "utf8")).version;
}

// JupyterLab's CSS imports other packages' CSS webpack-style (`~pkg/file.css`).
const tildePlugin = {
  name: "strip-webpack-tilde",
  setup(build) {
    build.onResolve({ filter: /^~/ }, (args) => build.resolve(args.path.slice(1), { resolveDir: args.resolveDir, kind: args.kind }));
  },
};

// anywidget's builds as text, with the version each registers (the exports map hides its package.json).
const anywidgetPlugin = {
  name: "anywidget-builds",
  setup(build) {
    build.onResolve({ filter: /^anywidget-builds$/ }, () => ({ path: "anywidget-builds", namespace: "anywidget-builds" }));
    build.onLoad({ filter: /.*/, namespace: "anywidget-builds" }, () => {
      const builds = {};
      for (const [key, dir] of [["default", "anywidget"], ["0.9", "anywidget-0.9"]]) {
        builds[key] = { version: packageVersion(dir), source: fs.readFileSync(path.join(HERE, "node_modules", dir, "dist", "index.js"), "utf8") };
      }
      return { contents: JSON.stringify(builds), loader: "json" };
    });
  },
};

const HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>tunelab notebooks</title><link rel="stylesheet" href="page.css"></head>
<body class="jp-ThemedContainer"><script src="page.js"></script></body></html>
`;

async function build() {
  if (!fs.existsSync(path.join(HERE, "node_modules", "@jupyterlab", "notebook"))) {
    throw new Error(`kernel-setup/lab/node_modules is missing: run \`npm ci\` in ${HERE} (node kernel-setup/bootstrap.js does it)`);
  }
  const esbuild = require(path.join(HERE, "node_modules", "esbuild"));
  const t0 = Date.now();
  fs.mkdirSync(OUT, { recursive: true });
  await esbuild.build({
    entryPoints: { page: path.join(HERE, "src", "index.ts") },
    bundle: true,
    minify: true,
    format: "iife",
    platform: "browser",
    target: "es2022",
    outdir: OUT,
    nodePaths: [path.join(HERE, "node_modules")],
    loader: { ".woff": "dataurl", ".woff2": "dataurl", ".ttf": "dataurl", ".eot": "dataurl", ".svg": "dataurl", ".png": "dataurl", ".gif": "dataurl" },
    define: { "process.env.NODE_ENV": '"production"', global: "window" },
    plugins: [tildePlugin, anywidgetPlugin],
    logLevel: "error",
    legalComments: "none",
  });
  fs.writeFileSync(path.join(OUT, "index.html"), HTML);
  fs.writeFileSync(STAMP, new Date().toISOString() + "\n");
  const kb = (f) => Math.round(fs.statSync(path.join(OUT, f)).size / 1024);
  process.stderr.write(`kernel-setup/lab: built dist/tunelab (page.js ${kb("page.js")} KiB, page.css ${kb("page.css")} KiB) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}

module.exports = { build, stale, OUT };

if (require.main === module) {
  const ifStale = process.argv.includes("--if-stale");
  if (ifStale && !stale()) process.exit(0);
  build().catch((e) => {
    process.stderr.write(`kernel-setup/lab build failed: ${e.message}\n`);
    process.exit(1);
  });
}
