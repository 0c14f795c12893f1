/**
 * Turns (python, gpus per trial, deepspeed config) into the trainer's argv.
 * Used by the local and SLURM backends so both start trials the same way.
 *
 * - CPU or 1 GPU: `python train.py` (no launcher: signals reach the trainer directly).
 * - >1 GPU: `python -m torch.distributed.run --standalone --nproc_per_node=N train.py`
 *   (torchrun through the same python, so no PATH lookup), one node. We prefer
 *   torchrun over the `deepspeed` launcher even with a DeepSpeed config: HF's
 *   Trainer initialises DeepSpeed itself from `deepspeed=<config>`, torchrun
 *   ships with torch (the deepspeed launcher needs deepspeed and a hostfile),
 *   and the trainer then falls back to a plain DDP run when deepspeed is
 *   missing. `launcher: "deepspeed"` picks `deepspeed --num_gpus N` instead.
 * - nodes > 1: torchrun with `--nnodes` and a c10d rendezvous at `rdzvEndpoint`
 *   (host:port, required: the caller knows the first node of the allocation).
 *
 * Signals with >1 GPU: torchrun itself dies on SIGUSR1 (no handler). To pause
 * a multi-GPU trial send SIGUSR1 to the worker processes (torchrun's children;
 * in SLURM `scancel --signal=USR1 --full`), or SIGTERM to torchrun, which
 * forwards it to the workers; each worker then checkpoints and exits 0.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export interface TrainerCommandOptions {
  /** Python interpreter; default "/usr/bin/python3" (Debian's, with torch). */
  python?: string;
  /** GPUs per trial (0 = CPU). */
  gpus: number;
  /** DeepSpeed config name or path; passed to the trainer via trial.json, not argv. */
  deepspeed?: string | null;
  /** train.py path; default the bundled one. */
  script?: string;
  /** Nodes per trial (default 1). */
  nodes?: number;
  /** Multi-GPU launcher: "torchrun" (default) or "deepspeed". */
  launcher?: "torchrun" | "deepspeed";
  /** host:port of the c10d rendezvous, required when nodes > 1 (e.g. the first node of the allocation). */
  rdzvEndpoint?: string;
  /** Fail instead of a plain run when deepspeed is not importable. */
  requireDeepspeed?: boolean;
}

/** Absolute path of train.py, from src/trainer/ or from the compiled dist/src/trainer/. */
export function defaultTrainerScript(): string {
  const candidates = [
    path.join(__dirname, "train.py"),
    path.resolve(__dirname, "..", "..", "..", "src", "trainer", "train.py"), // dist/src/trainer → src/trainer
    path.resolve(__dirname, "..", "..", "src", "trainer", "train.py"),
  ];
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new Error(`train.py not found; looked in ${candidates.join(", ")}`);
}

export function trainerCommand(o: TrainerCommandOptions): string[] {
  const python = o.python ?? "/usr/bin/python3";
  const script = o.script ?? defaultTrainerScript();
  const gpus = o.gpus;
  const nodes = o.nodes ?? 1;
  if (!Number.isInteger(gpus) || gpus < 0) throw new Error(`gpus must be an integer >= 0, got ${gpus}`);
  if (!Number.isInteger(nodes) || nodes < 1) throw new Error(`nodes must be an integer >= 1, got ${nodes}`);
  const tail = o.requireDeepspeed ? ["--require-deepspeed"] : [];
  if (gpus <= 1 && nodes === 1) return [python, script, ...tail];
  if (o.launcher === "deepspeed") {
    if (nodes > 1) throw new Error("the deepspeed launcher needs a hostfile for several nodes: use launcher \"torchrun\"");
    return ["deepspeed", `--num_gpus=${gpus}`, script, ...tail];
  }
  const per = Math.max(1, gpus);
  if (nodes > 1 && !o.rdzvEndpoint) throw new Error("nodes > 1 needs rdzvEndpoint (host:port of the rendezvous)");
  if (o.rdzvEndpoint && !/^[A-Za-z0-9.\-]+:\d+$/.test(o.rdzvEndpoint)) throw new Error(`rdzvEndpoint must be host:port, got ${JSON.stringify(o.rdzvEndpoint)}`);
  const rdzv = nodes > 1
    ? [`--nnodes=${nodes}`, "--rdzv_backend=c10d", `--rdzv_endpoint=${o.rdzvEndpoint}`]
    : ["--standalone", "--nnodes=1"];
  return [python, "-m", "torch.distributed.run", ...rdzv, `--nproc_per_node=${per}`, script, ...tail];
}
