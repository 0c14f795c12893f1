#!/usr/bin/env node
// Bundles the widgets' browser modules (widgets/frontend/*.js|ts) into
// widgets/frontend/dist/<name>.esm.js with esbuild: ES modules with every
// dependency inlined, so the text can travel in an anywidget `_esm` trait and
// load from a Blob URL with no network. The heavy vega part
// (frontend/lib/vega-lib.js) is bundled first and embedded as a string
// (import "tunelab:vega-lib-source"), imported lazily on first render.
// Runs offline; called by `npm run build` after tsc.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const dir = path.join(__dirname, "frontend");
const out = path.join(dir, "dist");

/** One minified browser ES module, as anywidget's `_esm` and the vega library source need. */
const ESM_BROWSER = { bundle: true, format: "esm", platform: "browser", target: "es2020", minify: true, legalComments: "none" };

async function bundleToString(esbuild, entry) {
  const res = await esbuild.build({
    ...ESM_BROWSER,
    entryPoints: [entry],
    write: false,
    logLevel: "warning",
  });
  return res.outputFiles[0].text;
}

async function main() {
  const esbuild = require("esbuild");
  fs.mkdirSync(out, { recursive: true });
  const vegaLib = await bundleToString(esbuild, path.join(dir, "lib", "vega-lib.js"));
  const virtual = {
    name: "tunelab-virtual",
    setup(build) {
      build.onResolve({ filter: /^tunelab:vega-lib-source$/ }, (a) => ({ path: a.path, namespace: "tunelab" }));
      build.onLoad({ filter: /.*/, namespace: "tunelab" }, () => ({ contents: `export default ${JSON.stringify(vegaLib)};`, loader: "js" }));
    },
  };
  const entries = fs.readdirSync(dir).filter((f) => /\.(js|ts)$/.test(f) && !f.endsWith(".d.ts"));
  for (const f of entries) {
    const name = f.replace(/\.(js|ts)$/, "");
    const outfile = path.join(out, `${name}.esm.js`);
    const res = await esbuild.build({
      ...ESM_BROWSER,
      entryPoints: [path.join(dir, f)],
      outfile,
      write: false,
      plugins: [virtual],
      logLevel: "warning",
    });
    // temp file + rename: a kernel reading the bundle while it is rebuilt (widgets/esm.ts) never sees half of it
    const tmp = `${outfile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, res.outputFiles[0].contents);
    fs.renameSync(tmp, outfile);
    console.log(`widgets/build.js: ${path.relative(process.cwd(), outfile)} ${(fs.statSync(outfile).size / 1024).toFixed(0)} KiB`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
