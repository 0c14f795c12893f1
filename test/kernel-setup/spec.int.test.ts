/** The installed spec as Debian's jupyter_client sees it (starts a Python process). */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { cli } from "../../kernel-setup/spec";

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-spec-"));
}

test("Debian's jupyter kernelspec sees the installed spec through JUPYTER_PATH", () => {
  const dir = tmp();
  try {
    assert.equal(cli(["install", "--data-dir", dir]), 0);
    const r = spawnSync("/usr/bin/python3", ["-m", "jupyter_client.kernelspecapp", "list", "--json"], {
      env: { ...process.env, JUPYTER_PATH: dir, JUPYTER_DATA_DIR: dir },
      encoding: "utf8",
    });
    const specs = JSON.parse(r.stdout).kernelspecs;
    assert.equal(specs.tunelab?.spec.display_name, "TypeScript (tunelab)");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
