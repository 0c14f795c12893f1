#!/usr/bin/env node
// `npm run bench`: runs every bench/<area>.ts module's `run()` and gathers
// their Markdown sections into one report (bench/REPORT.md and stdout),
// headed by the machine's description. A module that fails is reported as
// such; the others still run. `node bench/run.js <name>…` runs only the
// modules whose file name contains a name and replaces only their marked
// sections of REPORT.md (bench/report.js); the rest of the report is kept.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { build, replaceSections } = require("./report");

const root = path.resolve(__dirname, "..");
const only = process.argv.slice(2);
const files = fs.readdirSync(__dirname).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")).sort()
  .filter((f) => !only.length || only.some((o) => f.includes(o)));

function machine() {
  const cpus = os.cpus();
  let gpu = "none";
  const smi = spawnSync("nvidia-smi", ["--query-gpu=name,memory.total", "--format=csv,noheader"], { encoding: "utf8" });
  if (smi.status === 0) gpu = smi.stdout.trim().split("\n").join("; ");
  return [
    `- date: ${new Date().toISOString()}`,
    `- host: ${os.type()} ${os.release()} ${os.arch()}, ${cpus.length} × ${cpus[0] ? cpus[0].model : "?"}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- node ${process.version}; GPU: ${gpu}${gpu === "none" ? " (GPU parts use recorded figures or are skipped, each section says which)" : ""}`,
  ].join("\n");
}

const header = `# tunelab benchmark report\n\n${machine()}\n`;
const sections = [];
for (const f of files) {
  const t0 = Date.now();
  process.stderr.write(`[bench] ${f} ...\n`);
  const code = `require(${JSON.stringify(path.join(__dirname, f))}).run().then((s) => { process.stdout.write("\\u0000BENCH\\u0000" + s); process.exit(0); }, (e) => { console.error(e && e.stack || e); process.exit(1); });`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", code], { cwd: root, encoding: "utf8", maxBuffer: 64 << 20, timeout: 15 * 60 * 1000 });
  const out = r.stdout || "";
  const i = out.indexOf("\u0000BENCH\u0000");
  if (r.status === 0 && i >= 0) sections.push({ file: f, text: out.slice(i + 7).trim() + `\n\n_(${f}: ${((Date.now() - t0) / 1000).toFixed(1)} s)_\n` });
  else sections.push({ file: f, text: `## ${f}\n\nFAILED (exit ${r.status}):\n\n\`\`\`\n${(r.stderr || "").slice(-2000)}\n\`\`\`\n` });
}
const file = path.join(__dirname, "REPORT.md");
const report = only.length
  ? replaceSections(fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "", header, sections)
  : build(header, sections);
fs.writeFileSync(file + ".tmp", report);
fs.renameSync(file + ".tmp", file);
process.stdout.write((only.length ? sections.map((s) => s.text).join("\n") : report) + "\n");
