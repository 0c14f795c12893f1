#!/usr/bin/python3
"""Run recorded curves through Optuna's SuccessiveHalvingPruner (Optuna 3.1).

stdin: {"reduction_factor": int, "min_resource": int, "min_early_stopping_rate": int,
        "direction": "minimize"|"maximize",
        "curves": {"<trial>": [v_step1, v_step2, ...]},   (null = NaN)
        "order": [["<trial>", step], ...]}                 (the fixed arrival order)
stdout: {"<trial>": {"state": "pruned"|"complete", "step": <last step reported>}}

Trials are created with study.ask() in the order of their first event; each
event reports one step (trial.report) and asks should_prune(), exactly as an
objective would; a pruned trial ignores its later events.
"""
import json
import math
import sys

import optuna

optuna.logging.set_verbosity(optuna.logging.ERROR)


def main() -> None:
    spec = json.load(sys.stdin)
    pruner = optuna.pruners.SuccessiveHalvingPruner(
        min_resource=spec["min_resource"],
        reduction_factor=spec["reduction_factor"],
        min_early_stopping_rate=spec.get("min_early_stopping_rate", 0),
    )
    study = optuna.create_study(direction=spec.get("direction", "minimize"), pruner=pruner,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    curves = spec["curves"]
    trials = {}
    out = {}
    for name, step in spec["order"]:
        if name in out:
            continue
        if name not in trials:
            trials[name] = study.ask()
        trial = trials[name]
        v = curves[name][step - 1]
        value = math.nan if v is None else float(v)
        trial.report(value, step)
        if trial.should_prune():
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            out[name] = {"state": "pruned", "step": step}
        elif step == len(curves[name]):
            study.tell(trial, value if not math.isnan(value) else None,
                       state=optuna.trial.TrialState.COMPLETE if not math.isnan(value) else optuna.trial.TrialState.FAIL)
            out[name] = {"state": "complete", "step": step}
    json.dump(out, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
