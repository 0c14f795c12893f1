/**
 * Rendering what runs on the cluster for a trial: `trial.json`, `run.sh`
 * (environment, the user's setup lines, signal forwarding, START/FINISH
 * stamps, the trainer, resume-after-requeue) and the sbatch script (a single
 * job or one job array for many trials). Every user string is either shell
 * quoted (`shq`) or checked against what `#SBATCH` lines accept; the setup
 * lines are the one exception: they are the user's own shell code by intent.
 */
import type { SlurmBackendSpec } from "../../config/types";
import type { TrialJson, TrialLaunch } from "../types";
import { envName, sbatchValue, shq, shqArgv } from "./quote";

/** `#SBATCH` directives shared by every trial of an experiment. */
export interface JobOptions {
  jobName: string;
  gpus: number;
  partition?: string;
  account?: string;
  qos?: string;
  reservation?: string;
  time?: string;
  cpusPerTrial?: number;
  memPerTrial?: string;
  constraint?: string;
  /** seconds before the time limit at which the batch shell gets USR1 */
  signalGrace: number;
}

export function jobOptionsFrom(spec: SlurmBackendSpec, jobName: string, gpus: number): JobOptions {
  return {
    jobName,
    gpus,
    partition: spec.partition,
    account: spec.account,
    qos: spec.qos,
    reservation: spec.reservation,
    time: spec.time,
    cpusPerTrial: spec.cpusPerTrial,
    memPerTrial: spec.memPerTrial,
    constraint: spec.constraint,
    signalGrace: spec.signalGrace ?? 120,
  };
}

/** A job name sbatch accepts on a `#SBATCH` line: unsafe characters become "_". */
export function safeJobName(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 64) || "tunelab";
}

/** A warm worker's job differs: TERM at the time limit (the worker leaves, its trial checkpoints) and no requeue (the backend resumes the trial in another worker). */
export interface HeaderVariant {
  signal: "USR1" | "TERM";
  requeue: boolean;
}

export function sbatchHeader(o: JobOptions, output: string, array?: string, v: HeaderVariant = { signal: "USR1", requeue: true }): string {
  const L = ["#!/bin/bash"];
  const d = (flag: string, field: string, v: string | number | undefined) => {
    if (v !== undefined && v !== "") L.push(`#SBATCH --${flag}=${sbatchValue(field, v)}`);
  };
  d("job-name", "name", safeJobName(o.jobName));
  d("output", "remoteDir", output);
  d("error", "remoteDir", output);
  d("partition", "partition", o.partition);
  d("account", "account", o.account);
  d("qos", "qos", o.qos);
  d("reservation", "reservation", o.reservation);
  d("time", "time", o.time);
  if (o.gpus > 0) d("gres", "gpusPerTrial", `gpu:${Math.floor(o.gpus)}`);
  d("cpus-per-task", "cpusPerTrial", o.cpusPerTrial);
  d("mem", "memPerTrial", o.memPerTrial);
  d("constraint", "constraint", o.constraint);
  d("signal", "signalGrace", `B:${v.signal}@${Math.max(1, Math.floor(o.signalGrace))}`);
  L.push(v.requeue ? "#SBATCH --requeue" : "#SBATCH --no-requeue");
  L.push("#SBATCH --open-mode=append");
  if (array) d("array", "maxConcurrent", array);
  return L.join("\n") + "\n";
}

/**
 * trial.json with one top-level key per line, so that run.sh can rewrite
 * `restore_from` / `start_t` after a requeue without a JSON parser.
 */
export function renderTrialJson(t: TrialJson): string {
  const o: Record<string, unknown> = {
    trial_id: t.trial_id,
    experiment: t.experiment,
    config: t.config,
    max_t: t.max_t,
    start_t: t.start_t,
    restore_from: t.restore_from,
    seed: t.seed,
    metric: t.metric,
    mode: t.mode,
  };
  if (t.pause_at) o.pause_at = t.pause_at;
  if (t.trainer) o.trainer = t.trainer;
  const lines = Object.entries(o).map(([k, v]) => ` ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return "{\n" + lines.join(",\n") + "\n}\n";
}

/** The per-trial body, run by the batch shell (`exec bash run.sh`, so traps see the job's signals). */
export function renderRunScript(a: { dir: string; launch: TrialLaunch; setup: string[]; python?: string }): string {
  const { dir, launch } = a;
  const argv = withPython(launch.command, a.python);
  if (argv.length === 0) throw new Error(`trial ${launch.trialId}: empty trainer command`);
  const env = { ...launch.env, TUNELAB_TRIAL_DIR: dir };
  const exports = Object.entries(env).map(([k, v]) => `export ${envName(k)}=${shq(v)}`);
  return [
    "#!/bin/bash",
    `# tunelab trial ${JSON.stringify(launch.trialId)} (generated; do not edit)`,
    `DIR=${shq(dir)}`,
    'cd "$DIR" || exit 97',
    'exec >>"$DIR/trainer.out" 2>&1',
    'JOBKEY="${SLURM_ARRAY_JOB_ID:+${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}}"; JOBKEY="${JOBKEY:-$SLURM_JOB_ID}"',
    'echo "TUNELAB START $(date +%s.%N) job=$JOBKEY restart=${SLURM_RESTART_COUNT:-0} host=$(hostname) gpus=${CUDA_VISIBLE_DEVICES:-}"',
    'rm -f "$DIR/exitcode" "$DIR/.signalled"',
    // requeued (preempted, node lost, time limit): resume from the latest checkpoint named in metrics.jsonl
    'if [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ] && [ -f metrics.jsonl ]; then',
    '  L=$(grep \'"checkpoint": *"[^"]\' metrics.jsonl | tail -n 1)',
    '  CK=$(printf \'%s\' "$L" | sed -n \'s/.*"checkpoint": *"\\([^"\\\\]*\\)".*/\\1/p\')',
    '  T=$(printf \'%s\' "$L" | sed -n \'s/.*"t": *\\([0-9][0-9]*\\).*/\\1/p\')',
    '  if [ -n "$CK" ] && [ -n "$T" ]; then',
    '    while IFS= read -r line; do case "$line" in',
    '      \' "restore_from": \'*) printf \' "restore_from": "%s",\\n\' "$DIR/$CK";;',
    '      \' "start_t": \'*) printf \' "start_t": %s,\\n\' "$T";;',
    '      *) printf \'%s\\n\' "$line";; esac; done < trial.json > trial.json.tmp && mv -f trial.json.tmp trial.json',
    '    echo "TUNELAB RESUME t=$T from $CK"',
    "  fi",
    "fi",
    ...exports,
    "# --- setup lines (user shell code) ---",
    ...a.setup.flatMap((l) => l.split(/\r?\n/)),
    "# --- trainer ---",
    "set +e",
    `${shqArgv(argv)} &`,
    "PID=$!",
    // forward the job's signals to the trainer (it checkpoints, reports and exits 0)
    'trap \'touch "$DIR/.signalled"; kill -USR1 $PID 2>/dev/null\' USR1',
    "trap 'kill -TERM $PID 2>/dev/null' TERM",
    "rc=0",
    "while :; do wait $PID; rc=$?; kill -0 $PID 2>/dev/null || break; done",
    'echo "$rc" > "$DIR/exitcode.tmp" && mv -f "$DIR/exitcode.tmp" "$DIR/exitcode"',
    'echo "TUNELAB FINISH $(date +%s.%N) rc=$rc"',
    // the time-limit warning (not a pause we asked for): come back from the checkpoint
    'if [ "$rc" -eq 0 ] && [ -f "$DIR/.signalled" ] && [ ! -f "$DIR/.pause" ]; then scontrol requeue "$JOBKEY"; fi',
    "exit $rc",
    "",
  ].join("\n");
}

/** argv with a bare python / python3 replaced by backend.python. */
function withPython(argv: string[], python?: string): string[] {
  if (python && argv.length > 0 && /^python3?$/.test(argv[0])) return [python, ...argv.slice(1)];
  return argv.slice();
}

/**
 * A warm worker's body (reuseProcesses, slurm-workers.ts): the trainer env and
 * setup lines of its trials (they share them: workerKey), then worker.py, which
 * runs the trials handed to it as job files. The batch shell forwards USR1 (a
 * per-trial stop or pause: the current trial checkpoints and exits 0, the
 * worker stays) and TERM (scancel, the time limit, preemption: the worker
 * leaves after its trial). A worker killed inside a trial leaves that trial's
 * `exitcode`, written here, as a one-shot run.sh would.
 */
export function renderWorkerRunScript(a: { dir: string; launch: TrialLaunch; setup: string[]; python?: string; workerPy: string; idleTimeoutS: number }): string {
  const py = withPython([a.launch.command[0]], a.python)[0];
  const env = { ...a.launch.env, TUNELAB_WORKER_DIR: a.dir };
  const exports = Object.entries(env).map(([k, v]) => `export ${envName(k)}=${shq(v)}`);
  return [
    "#!/bin/bash",
    "# tunelab warm worker (generated; do not edit)",
    `WDIR=${shq(a.dir)}`,
    'cd "$WDIR" || exit 97',
    'export TUNELAB_WORKER_START="$(date +%s.%N)"',
    'exec >>"$WDIR/worker.log" 2>&1',
    'echo "TUNELAB WORKER START $TUNELAB_WORKER_START job=$SLURM_JOB_ID host=$(hostname) gpus=${CUDA_VISIBLE_DEVICES:-}"',
    ...exports,
    "export PYTHONUNBUFFERED=1",
    "# --- setup lines (user shell code) ---",
    ...a.setup.flatMap((l) => l.split(/\r?\n/)),
    "# --- worker ---",
    "set +e",
    `${shqArgv([py, a.workerPy, "--dir", a.dir, "--idle-timeout", String(Math.max(1, Math.floor(a.idleTimeoutS))), "--layout", "slurm"])} &`,
    "PID=$!",
    "trap 'kill -USR1 $PID 2>/dev/null' USR1",
    'trap \'touch "$WDIR/quit"; kill -TERM $PID 2>/dev/null\' TERM',
    "rc=0",
    "while :; do wait $PID; rc=$?; kill -0 $PID 2>/dev/null || break; done",
    'if [ -f "$WDIR/current" ]; then',
    '  d=$(cat "$WDIR/current")',
    '  if [ -n "$d" ] && [ ! -f "$d/exitcode" ]; then',
    '    echo "TUNELAB FINISH $(date +%s.%N) rc=$rc (the worker died inside the trial)" >> "$d/trainer.out"',
    '    echo "$rc" > "$d/exitcode.tmp" && mv -f "$d/exitcode.tmp" "$d/exitcode"',
    "  fi",
    "fi",
    'echo "TUNELAB WORKER FINISH $(date +%s.%N) rc=$rc"',
    "exit $rc",
    "",
  ].join("\n");
}

/** sbatch script for a warm worker. */
export function renderWorkerJobScript(o: JobOptions, dir: string): string {
  return sbatchHeader(o, `${dir}/slurm-%j.out`, undefined, { signal: "TERM", requeue: false }) + `exec bash ${shq(dir + "/run.sh")}\n`;
}

/** sbatch script for one trial. */
export function renderJobScript(o: JobOptions, dir: string): string {
  return sbatchHeader(o, `${dir}/slurm-%j.out`) + `exec bash ${shq(dir + "/run.sh")}\n`;
}

/** sbatch script for a job array: task i runs trial dirs[i]. */
export function renderArrayScript(o: JobOptions, batchDir: string, dirs: string[], maxConcurrent?: number): string {
  const range = `0-${dirs.length - 1}` + (maxConcurrent && maxConcurrent > 0 ? `%${Math.floor(maxConcurrent)}` : "");
  const cases = dirs.map((d, i) => `  ${i}) exec bash ${shq(d + "/run.sh")} ;;`);
  return (
    sbatchHeader(o, `${batchDir}/slurm-%A_%a.out`, range) +
    'case "$SLURM_ARRAY_TASK_ID" in\n' +
    cases.join("\n") +
    '\n  *) echo "unknown array task $SLURM_ARRAY_TASK_ID"; exit 98 ;;\nesac\n'
  );
}

/** Shell lines that write `content` to `file` atomically (base64, so any bytes survive). */
export function writeFileLines(file: string, content: string | Buffer): string {
  const b64 = Buffer.from(content).toString("base64").replace(/(.{76})/g, "$1\n");
  return `base64 -d > ${shq(file + ".tmp")} <<'TL_B64_EOF'\n${b64}\nTL_B64_EOF\nmv -f ${shq(file + ".tmp")} ${shq(file)}\n`;
}
