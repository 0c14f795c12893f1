/**
 * Trainer throughput (tokens/s). The small family is measured here, on this
 * machine (one epoch of the default model, 1 thread); the HF family when the
 * python can import transformers, else the recorded GPU run
 * (data/bench/trainer-gpu.json, made by src/trainer/gpu_check.py) is quoted
 * with its date and device.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PYTHON, ROOT, pythonHas, readReports, runTrainer, tmpRoot, writeTrial } from "../test/trainer/helpers";

async function measure(name: string, over: Parameters<typeof writeTrial>[1]) {
  const root = tmpRoot();
  try {
    const dir = path.join(root, name);
    writeTrial(dir, over);
    const t0 = Date.now();
    const r = await runTrainer(dir);
    if (r.code !== 0) throw new Error(`${name}: trainer exited ${r.code}: ${r.stderr.slice(-500)}`);
    return { reports: readReports(dir), wall: (Date.now() - t0) / 1000 };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

const f = (x: unknown, d = 0) => (typeof x === "number" ? x.toFixed(d) : String(x));

export async function run(): Promise<string> {
  const out: string[] = ["## Trainer throughput", ""];
  out.push(`Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "CPU"}, load ${os.loadavg()[0].toFixed(2)}; python ${PYTHON}.`, "");
  const small = await measure("small", { max_t: 2, config: { lr: 1e-3, bs: 16 }, trainer: { model: "small" } });
  out.push("Small family (byte-level transformer, d_model 96, 2 layers, 65,536 tokens per epoch, bs 16, 1 thread):", "");
  out.push("| t | eval_loss | epoch time (s) | tokens/s |", "|---|---|---|---|");
  for (const r of small.reports) out.push(`| ${r.t} | ${f(r.eval_loss, 4)} | ${f(r.epoch_time_s, 2)} | ${f(r.tokens_per_s)} |`);
  out.push("", `Process wall time for 2 epochs incl. start-up: ${small.wall.toFixed(1)} s.`, "");
  const blas = fs.existsSync("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3");
  out.push(blas ? "BLAS: OpenBLAS (libopenblas0-pthread)." : "BLAS: reference BLAS: install libopenblas0-pthread for ~20× faster CPU training.", "");
  if (pythonHas("transformers")) {
    const hf = await measure("hf", { max_t: 1, config: { lr: 5e-4, bs: 2 }, trainer: { model: "tiny-bloom", train_examples: 200, eval_examples: 20 } });
    const r = hf.reports[0];
    out.push(`HF family (tiny-bloom via Trainer) on this machine: ${f(r.tokens_per_s)} tokens/s, epoch ${f(r.epoch_time_s, 2)} s (200 × 512-byte chunks).`, "");
  } else {
    const p = path.join(ROOT, "data", "bench", "trainer-gpu.json");
    if (fs.existsSync(p)) {
      const g = JSON.parse(fs.readFileSync(p, "utf8"));
      out.push(`HF family: transformers not importable here; recorded GPU run of ${g.date} on ${g.device} (torch ${g.torch}, transformers ${g.transformers}), ${g.summary.model}, ${g.summary.data}, bs ${g.summary.batch_size}:`, "");
      out.push("| run | t | eval_loss | epoch time (s) | tokens/s | lr at epoch end | precision |", "|---|---|---|---|---|---|---|");
      for (const e of g.summary.epochs) out.push(`| ${e.run} | ${e.t} | ${f(e.eval_loss, 4)} | ${f(e.epoch_time_s, 2)} | ${f(e.tokens_per_s)} | ${e.lr.toExponential(2)} | ${e.precision} |`);
      out.push("", `Contract checks on the GPU: ${Object.entries(g.checks).filter(([, v]) => v).length}/${Object.keys(g.checks).length} passed. Run B restored run A's t=3 checkpoint with lr 1e-4.`, "");
    } else out.push("HF family: transformers not importable and no recorded GPU run (data/bench/trainer-gpu.json).", "");
  }
  return out.join("\n");
}

if (require.main === module) run().then((s) => console.log(s));
