/**
 * The notebook page's packages (kernel-setup/lab, its own lockfile) and the
 * root's: exact pins of the versions shown to work, a lockfile that matches
 * them, and no package that refuses the Node versions package.json's
 * "engines" admits (vega-lite 6.5 and puppeteer-core 25 want Node 22).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
// npm's own range semantics (semver is in the tree through vega-embed; it ships no types)
// eslint-disable-next-line @typescript-eslint/no-var-requires
const semver: { valid(v: string): string | null; validRange(r: string): string | null; satisfies(v: string, r: string): boolean; minVersion(r: string): { version: string } | null } = require("semver");

const ROOT = path.resolve(__dirname, "..", "..", "..");
const LAB = path.join(ROOT, "kernel-setup", "lab");
const json = (p: string) => JSON.parse(fs.readFileSync(p, "utf8"));

test("kernel-setup/lab pins exact versions and its lockfile holds them", () => {
  const pkg = json(path.join(LAB, "package.json"));
  const lock = json(path.join(LAB, "package-lock.json"));
  for (const [name, spec] of Object.entries<string>(pkg.dependencies)) {
    const exact = spec.startsWith("npm:") ? spec.slice(spec.lastIndexOf("@") + 1) : spec;
    assert.ok(semver.valid(exact), `${name}: ${spec} is not an exact version`);
    assert.equal(lock.packages[`node_modules/${name}`]?.version, exact, `${name} in the lockfile`);
  }
  assert.equal(pkg.dependencies["@jupyter-widgets/jupyterlab-manager"].split(".")[0], "5", "jupyterlab-manager 5.x (JupyterLab 4)");
  assert.equal(pkg.dependencies["@jupyterlab/notebook"].split(".")[0], "4");
});

test("every locked package (root and kernel-setup/lab) runs on the oldest Node that engines admits, and on this one", () => {
  const engines: string = json(path.join(ROOT, "package.json")).engines.node;
  const oldest = semver.minVersion(engines)!.version;
  assert.ok(semver.satisfies(process.versions.node, engines), `this Node ${process.versions.node} is admitted by ${engines}`);
  const refused: string[] = [];
  for (const dir of [ROOT, LAB]) {
    for (const [p, v] of Object.entries<any>(json(path.join(dir, "package-lock.json")).packages)) {
      const want = v.engines?.node;
      if (typeof want === "string" && semver.validRange(want) && !semver.satisfies(oldest, want)) refused.push(`${path.relative(ROOT, dir) || "."}: ${p} wants node ${want}`);
    }
  }
  assert.deepEqual(refused, [], `engines says ${engines}`);
});
