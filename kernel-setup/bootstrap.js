#!/usr/bin/env node
/**
 * One idempotent set-up step that `npm run workshop`, `npm test` and
 * `npm run bench` call first. It never half-installs silently: each step
 * either succeeds, is already done, or stops with what to do by hand.
 *
 *   1. system packages (Debian + root: apt-get; elsewhere: print the list and stop)
 *   2. npm ci when node_modules is missing or older than package-lock.json
 *   3. build (tsc + widget bundle) when a source is newer than the build
 *   4. link the package so notebooks can `import ... from "tunelab"` and `npx tunelab` works
 *   5. install the `tunelab` Jupyter kernel spec (absolute paths)
 *   6. the workshop's JupyterLab 4 notebook page (kernel-setup/lab: its own
 *      npm ci when its node_modules is missing or older than its lockfile,
 *      then its esbuild bundle when a source is newer than the bundle)
 *
 * Flags: --for-tests (also the packages tests need), --no-apt, --quiet.
 */
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const args = new Set(process.argv.slice(2));
const forTests = args.has("--for-tests");
const quiet = args.has("--quiet");

/** Debian packages: what the workshop needs, and what the tests add. */
// libopenblas0-pthread: Debian's torch otherwise falls back to reference BLAS (~20x slower trainer).
const APT_WORKSHOP = ["jupyter-notebook", "python3-ipykernel", "jupyter-client", "python3-torch", "python3-numpy", "libopenblas0-pthread"];
const APT_TESTS = [
  "jupyter-nbconvert", "python3-nbconvert", "python3-nbclient", "python3-jupyter-client", "python3-zmq",
  "python3-optuna", "python3-pandas", "slurm-wlm", "munge", "openssh-server", "openssh-client",
  "slurmdbd", "mariadb-server", "chromium",
  // `script` (a real pty for the terminal 2FA prompt test); essential on Debian, named so slim images get it too
  "bsdutils",
];

function log(msg) { if (!quiet) process.stderr.write(`[bootstrap] ${msg}\n`); }
function fail(msg) { process.stderr.write(`\n[bootstrap] cannot continue:\n${msg}\n`); process.exit(1); }
function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { stdio: quiet ? "pipe" : "inherit", cwd: root, ...opts });
  if (r.error) return { ok: false, msg: String(r.error) };
  return { ok: r.status === 0, status: r.status, out: r.stdout ? String(r.stdout) : "" };
}

function isDebian() { return fs.existsSync("/etc/debian_version") && fs.existsSync("/usr/bin/dpkg-query"); }
function missingDebs(pkgs) {
  return pkgs.filter((p) => {
    const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", p], { encoding: "utf8" });
    return r.status !== 0 || !/install ok installed/.test(r.stdout);
  });
}

function systemPackages() {
  if (args.has("--no-apt") || process.env.TUNELAB_NO_APT === "1") return;
  const want = forTests ? [...APT_WORKSHOP, ...APT_TESTS] : APT_WORKSHOP;
  if (!isDebian()) {
    // Not Debian: we cannot know the package manager; say exactly what is needed.
    const py = spawnSync("python3", ["-c", "import notebook, torch"], { encoding: "utf8" });
    if (py.status === 0) return;
    fail(
      "tunelab needs Jupyter and PyTorch in the python3 on PATH. Install them, then run this again:\n" +
      "  pip install jupyterlab jupyterlab_widgets anywidget torch\n" +
      "  (or: conda install -c conda-forge jupyterlab jupyterlab_widgets anywidget pytorch)\n" +
      (forTests ? "Tests also need SLURM (slurmctld, slurmd, munge), sshd and Chromium; they run on Debian (see .ci/run).\n" : ""),
    );
  }
  const missing = missingDebs(want);
  if (!missing.length) { log("system packages: present"); return; }
  if (process.getuid && process.getuid() !== 0) {
    fail(`missing Debian packages: ${missing.join(" ")}\nInstall them with:\n  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing.join(" ")}`);
  }
  log(`installing Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  let r = run("apt-get", ["update", "-qq"], { env });
  if (!r.ok) fail("apt-get update failed (see above).");
  r = run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { env });
  if (!r.ok) fail(`apt-get install failed for: ${missing.join(" ")}`);
  const still = missingDebs(want);
  if (still.length) fail(`still missing after apt-get: ${still.join(" ")}`);
}

function newestMtime(p) {
  let newest = 0;
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  for (const e of fs.readdirSync(p, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name === "dist" || e.name.startsWith(".")) continue;
    newest = Math.max(newest, newestMtime(path.join(p, e.name)));
  }
  return newest;
}

function npmDeps() {
  const marker = path.join(root, "node_modules", ".package-lock.json");
  const lock = path.join(root, "package-lock.json");
  const m = fs.statSync(marker, { throwIfNoEntry: false });
  const l = fs.statSync(lock, { throwIfNoEntry: false });
  if (m && l && m.mtimeMs >= l.mtimeMs) { log("npm packages: present"); return; }
  log("npm ci");
  const r = run("npm", ["ci", "--no-audit", "--no-fund"]);
  if (!r.ok) fail("npm ci failed (see above). The npm registry must be reachable.");
}

function build() {
  const stamp = path.join(root, "dist", ".build-stamp");
  const srcNewest = Math.max(
    ...["src", "widgets", "kernel-setup", "bench", "tsconfig.json", "package-lock.json"].map((d) => newestMtime(path.join(root, d))),
  );
  const st = fs.statSync(stamp, { throwIfNoEntry: false });
  if (st && st.mtimeMs >= srcNewest && !args.has("--rebuild")) { log("build: up to date"); return; }
  log("building (tsc + widget bundle)");
  const tsc = run(process.execPath, [path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"]);
  if (!tsc.ok) fail("TypeScript build failed (see above).");
  if (fs.existsSync(path.join(root, "widgets", "build.js"))) {
    const w = run(process.execPath, [path.join(root, "widgets", "build.js")]);
    if (!w.ok) fail("widget bundle failed (see above).");
  }
  fs.mkdirSync(path.dirname(stamp), { recursive: true });
  fs.writeFileSync(stamp, new Date().toISOString() + "\n");
}

function link() {
  // notebooks/ resolve "tunelab" through node_modules (tslab's TS 5.0 ignores
  // `exports`; it reads package.json main/types), and npx finds .bin/tunelab.
  const nm = path.join(root, "node_modules");
  const self = path.join(nm, "tunelab");
  const lst = fs.lstatSync(self, { throwIfNoEntry: false });
  if (!lst || !lst.isSymbolicLink() || fs.readlinkSync(self) !== "..") {
    fs.rmSync(self, { recursive: true, force: true });
    fs.symlinkSync("..", self, "dir");
  }
  const binDir = path.join(nm, ".bin");
  fs.mkdirSync(binDir, { recursive: true });
  const bin = path.join(binDir, "tunelab");
  const target = path.join("..", "..", "bin", "tunelab.js");
  const bst = fs.lstatSync(bin, { throwIfNoEntry: false });
  if (!bst || !bst.isSymbolicLink() || fs.readlinkSync(bin) !== target) {
    fs.rmSync(bin, { force: true });
    fs.symlinkSync(target, bin);
  }
  if (fs.existsSync(path.join(root, "bin", "tunelab.js"))) fs.chmodSync(path.join(root, "bin", "tunelab.js"), 0o755);
  log("linked: node_modules/tunelab, node_modules/.bin/tunelab");
}

function labPage() {
  const dir = path.join(root, "kernel-setup", "lab");
  if (!fs.existsSync(path.join(dir, "package.json"))) return;
  const marker = fs.statSync(path.join(dir, "node_modules", ".package-lock.json"), { throwIfNoEntry: false });
  const lock = fs.statSync(path.join(dir, "package-lock.json"), { throwIfNoEntry: false });
  if (!marker || !lock || marker.mtimeMs < lock.mtimeMs) {
    log("npm ci in kernel-setup/lab (the JupyterLab 4 notebook page)");
    const r = run("npm", ["ci", "--no-audit", "--no-fund"], { cwd: dir });
    if (!r.ok) fail("npm ci in kernel-setup/lab failed (see above). The npm registry must be reachable.");
  }
  const page = require(path.join(dir, "build.js"));
  if (!page.stale() && !args.has("--rebuild")) { log("notebook page: up to date"); return; }
  log("building the notebook page (kernel-setup/lab)");
  const r = run(process.execPath, [path.join(dir, "build.js")]);
  if (!r.ok) fail("building the notebook page failed (see above).");
}

function kernelSpec() {
  const spec = path.join(root, "dist", "kernel-setup", "spec.js");
  if (!fs.existsSync(spec)) fail("dist/kernel-setup/spec.js is missing after the build.");
  const r = run(process.execPath, [spec, "install", "--user"]);
  if (!r.ok) fail("installing the tunelab kernel spec failed (see above).");
}

systemPackages();
npmDeps();
build();
link();
kernelSpec();
labPage();
log("ready");
