#!/usr/bin/env node
// Bundles the widgets' browser modules (widgets/frontend/*.js|ts) into
// widgets/frontend/dist/<name>.esm.js with esbuild: ES modules with every
// dependency (vega, vega-lite, vega-embed) inlined, so the text can travel in
// an anywidget `_esm` trait and load from a Blob URL with no network.
// Runs offline; called by `npm run build` after tsc.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

async function main() {
  const esbuild = require("esbuild");
  const dir = path.join(__dirname, "frontend");
  const out = path.join(dir, "dist");
  fs.mkdirSync(out, { recursive: true });
  const entries = fs.readdirSync(dir).filter((f) => /\.(js|ts)$/.test(f) && !f.endsWith(".d.ts"));
  for (const f of entries) {
    const name = f.replace(/\.(js|ts)$/, "");
    const outfile = path.join(out, `${name}.esm.js`);
    await esbuild.build({
      entryPoints: [path.join(dir, f)],
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2020",
      minify: true,
      legalComments: "none",
      outfile,
      logLevel: "warning",
    });
    console.log(`widgets/build.js: ${path.relative(process.cwd(), outfile)} ${(fs.statSync(outfile).size / 1024).toFixed(0)} KiB`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
