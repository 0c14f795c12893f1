/**
 * GPU-time accounting for finished jobs: from sacct (AllocTRES gres/gpu ×
 * ElapsedRaw, summed over requeued runs) when the cluster has slurmdbd, else
 * from the job's own times as squeue/scontrol report them and the GPUs the
 * trial requested. Queue wait (start − submit) is kept apart from run time.
 */
import type { JobInfo, SacctRow } from "./poll";

export interface Accounting {
  gpuSeconds: number;
  runSeconds: number;
  queueSeconds: number;
  gpus: number;
  source: string;
}

/** "billing=1,cpu=1,gres/gpu=2,node=1" or "gres:gpu:2" / "gres/gpu:a100:2" → 2 */
export function gpusFromTres(s: string): number | null {
  const m = /gres[\/:]gpu(?::[A-Za-z0-9_.-]+)?[=:](\d+)/.exec(s) ?? /gres[\/:]gpu=(\d+)/.exec(s);
  return m ? Number(m[1]) : null;
}

/** SLURM times ("2026-11-28T08:31:12", local to the cluster) → ms; null for N/A, Unknown, None. */
export function parseSlurmTime(s: string | undefined): number | null {
  if (!s || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(s)) return null;
  const v = new Date(s).getTime();
  return Number.isFinite(v) ? v : null;
}

function secs(a: number | null, b: number | null): number {
  return a !== null && b !== null && b >= a ? (b - a) / 1000 : 0;
}

/** sacct rows of one job (several with -D when it was requeued). */
export function fromSacct(rows: SacctRow[], requestedGpus: number): Accounting {
  let gpuSeconds = 0;
  let runSeconds = 0;
  let gpus = 0;
  for (const r of rows) {
    const g = gpusFromTres(r.allocTres) ?? (r.elapsed > 0 ? requestedGpus : 0);
    gpus = Math.max(gpus, g);
    gpuSeconds += g * r.elapsed;
    runSeconds += r.elapsed;
  }
  const first = rows[0];
  const queueSeconds = first ? secs(parseSlurmTime(first.submit), parseSlurmTime(first.start)) : 0;
  return { gpuSeconds, runSeconds, queueSeconds, gpus: gpus || requestedGpus, source: "sacct" };
}

/** From the job's times (no slurmdbd): requested GPUs × (end − start). */
export function fromJobTimes(info: JobInfo | undefined, requestedGpus: number): Accounting {
  const submit = parseSlurmTime(info?.submit);
  const start = parseSlurmTime(info?.start);
  const end = parseSlurmTime(info?.end);
  const runSeconds = secs(start, end);
  const gpus = (info && gpusFromTres(info.tres)) ?? requestedGpus;
  return { gpuSeconds: gpus * runSeconds, runSeconds, queueSeconds: secs(submit, start), gpus, source: "squeue" };
}

/** A trial run by a warm worker: its own START→FINISH time (summed over resumed runs); the worker's job spans other trials too. */
export function fromTrialStamps(runSeconds: number, firstStart: number | null, submittedAtMs: number | undefined, gpus: number): Accounting {
  const queueSeconds = firstStart !== null && submittedAtMs !== undefined ? Math.max(0, firstStart - submittedAtMs / 1000) : 0;
  return { gpuSeconds: gpus * runSeconds, runSeconds, queueSeconds, gpus, source: "trial stamps (warm worker)" };
}
