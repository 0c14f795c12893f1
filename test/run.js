#!/usr/bin/env node
// Runs every test with node's test runner (TypeScript through tsx).
// `--unit` runs only tests that start no services; a path filter may follow.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const args = process.argv.slice(2);
const unitOnly = args.includes("--unit");
const filters = args.filter((a) => !a.startsWith("--"));

function walk(dir, out) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (/\.test\.(ts|js)$/.test(e.name)) out.push(p);
  }
  return out;
}
let files = walk(path.join(root, "test"), []).sort();
if (unitOnly) files = files.filter((f) => !/\.int\.test\./.test(f));
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
const res = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files],
  { cwd: root, stdio: "inherit", env: { ...process.env, TUNELAB_TEST: "1" } },
);
process.exit(res.status ?? 1);
