#!/usr/bin/env python3
"""tunelab's bundled trainer: the trial contract (docs/design.md §2).

This file owns the contract and nothing else: reading trial.json, validating
hyperparameters, appending report lines, naming and pruning checkpoints,
decision points, and graceful preemption.  The model families (small_lm.py,
hf_family.py) train and call back into `Trial`; data.py loads text.

Usage:  TUNELAB_TRIAL_DIR=<dir> python3 train.py [--require-deepspeed]
        python3 train.py --trial-dir <dir>
        (or in a warm process, one trial after another: worker.py runs this
        file in-process per trial, with the same files and exit codes)

Report lines (metrics.jsonl, one JSON object per line, written whole with a
single write + flush + fsync):
  {"t", "<metric>", "time_total_s", "checkpoint", "trial_id", "train_loss",
   "tokens_per_s", "lr", ...}
  * t is the epoch (1-based), continuing from start_t; with trainer.evalEvery
    (a fraction of an epoch, or N steps) t counts evaluations instead: each
    evaluation is one report, and max_t is then a number of evaluations.
  * A non-finite value (NaN/inf: a diverged run) is written as null, and the
    line carries "diverged": true.  JSON has no NaN; treat null as worst.
  * time_total_s: seconds spent training and evaluating, summed over the
    trial's earlier runs in the same directory (the last line's value), not
    counting time spent waiting at decision points.
  * A preemption line (SIGUSR1/SIGTERM) has "preempted": true, repeats the t
    and metric of the last *completed* epoch (it is not a new result), and
    names a checkpoint that holds the position inside the next epoch
    ("partial_steps"): restoring from it with start_t = that t continues the
    epoch where it stopped.  Before any epoch completed, the metric is null.

Checkpoints: checkpoints/t0003.pt (small) or checkpoints/t0003/ (HF), saved
after every epoch by default (trainer.checkpoint_every, 0 = only at decision
points, preemption and the end); the last two epoch checkpoints are kept plus
every decision-point one; preemption ones are named
checkpoints/t0003-preempt.pt and kept.

Decision points: after the report for a t in pause_at (t < max_t), the
checkpoint is in that line and the trainer polls (0.2 s) for
decision-<t>.json = {"action": "continue"|"stop"}; stop exits 0.  A signal
while waiting appends a preemption line naming that checkpoint and exits 0.

Exit codes: 0 completed / stopped / preempted; 2 bad input (one line on
stderr starting "tunelab-trainer: error:"); 1 an unexpected crash.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import sys
import time
from typing import Any, Callable, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

HP_ALIASES = {
    "lr": ("lr", "learning_rate"),
    "weight_decay": ("weight_decay", "wd"),
    "batch_size": ("batch_size", "bs", "per_device_bs", "per_device_train_batch_size"),
}
HP_DEFAULTS = {"lr": 1e-3, "weight_decay": 0.0, "batch_size": 16}
HF_HP_DEFAULTS = {"lr": 5e-5, "weight_decay": 0.0, "batch_size": 1}
SMALL_MODELS = ("small",)
HF_BUILTIN = ("tiny-bloom",)
POLL_S = 0.2
# start-up (imports, model, data, device) is measured from here; in a warm worker
# (worker.py) from the moment it took the job (its first job: from the worker's start)
PROCESS_T0 = globals().get("__tunelab_t0__") or time.monotonic()
WARM = bool(globals().get("__tunelab_warm__"))  # this process ran a trial before


class InputError(Exception):
    """Bad trial.json / hyperparameter / model / data: exit 2 with one line."""


def fail(msg: str, code: int = 2) -> None:
    sys.stderr.write(f"tunelab-trainer: error: {msg}\n")
    sys.stderr.flush()
    sys.exit(code)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def family_of(model: str) -> str:
    """'small' or 'hf'; an unknown name is an input error (no guessing)."""
    if model in SMALL_MODELS:
        return "small"
    if model in HF_BUILTIN or "/" in model or os.path.isdir(model):
        return "hf"
    raise InputError(f"unknown model {model!r}: use 'small', 'tiny-bloom', a hub id such as "
                     f"'bigscience/bloomz-560m', or a local model directory")


def parse_hparams(config: Dict[str, Any], family: str) -> Dict[str, Any]:
    if not isinstance(config, dict):
        raise InputError("config must be an object of hyperparameters")
    out: Dict[str, Any] = dict(HF_HP_DEFAULTS if family == "hf" else HP_DEFAULTS)
    for name, aliases in HP_ALIASES.items():
        given = [a for a in aliases if a in config]
        if len(given) > 1:
            raise InputError(f"config gives {name} twice ({', '.join(given)})")
        if given:
            out[name] = config[given[0]]
    lr, wd, bs = out["lr"], out["weight_decay"], out["batch_size"]
    if not _finite(lr) or lr <= 0:
        raise InputError(f"config.lr must be a finite number > 0, got {lr!r}")
    if not _finite(wd) or wd < 0:
        raise InputError(f"config.weight_decay must be a finite number >= 0, got {wd!r}")
    if not _finite(bs) or bs != int(bs) or bs < 1:
        raise InputError(f"config.batch_size must be an integer >= 1, got {bs!r}")
    out["lr"], out["weight_decay"], out["batch_size"] = float(lr), float(wd), int(bs)
    known = {a for al in HP_ALIASES.values() for a in al}
    extra = sorted(k for k in config if k not in known)
    if extra:
        sys.stderr.write(f"tunelab-trainer: warning: hyperparameters not used by this trainer: {', '.join(extra)}\n")
    return out


def parse_eval_every(v: Any):
    """(evaluations per epoch, steps per evaluation or None) from trainer.evalEvery.

    Unset or 1: once per epoch.  0 < v < 1: a fraction of an epoch, whose
    inverse must be a whole number (0.25 = 4 evaluations per epoch), so every
    epoch ends on an evaluation.  An integer v > 1: every v optimizer steps,
    counted across epochs (t = evaluations; epochs play no part in t).
    """
    if v is None or v == 1:
        return 1, None
    if not _finite(v) or v <= 0:
        raise InputError(f"trainer.evalEvery must be a fraction of an epoch (0 < x < 1, e.g. 0.25) or a whole number of steps, got {v!r}")
    if v < 1:
        k = round(1 / v)
        if abs(k * v - 1) > 1e-6:
            raise InputError(f"trainer.evalEvery {v!r}: a fraction of an epoch must be 1/k for a whole k (0.5, 0.25, 0.2, 0.1, ...)")
        return k, None
    if v != int(v):
        raise InputError(f"trainer.evalEvery {v!r}: steps must be a whole number (or give a fraction of an epoch below 1)")
    return 1, int(v)


def _int(spec: Dict[str, Any], key: str, lo: int) -> int:
    v = spec.get(key)
    if not _finite(v) or v != int(v) or v < lo:
        raise InputError(f"trial.json {key} must be an integer >= {lo}, got {v!r}")
    return int(v)


class Trial:
    """The trainer's side of the trial contract; families call its methods."""

    def __init__(self, trial_dir: str, spec: Dict[str, Any], require_deepspeed: bool = False):
        self.dir = os.path.abspath(trial_dir)
        self.spec = spec
        for key in ("trial_id", "experiment", "metric"):
            if not isinstance(spec.get(key), str) or not spec.get(key):
                raise InputError(f"trial.json {key} must be a non-empty string")
        self.trial_id: str = spec["trial_id"]
        self.metric: str = spec["metric"]
        self.mode = spec.get("mode", "min")
        if self.mode not in ("min", "max"):
            raise InputError(f"trial.json mode must be 'min' or 'max', got {self.mode!r}")
        self.max_t = _int(spec, "max_t", 1)
        self.start_t = _int({"start_t": spec.get("start_t", 0)}, "start_t", 0)
        if self.start_t > self.max_t:
            raise InputError(f"trial.json start_t ({self.start_t}) is past max_t ({self.max_t})")
        self.seed = _int({"seed": spec.get("seed", 0)}, "seed", 0)
        pa = spec.get("pause_at") or []
        if not isinstance(pa, list) or not all(_finite(x) and x == int(x) and x >= 1 for x in pa):
            raise InputError(f"trial.json pause_at must be a list of integers >= 1, got {pa!r}")
        self.pause_at = sorted({int(x) for x in pa})
        trainer = spec.get("trainer") or {}
        if not isinstance(trainer, dict):
            raise InputError("trial.json trainer must be an object")
        opts = dict(trainer.get("options") or {})
        opts.update({k: v for k, v in trainer.items() if k != "options"})
        self.options: Dict[str, Any] = opts
        self.model: str = str(opts.get("model") or "small")
        self.family = family_of(self.model)
        self.dataset: Optional[str] = opts.get("dataset")
        self.require_deepspeed = require_deepspeed or bool(opts.get("require_deepspeed", False))
        self.hparams = parse_hparams(spec.get("config", {}), self.family)
        ce = opts.get("checkpoint_every", 1)
        if not _finite(ce) or ce != int(ce) or ce < 0:
            raise InputError(f"trainer.checkpoint_every must be an integer >= 0, got {ce!r}")
        self.checkpoint_every = int(ce)
        self.evals_per_epoch, self.eval_every_steps = parse_eval_every(opts.get("evalEvery", opts.get("eval_every")))
        rf = spec.get("restore_from")
        self.restore_path: Optional[str] = None
        if rf is not None:
            if not isinstance(rf, str) or not rf:
                raise InputError("trial.json restore_from must be a path or null")
            p = rf if os.path.isabs(rf) else os.path.join(self.dir, rf)
            if not os.path.exists(p):
                raise InputError(f"restore_from not found: {p}")
            self.restore_path = p
        self.is_writer = True           # only rank 0 writes reports / files
        self.checkpoint_suffix = ".pt"  # HF checkpoints are directories: ""
        self.metrics_path = os.path.join(self.dir, "metrics.jsonl")
        self._t0 = time.monotonic()
        self._waited = 0.0
        self._time_offset = self._previous_time_total()
        self._last_t = self.start_t
        self._last_value: Optional[float] = None
        self._epoch_ckpts: List[str] = []
        self._preempt = False
        self.startup_s: Optional[float] = None
        self.base_prep_s = 0.0
        self._startup_reported = False
        self.preempt_hook: Callable[[], bool] = lambda: self._preempt

    # ------------------------------------------------------------ signals
    def install_signals(self) -> None:
        def handler(signum, _frame):
            self._preempt = True
            sys.stderr.write(f"tunelab-trainer: got {signal.Signals(signum).name}: finishing the step, then checkpoint and exit\n")
        signal.signal(signal.SIGUSR1, handler)
        signal.signal(signal.SIGTERM, handler)
        worker = sys.modules.get("tunelab_worker")
        if worker is not None and getattr(worker, "pending_signal", None) is not None:
            # a warm worker got it between taking this job and now: same meaning
            handler(worker.pending_signal, None)
            worker.pending_signal = None

    def preempt_requested(self) -> bool:
        """True once SIGUSR1/SIGTERM arrived (families may agree across ranks)."""
        return self.preempt_hook()

    # ------------------------------------------------------------ reporting
    def _previous_time_total(self) -> float:
        try:
            with open(self.metrics_path, "rb") as f:
                lines = f.read().splitlines()
            for raw in reversed(lines):
                try:
                    v = json.loads(raw).get("time_total_s")
                    if _finite(v):
                        return float(v)
                except ValueError:
                    continue
        except OSError:
            pass
        return 0.0

    def time_total(self) -> float:
        return self._time_offset + (time.monotonic() - self._t0) - self._waited

    def report(self, line: Dict[str, Any]) -> None:
        if not self.is_writer:
            return
        clean: Dict[str, Any] = {}
        diverged = False
        for k, v in line.items():
            if isinstance(v, float) and not math.isfinite(v):
                v, diverged = None, True
            clean[k] = v
        if diverged:
            clean["diverged"] = True
        data = (json.dumps(clean, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.metrics_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)  # one write: the line appears whole
            os.fsync(fd)
        finally:
            os.close(fd)

    def mark_started(self) -> None:
        """The family calls this just before its first training step: what came
        before (interpreter, imports, model, data, device) is start-up."""
        if self.startup_s is None:
            self.startup_s = time.monotonic() - PROCESS_T0 - self.base_prep_s  # a base pretrained here is not start-up

    def _line(self, t: int, metrics: Dict[str, Any], checkpoint: Optional[str]) -> Dict[str, Any]:
        line: Dict[str, Any] = {"t": t, self.metric: metrics.get(self.metric),
                                "time_total_s": round(self.time_total(), 4), "checkpoint": checkpoint,
                                "trial_id": self.trial_id}
        if self.startup_s is not None and not self._startup_reported:
            # once per run (a resume or PBT exploit is a new process): start-up apart from training
            line["startup_s"] = round(self.startup_s, 4)
            line["warm_start"] = WARM  # run by a warm worker that had run a trial before (worker.py)
            self._startup_reported = True
        for k, v in metrics.items():
            line.setdefault(k, v)
        return line

    # ------------------------------------------------------------ checkpoints
    def ckpt_rel(self, t: int, tag: str = "") -> str:
        return f"checkpoints/t{t:04d}{tag}{self.checkpoint_suffix}"

    def atomic_save(self, write: Callable[[str], None], rel: str) -> None:
        """write(tmp_path) then rename to rel, so a reader never sees half a checkpoint."""
        path = os.path.join(self.dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".tmp"
        write(tmp)
        if not self.is_writer:
            return
        if os.path.isdir(path):
            shutil.rmtree(path)
        os.replace(tmp, path)

    def _prune(self) -> None:
        keep = set(self._epoch_ckpts[-2:]) | {self.ckpt_rel(t) for t in self.pause_at}
        for rel in self._epoch_ckpts[:-2]:
            if rel in keep:
                continue
            p = os.path.join(self.dir, rel)
            if self.restore_path and os.path.abspath(p) == os.path.abspath(self.restore_path):
                continue
            shutil.rmtree(p, ignore_errors=True) if os.path.isdir(p) else (os.path.exists(p) and os.remove(p))
        self._epoch_ckpts = [r for r in self._epoch_ckpts if r in keep or r in self._epoch_ckpts[-2:]]

    def load_restore(self, loader: Callable[[str], Any]) -> Any:
        if self.restore_path is None:
            return None
        try:
            return loader(self.restore_path)
        except Exception as e:
            raise InputError(f"cannot read checkpoint {self.restore_path}: {type(e).__name__}: {e}")

    # ------------------------------------------------------------ the epoch boundary
    def end_epoch(self, t: int, metrics: Dict[str, Any], save: Callable[[str], None],
                  barrier: Callable[[], None] = lambda: None) -> None:
        """Report epoch t; checkpoint; wait at a decision point; exit on stop/preempt."""
        pause = t in self.pause_at and t < self.max_t
        due = self.checkpoint_every > 0 and (t - self.start_t) % self.checkpoint_every == 0
        rel = None
        if pause or due or t == self.max_t or self.preempt_requested():
            rel = self.ckpt_rel(t)
            save(rel)
            barrier()
            self._epoch_ckpts.append(rel)
        v = metrics.get(self.metric)
        self._last_t, self._last_value = t, v
        self.report(self._line(t, metrics, rel))
        if self.is_writer and rel:
            self._prune()
        log = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items())
        print(f"[{self.trial_id}] t={t} {log}", flush=True)
        if self.preempt_requested():
            self._preempt_line(rel, 0)
        if pause:
            self.wait_decision(t, rel)

    def wait_decision(self, t: int, rel: Optional[str]) -> None:
        path = os.path.join(self.dir, f"decision-{t}.json")
        start = time.monotonic()
        print(f"[{self.trial_id}] t={t} waiting for {os.path.basename(path)}", flush=True)
        try:
            while True:
                if self.preempt_requested():
                    self._preempt_line(rel, 0)
                if os.path.exists(path):
                    try:
                        with open(path) as f:
                            action = json.load(f).get("action")
                    except (ValueError, OSError, AttributeError):
                        action = None  # torn write: read again next poll
                    if action == "continue":
                        return
                    if action == "stop":
                        print(f"[{self.trial_id}] t={t} stop decision: exiting", flush=True)
                        sys.exit(0)
                    if action is not None:
                        fail(f"{path}: action must be 'continue' or 'stop', got {action!r}")
                time.sleep(POLL_S)
        finally:
            self._waited += time.monotonic() - start

    def preempt(self, save: Callable[[str], None], partial_steps: int) -> None:
        """Mid-epoch preemption: checkpoint the position, report, exit 0."""
        rel = self.ckpt_rel(self._last_t, "-preempt")
        save(rel)
        self._preempt_line(rel, partial_steps)

    def _preempt_line(self, rel: Optional[str], partial_steps: int) -> None:
        line = {"t": self._last_t, self.metric: self._last_value, "time_total_s": round(self.time_total(), 4),
                "checkpoint": rel, "trial_id": self.trial_id, "preempted": True, "partial_steps": partial_steps}
        self.report(line)
        print(f"[{self.trial_id}] preempted at t={self._last_t} (+{partial_steps} steps), checkpoint {rel}", flush=True)
        sys.exit(0)

    def warn(self, msg: str) -> None:
        if self.is_writer:
            sys.stderr.write(f"tunelab-trainer: warning: {msg}\n")

    def fail(self, msg: str) -> None:
        raise InputError(msg)


def read_spec(trial_dir: str) -> Dict[str, Any]:
    path = os.path.join(trial_dir, "trial.json")
    try:
        with open(path) as f:
            spec = json.load(f)
    except FileNotFoundError:
        raise InputError(f"trial.json not found in {trial_dir}")
    except ValueError as e:
        raise InputError(f"trial.json is not valid JSON: {e}")
    if not isinstance(spec, dict):
        raise InputError("trial.json must hold a JSON object")
    return spec


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="tunelab trainer (trial contract, docs/design.md §2)")
    ap.add_argument("--trial-dir", default=os.environ.get("TUNELAB_TRIAL_DIR"))
    ap.add_argument("--require-deepspeed", action="store_true", help="fail instead of a plain run when deepspeed is missing")
    args, unknown = ap.parse_known_args(argv)
    # torchrun/deepspeed launchers may add --local_rank=N: accept and ignore those only
    bad = [u for u in unknown if not re.match(r"^--local[_-]rank(=\d+)?$|^\d+$", u)]
    if bad:
        fail(f"unknown arguments: {' '.join(bad)}")
    if not args.trial_dir:
        fail("set TUNELAB_TRIAL_DIR (or --trial-dir) to the trial directory")
    try:
        trial = Trial(args.trial_dir, read_spec(args.trial_dir), args.require_deepspeed)
        family = trial.family
        if family == "small":
            small_metrics = ("eval_loss", "eval_ppl", "train_loss")
            if trial.metric not in small_metrics:
                raise InputError(f"metric {trial.metric!r} is not reported by the small model (it reports {', '.join(small_metrics)})")
        if family == "small":
            # before torch loads: one BLAS/OpenMP thread per trial by default
            # (trials run side by side; and a fixed count keeps runs reproducible)
            n = str(os.environ.get("TUNELAB_THREADS") or trial.options.get("threads") or 1)
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ[var] = n
            os.environ["TUNELAB_THREADS"] = n
        trial.install_signals()
        if trial.start_t >= trial.max_t:
            print(f"[{trial.trial_id}] start_t = max_t = {trial.max_t}: nothing to train", flush=True)
            return 0
        if family == "small":
            import small_lm
            small_lm.run(trial)
        else:
            import hf_family
            hf_family.run(trial)
    except InputError as e:
        fail(str(e))
    except Exception as e:  # data errors from data.py are input errors too
        from data import DataError
        if isinstance(e, DataError):
            fail(str(e))
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
