import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cli, installKernelSpec, kernelSpecDir, removeKernelSpec, userDataDir } from "../../kernel-setup/spec";

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-spec-"));
}

test("installKernelSpec writes kernels/tunelab/kernel.json with absolute paths, idempotently", () => {
  const dir = tmp();
  try {
    const first = installKernelSpec({ dataDir: dir });
    assert.equal(first.changed, true);
    const spec = JSON.parse(fs.readFileSync(path.join(dir, "kernels", "tunelab", "kernel.json"), "utf8"));
    assert.equal(spec.display_name, "TypeScript (tunelab)");
    assert.equal(spec.language, "typescript");
    assert.equal(spec.interrupt_mode, "message");
    assert.equal(spec.argv[0], process.execPath);
    assert.ok(path.isAbsolute(spec.argv[1]) && spec.argv[1].endsWith(path.join("dist", "kernel-setup", "kernel", "main.js")));
    assert.equal(spec.argv[2], "{connection_file}");
    assert.equal(installKernelSpec({ dataDir: dir }).changed, false);
    assert.equal(removeKernelSpec({ dataDir: dir }), true);
    assert.equal(fs.existsSync(kernelSpecDir({ dataDir: dir })), false);
    assert.equal(removeKernelSpec({ dataDir: dir }), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("--prefix installs under PREFIX/share/jupyter; the user dir honours JUPYTER_DATA_DIR", () => {
  const dir = tmp();
  try {
    assert.equal(kernelSpecDir({ prefix: dir }), path.join(dir, "share", "jupyter", "kernels", "tunelab"));
    assert.equal(userDataDir({ JUPYTER_DATA_DIR: dir }), dir);
    assert.equal(userDataDir({ XDG_DATA_HOME: "/x" }), process.platform === "linux" ? "/x/jupyter" : userDataDir({ XDG_DATA_HOME: "/x" }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the CLI rejects unknown commands and options with usage", () => {
  assert.equal(cli(["frobnicate"]), 2);
  assert.equal(cli(["install", "--bogus"]), 2);
  assert.equal(cli(["install", "--prefix"]), 2);
});
