/**
 * widgets/esm.ts: the bundle is built when missing and rebuilt when a
 * front-end source is newer than it (a stale bundle would ship an old
 * front-end). The widgets dir here is a temp copy with a small build.js
 * that writes the bundle from the source (a real process, as build.js runs).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { esmFile, newestSourceMtime } from "../../widgets/esm";

const BUILD_JS = `
const fs = require("node:fs"), path = require("node:path");
const dir = path.join(__dirname, "frontend");
fs.mkdirSync(path.join(dir, "dist"), { recursive: true });
fs.appendFileSync(path.join(__dirname, "builds.log"), "x");
const src = fs.readFileSync(path.join(dir, "w.js"), "utf8") + fs.readFileSync(path.join(dir, "lib", "dep.js"), "utf8");
fs.writeFileSync(path.join(dir, "dist", "w.esm.js"), "// bundled\\n" + src);
`;

function fixture(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-esm-"));
  fs.mkdirSync(path.join(dir, "frontend", "lib"), { recursive: true });
  fs.writeFileSync(path.join(dir, "build.js"), BUILD_JS);
  fs.writeFileSync(path.join(dir, "frontend", "w.js"), "export const v = 1;\n");
  fs.writeFileSync(path.join(dir, "frontend", "lib", "dep.js"), "export const d = 1;\n");
  return dir;
}
const builds = (dir: string) => (fs.existsSync(path.join(dir, "builds.log")) ? fs.readFileSync(path.join(dir, "builds.log"), "utf8").length : 0);
/** mtime set explicitly: no sleeping for the clock to move */
const touch = (p: string, secondsAgo: number) => { const t = new Date(Date.now() - secondsAgo * 1000); fs.utimesSync(p, t, t); };

test("esmFile: builds a missing bundle, reuses a fresh one, rebuilds when a source (also in a subfolder) is newer", () => {
  const dir = fixture();
  try {
    const file = esmFile("w", dir);
    assert.equal(file, path.join(dir, "frontend", "dist", "w.esm.js"));
    assert.equal(builds(dir), 1);
    assert.equal(fs.readFileSync(file, "utf8"), "// bundled\nexport const v = 1;\nexport const d = 1;\n");

    // sources older than the bundle: no rebuild
    touch(path.join(dir, "frontend", "w.js"), 60);
    touch(path.join(dir, "frontend", "lib", "dep.js"), 60);
    touch(file, 30);
    esmFile("w", dir);
    assert.equal(builds(dir), 1);

    // a changed source: rebuilt, new content
    fs.writeFileSync(path.join(dir, "frontend", "w.js"), "export const v = 2;\n");
    assert.ok(newestSourceMtime(path.join(dir, "frontend")) > fs.statSync(file).mtimeMs);
    esmFile("w", dir);
    assert.equal(builds(dir), 2);
    assert.match(fs.readFileSync(file, "utf8"), /v = 2/);

    // a changed dependency in lib/
    touch(file, 30);
    fs.writeFileSync(path.join(dir, "frontend", "lib", "dep.js"), "export const d = 3;\n");
    esmFile("w", dir);
    assert.equal(builds(dir), 3);
    assert.match(fs.readFileSync(file, "utf8"), /d = 3/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("esmFile: a stale bundle whose rebuild fails is still used; a missing one is a clear error", () => {
  const dir = fixture();
  try {
    const file = esmFile("w", dir);
    touch(file, 30);
    fs.writeFileSync(path.join(dir, "build.js"), "process.exit(3);\n");
    assert.equal(esmFile("w", dir), file);
    fs.rmSync(file);
    assert.throws(() => esmFile("w", dir), /widgets\/frontend\/dist\/w\.esm\.js is missing and .*build\.js failed/);
    fs.rmSync(path.join(dir, "build.js"));
    assert.throws(() => esmFile("w", dir), /widget front-end module "w" not found .*; run npm run build/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
