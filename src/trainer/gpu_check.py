#!/usr/bin/env python3
"""Runs the HuggingFace path of train.py for real (GPU machine) and records
epoch times, losses and tokens/s as JSON (data/bench/trainer-gpu.json).

Why a script and not the TS test: the GPU machine has python3 + torch +
transformers but no node.  It drives train.py exactly as a backend would
(trial.json + TUNELAB_TRIAL_DIR, decision files, signals) and checks the
contract on the way; every check lands in the JSON with pass/fail.

Usage: python3 src/trainer/gpu_check.py OUT.json [WORKDIR]
"""
from __future__ import annotations

import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN = os.path.join(HERE, "train.py")
FIXTURE = os.path.join(HERE, "..", "..", "test", "trainer", "fixtures", "squad-format")


def trial(dirname: str, **over) -> str:
    os.makedirs(dirname, exist_ok=True)
    spec = {"trial_id": os.path.basename(dirname), "experiment": "gpu-check", "config": {"lr": 5e-4, "wd": 0.0, "bs": 2},
            "max_t": 3, "start_t": 0, "restore_from": None, "seed": 1, "metric": "eval_loss", "mode": "min",
            "trainer": {"model": "tiny-bloom"}}
    spec.update(over)
    with open(os.path.join(dirname, "trial.json"), "w") as f:
        json.dump(spec, f)
    return dirname


def reports(d: str):
    p = os.path.join(d, "metrics.jsonl")
    if not os.path.exists(p):
        return []
    out = []
    for line in open(p):
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def start(d: str):
    log = open(os.path.join(d, "log.txt"), "w")
    return subprocess.Popen([sys.executable, TRAIN], env={**os.environ, "TUNELAB_TRIAL_DIR": d, "PYTHONUNBUFFERED": "1"},
                            stdout=log, stderr=subprocess.STDOUT)


def tail(d: str, n: int = 1500) -> str:
    try:
        return open(os.path.join(d, "log.txt")).read()[-n:]
    except OSError:
        return ""


def main() -> int:
    out_path = sys.argv[1]
    work = sys.argv[2] if len(sys.argv) > 2 else "/tmp/tunelab-gpu-check"
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    res = {"date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"), "checks": {}, "runs": {}}
    try:
        import torch
        import transformers
        res["torch"], res["transformers"] = torch.__version__, transformers.__version__
        res["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
        res["bf16"] = bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    except Exception as e:  # still record what we can
        res["env_error"] = repr(e)
    checks = res["checks"]

    def record(name, d, t0, rc):
        res["runs"][name] = {"rc": rc, "wall_s": round(time.time() - t0, 2), "reports": reports(d), "log_tail": tail(d)}

    # A: 3 epochs with a decision point at t=2 (answered "continue" by us)
    a = trial(os.path.join(work, "A"), max_t=3, pause_at=[2])
    t0 = time.time()
    p = start(a)
    waited_ok = None
    while p.poll() is None:
        r = reports(a)
        if any(x["t"] == 2 for x in r) and waited_ok is None:
            time.sleep(3)
            waited_ok = all(x["t"] <= 2 for x in reports(a)) and p.poll() is None
            with open(os.path.join(a, "decision-2.json"), "w") as f:
                json.dump({"action": "continue"}, f)
        time.sleep(0.2)
    record("A_tiny_bloom_3_epochs", a, t0, p.returncode)
    ra = reports(a)
    checks["A_exit_0"] = p.returncode == 0
    checks["A_t_sequence"] = [x["t"] for x in ra] == [1, 2, 3]
    checks["A_waited_at_decision_point"] = bool(waited_ok)
    checks["A_checkpoints_exist"] = all(os.path.isdir(os.path.join(a, x["checkpoint"])) for x in ra[-2:] if x.get("checkpoint"))
    checks["A_loss_falls"] = len(ra) == 3 and ra[2]["eval_loss"] < ra[0]["eval_loss"]

    # B: restore from A's t=3 checkpoint with a new lr, continue to t=5
    b = trial(os.path.join(work, "B"), max_t=5, start_t=3, restore_from=os.path.join(a, "checkpoints", "t0003"),
              config={"lr": 1e-4, "wd": 0.01, "bs": 2})
    t0 = time.time()
    p = start(b)
    p.wait()
    record("B_restore_new_lr", b, t0, p.returncode)
    rb = reports(b)
    checks["B_exit_0"] = p.returncode == 0
    checks["B_t_continues"] = [x["t"] for x in rb] == [4, 5]
    checks["B_new_lr"] = bool(rb) and rb[0].get("config_lr") == 1e-4 and rb[0]["lr"] <= 1e-4
    if rb and len(ra) == 3:
        checks["B_loss_continues_from_checkpoint"] = abs(rb[0]["eval_loss"] - ra[2]["eval_loss"]) < abs(rb[0]["eval_loss"] - ra[0]["eval_loss"])

    # C: SIGUSR1 mid-training → checkpoint, preempted line, exit 0
    c = trial(os.path.join(work, "C"), max_t=20)
    t0 = time.time()
    p = start(c)
    while p.poll() is None and not reports(c):
        time.sleep(0.2)
    time.sleep(1.0)
    p.send_signal(signal.SIGUSR1)
    p.wait()
    record("C_sigusr1", c, t0, p.returncode)
    rc_ = reports(c)
    checks["C_exit_0"] = p.returncode == 0
    checks["C_preempted_line_with_checkpoint"] = bool(rc_) and rc_[-1].get("preempted") is True and \
        os.path.isdir(os.path.join(c, rc_[-1].get("checkpoint") or "missing"))

    # D: the SQuAD code path (prompt, labels, generation, EM/F1) on a SQuAD-format fixture
    d = trial(os.path.join(work, "D"), max_t=1, trainer={"model": "tiny-bloom", "dataset": FIXTURE,
                                                         "train_examples": 8, "eval_examples": 4, "eval_generate": 4})
    t0 = time.time()
    p = start(d)
    p.wait()
    record("D_squad_format_fixture", d, t0, p.returncode)
    rd = reports(d)
    checks["D_exit_0"] = p.returncode == 0
    checks["D_em_f1_reported"] = bool(rd) and "exact_match" in rd[0] and "f1" in rd[0] and rd[0].get("dataset") == "squad"

    # E: a hub model without a hub → clear error, exit 2
    e = trial(os.path.join(work, "E"), trainer={"model": "bigscience/bloomz-560m"})
    t0 = time.time()
    p = start(e)
    p.wait()
    record("E_hub_model_offline", e, t0, p.returncode)
    checks["E_exit_2_with_message"] = p.returncode == 2 and "tunelab-trainer: error:" in tail(e)

    # summary figures
    ep = [x for x in ra + rb if "epoch_time_s" in x]
    res["summary"] = {
        "model": "tiny-bloom (BloomConfig hidden 256, 4 layers, 8 heads, byte vocab 258, random init)",
        "data": "corpus fallback (SQuAD unavailable offline): 1,000 train / 100 validation chunks of 512 bytes",
        "batch_size": 2,
        "epochs": [{"run": "A" if x in ra else "B", "t": x["t"], "eval_loss": x["eval_loss"], "train_loss": x.get("train_loss"),
                    "epoch_time_s": x["epoch_time_s"], "eval_time_s": x.get("eval_time_s"), "tokens_per_s": x["tokens_per_s"],
                    "lr": x["lr"], "precision": x.get("precision")} for x in ep],
    }
    res["all_checks_pass"] = all(checks.values())
    with open(out_path, "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps({"checks": checks, "summary": res["summary"]}, indent=1))
    return 0 if res["all_checks_pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
