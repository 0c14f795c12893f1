#!/usr/bin/env python3
"""A warm trainer process: runs successive trials in one interpreter (Ray's reuse_actors).

Why: every trial, every PBT pause/resume and every exploit used to be a new
Python process, and its start-up (interpreter, `import torch` /
`transformers`, CUDA context) was billed as device time: ~2 s per run on
this CPU, ~20 s on a GPU.  A worker pays it once per slot; the next trial
finds the modules imported and the device initialised.

The trial contract (docs/design.md §2) is unchanged: each trial runs the
same trainer script, in-process, with TUNELAB_TRIAL_DIR set to its own
directory, and writes the same files there (metrics.jsonl, checkpoints/,
stdout.log, stderr.log; exit.json as the one-shot wrapper writes it).  So
attach and accounting read a trial the same way whichever process ran it.

Usage: python3 worker.py --dir WORKER_DIR [--idle-timeout S] [--layout local|slurm]
--layout slurm keeps the SLURM backend's trial files (jobscript.ts run.sh):
the trial's stdout and stderr go to trainer.out with the TUNELAB START /
FINISH stamps, cwd is the trial dir, the exit status goes to `exitcode`
(not exit.json); the first job's start counts from TUNELAB_WORKER_START (the
batch script's own start, so setup lines are start-up too); and a job whose
trial dir has control.json (a stop/pause that reached it before the job
did) ends at once with code 0, without running.
The worker's environment is its trials' environment (the backend gives a
worker only trials with the same interpreter, script and trainer env).

Files in WORKER_DIR (written by the backend unless noted):
  job-<seq>.json  {"seq", "trial_dir", "argv": [script, args...]}: run it
                  (the worker deletes it when it takes it, after writing current)
  current         (worker) the trial dir of the job running now: the
                  wrapper writes that trial's exit.json if the worker dies
  quit            exit once idle
  retire          (worker) this process takes no further jobs (after a
                  crash, an idle timeout or quit); written before the
                  exit.json of its last job, so the backend never hands a
                  job to a process that is leaving
  worker.log      (worker) its own output outside jobs

Signals: during a job, the trainer's own handlers (SIGUSR1/SIGTERM =
checkpoint, report, exit 0) apply; a signal that arrives before the trainer
installed them is handed over (`pending_signal`, read by train.py); while
idle, signals are ignored (a stop that raced with the trial's own end).

Exit status of a job (exit.json "code"): SystemExit's code (0 = completed /
stopped / preempted, 2 = bad input), 1 for an uncaught exception (its
traceback in the trial's stderr.log).  After a code other than 0 or 2 the
worker retires: a crashed run may leave the process (CUDA) in a bad state.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import runpy
import signal
import sys
import time
import traceback
import types

WORKER_T0 = time.monotonic()  # the first job's start-up counts from the worker's own start
POLL_S = 0.05

# shared with train.py (it looks the module up in sys.modules): a signal that came
# between taking a job and the trainer installing its handlers
state = types.ModuleType("tunelab_worker")
state.pending_signal = None  # type: ignore[attr-defined]
state.jobs_run = 0  # type: ignore[attr-defined]
state.in_job = False  # type: ignore[attr-defined]
sys.modules["tunelab_worker"] = state


def _on_signal(signum, _frame):
    if state.in_job:  # type: ignore[attr-defined]
        state.pending_signal = signum  # type: ignore[attr-defined]


def _install_idle_handlers() -> None:
    signal.signal(signal.SIGUSR1, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


def _write_atomic(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _next_job(wdir: str):
    seqs = []
    for name in os.listdir(wdir):
        if name.startswith("job-") and name.endswith(".json"):
            try:
                seqs.append(int(name[4:-5]))
            except ValueError:
                continue
    for seq in sorted(seqs):
        path = os.path.join(wdir, f"job-{seq}.json")
        try:
            with open(path) as f:
                job = json.load(f)
        except (OSError, ValueError):
            continue  # written atomically by the backend; a partial one is never seen
        # "current" before the job file goes: at every instant one of them says where the trial is
        _write_atomic(os.path.join(wdir, "current"), job["trial_dir"])
        os.remove(path)
        return job
    return None


def _exit_code(e: SystemExit) -> int:
    c = e.code
    if c is None:
        return 0
    if isinstance(c, int):
        return c
    sys.stderr.write(f"{c}\n")  # as the interpreter does for sys.exit("message")
    return 1


def run_job(job, t0: float, slurm: bool = False) -> int:
    """Run one trial in-process with the trial's own stdout/stderr; returns its exit code."""
    tdir = job["trial_dir"]
    argv = list(job["argv"])
    saved_env = dict(os.environ)
    saved_path = list(sys.path)
    saved_cwd = os.getcwd()
    sys.stdout.flush()
    sys.stderr.flush()
    out_fd, err_fd = os.dup(1), os.dup(2)
    if slurm:
        o = os.open(os.path.join(tdir, "trainer.out"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        e = os.dup(o)
    else:
        o = os.open(os.path.join(tdir, "stdout.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        e = os.open(os.path.join(tdir, "stderr.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(o, 1)
    os.dup2(e, 2)
    os.close(o)
    os.close(e)
    code = 0
    try:
        os.environ["TUNELAB_TRIAL_DIR"] = tdir
        if slurm:
            os.chdir(tdir)  # as run.sh does for a one-shot trial
        sys.argv = argv
        sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
        try:
            # __tunelab_t0__: where this run's start-up is measured from (train.py's PROCESS_T0)
            runpy.run_path(argv[0], run_name="__main__",
                           init_globals={"__tunelab_t0__": t0, "__tunelab_warm__": state.jobs_run > 0})  # type: ignore[attr-defined]
        except SystemExit as ex:
            code = _exit_code(ex)
        except KeyboardInterrupt:
            traceback.print_exc()
            code = 130
        except BaseException:  # noqa: BLE001 - any crash of a trial is its failure, not the worker's
            traceback.print_exc()
            code = 1
    finally:
        state.in_job = False  # type: ignore[attr-defined]
        _install_idle_handlers()
        state.pending_signal = None  # type: ignore[attr-defined]
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        os.close(out_fd)
        os.close(err_fd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.path[:] = saved_path
        try:
            os.chdir(saved_cwd)
        except OSError:
            pass
        sys.exc_info()
        gc.collect()
        torch = sys.modules.get("torch")
        if torch is not None:
            try:
                if torch.cuda.is_available() and torch.cuda.is_initialized():
                    torch.cuda.empty_cache()  # the next trial gets the memory this one freed
            except Exception:  # noqa: BLE001
                pass
    return code


def _stamp(tdir: str, line: str) -> None:
    with open(os.path.join(tdir, "trainer.out"), "a") as f:
        f.write(line + "\n")


def _run_slurm_job(job, t0: float, first: bool, wdir: str) -> int:
    """A job of the SLURM layout: run.sh's START stamp, then the trial (unless a stop/pause already came)."""
    tdir = job["trial_dir"]
    start = time.time()
    ws = os.environ.get("TUNELAB_WORKER_START")
    if first and ws:
        try:
            # the batch script's start: its setup lines and this interpreter's start are the first trial's start-up
            start = min(start, float(ws))
            t0 = min(t0, time.monotonic() - (time.time() - start))
        except ValueError:
            pass
    _stamp(tdir, f"TUNELAB START {start:.6f} job={os.environ.get('SLURM_JOB_ID', '')} worker={os.path.basename(wdir)} "
                 f"warm={int(not first)} host={os.uname().nodename} gpus={os.environ.get('CUDA_VISIBLE_DEVICES', '')}")
    state.in_job = True  # type: ignore[attr-defined]  # from here a signal is kept for the trainer (pending_signal)
    if os.path.exists(os.path.join(tdir, "control.json")):
        _stamp(tdir, "TUNELAB SKIP (a stop or pause came before the trial started)")
        state.in_job = False  # type: ignore[attr-defined]
        state.pending_signal = None  # type: ignore[attr-defined]
        return 0
    return run_job(job, t0, slurm=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="tunelab warm trainer worker (runs successive trials)")
    ap.add_argument("--dir", required=True, help="the worker directory the backend writes job files to")
    ap.add_argument("--idle-timeout", type=float, default=120.0,
                    help="exit after this many seconds without a job (a backend that went away)")
    ap.add_argument("--layout", choices=["local", "slurm"], default="local",
                    help="which backend's trial files to write (see the module docstring)")
    args = ap.parse_args(argv)
    slurm = args.layout == "slurm"
    wdir = os.path.abspath(args.dir)
    _install_idle_handlers()
    idle_since = time.monotonic()
    retiring = False
    print(f"tunelab-worker: pid {os.getpid()} ready in {wdir}", flush=True)
    while True:
        job = _next_job(wdir)
        if job is None:
            if retiring:
                return 0
            if os.path.exists(os.path.join(wdir, "quit")) or time.monotonic() - idle_since > args.idle_timeout:
                _write_atomic(os.path.join(wdir, "retire"), f"{time.time()}\n")
                retiring = True
                # a job the backend wrote just before it could see "retire" is still run
                time.sleep(2 * POLL_S)
                continue
            time.sleep(POLL_S)
            continue
        t0 = WORKER_T0 if state.jobs_run == 0 else time.monotonic()  # type: ignore[attr-defined]
        tdir = job["trial_dir"]
        if slurm:
            code = _run_slurm_job(job, t0, state.jobs_run == 0, wdir)  # type: ignore[attr-defined]
        else:
            state.in_job = True  # type: ignore[attr-defined]
            code = run_job(job, t0)
        state.jobs_run += 1  # type: ignore[attr-defined]
        if code not in (0, 2):
            _write_atomic(os.path.join(wdir, "retire"), f"{time.time()} after exit code {code}\n")
            retiring = True
        end_ms = int(time.time() * 1000)
        if slurm:
            _stamp(tdir, f"TUNELAB FINISH {time.time():.6f} rc={code}")
            _write_atomic(os.path.join(tdir, "exitcode"), f"{code}\n")
        else:
            _write_atomic(os.path.join(tdir, "exit.json"), json.dumps({"code": code, "end_ms": end_ms}) + "\n")
        os.remove(os.path.join(wdir, "current"))
        print(f"tunelab-worker: job {job.get('seq')} ({os.path.basename(tdir)}) exit {code}", flush=True)
        if retiring:
            return 0
        idle_since = time.monotonic()


if __name__ == "__main__":
    sys.exit(main())
