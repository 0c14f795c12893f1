import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { forwardPath, installedAbove } from "../../../kernel-setup/kernel/resolve";

test("forwardPath maps <cwd>/node_modules/tunelab/... onto the package root and leaves other paths alone", () => {
  const cwd = "/srv/course/team-a/ana";
  assert.equal(forwardPath(cwd, "/opt/tunelab", "/srv/course/team-a/ana/node_modules/tunelab/package.json"), "/opt/tunelab/package.json");
  assert.equal(forwardPath(cwd, "/opt/tunelab", "/srv/course/team-a/ana/node_modules/tunelab"), "/opt/tunelab");
  assert.equal(forwardPath(cwd, "/opt/tunelab", "/srv/course/team-a/ana/node_modules/tunelab/dist/src/index.d.ts"), "/opt/tunelab/dist/src/index.d.ts");
  assert.equal(forwardPath(cwd, "/opt/tunelab", "/srv/course/team-a/ana/node_modules/tunelab-other/x.d.ts"), "/srv/course/team-a/ana/node_modules/tunelab-other/x.d.ts");
  assert.equal(forwardPath(cwd, "/opt/tunelab", "/srv/course/team-a/node_modules/tunelab/package.json"), "/srv/course/team-a/node_modules/tunelab/package.json");
});

test("installedAbove finds a user's own node_modules/tunelab in an ancestor, and nothing in a bare folder", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-resolve-"));
  try {
    const deep = path.join(dir, "a", "b");
    fs.mkdirSync(deep, { recursive: true });
    assert.equal(installedAbove(deep), null);
    fs.mkdirSync(path.join(dir, "node_modules", "tunelab"), { recursive: true });
    fs.writeFileSync(path.join(dir, "node_modules", "tunelab", "package.json"), "{}");
    assert.equal(installedAbove(deep), path.join(dir, "node_modules", "tunelab"));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
