#!/usr/bin/python3
"""Optuna 3.1's own TPE pieces on a given observation history, for
test/searchers/tpe.test.ts: the below/above split, the Parzen estimators'
parameters (weights, mus, sigmas, categorical weights) and their log
densities at given candidates, computed by python3-optuna itself
(optuna.samplers._tpe.sampler._get_observation_pairs / _split_observation_pairs
and optuna.samplers._tpe.parzen_estimator._ParzenEstimator).

stdin: {"space": {name: {"type", "lo", "hi", "values"}}, "trials": [{"params", "state",
        "intermediate": [[step, value]], "value"}], "options": {...}, "candidates": {name: [values]}}
stdout: {"n", "gamma", "below", "above", "groups": [{"names", "below": est, "above": est,
         "logpdf_below", "logpdf_above"}]}
"""
import json
import math
import sys
import warnings

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
from optuna.samplers._tpe.sampler import _get_observation_pairs, _split_observation_pairs, default_gamma, default_weights
from optuna.trial import TrialState

warnings.simplefilter("ignore")
optuna.logging.set_verbosity(optuna.logging.ERROR)


def dist_of(d):
    if d["type"] == "loguniform":
        return FloatDistribution(d["lo"], d["hi"], log=True)
    if d["type"] == "uniform":
        return FloatDistribution(d["lo"], d["hi"])
    if d["type"] == "int":
        return IntDistribution(d["lo"], d["hi"])
    return CategoricalDistribution(d["values"])


def est_json(est, names):
    return {
        "weights": est._weights.tolist(),
        "mus": [None if est._mus[k] is None else est._mus[k].tolist() for k in names],
        "sigmas": [None if est._sigmas[k] is None else est._sigmas[k].tolist() for k in names],
        "categorical": [None if est._categorical_weights[k] is None else est._categorical_weights[k].tolist() for k in names],
    }


def main():
    spec = json.load(sys.stdin)
    space = {k: dist_of(d) for k, d in spec["space"].items()}
    names = list(space)
    opt = spec["options"]
    states = {"complete": TrialState.COMPLETE, "pruned": TrialState.PRUNED, "running": TrialState.RUNNING, "failed": TrialState.FAIL}
    study = optuna.create_study(direction="minimize")
    for t in spec["trials"]:
        st = states[t["state"]]
        study.add_trial(optuna.trial.create_trial(
            params=t["params"], distributions=space, state=st,
            value=t["value"] if st == TrialState.COMPLETE else None,
            intermediate_values={int(s): (math.nan if v is None else v) for s, v in t["intermediate"]},
        ))
    values, scores, _ = _get_observation_pairs(study, names, opt["constantLiar"], False)
    n = sum(s < float("inf") for s, v in scores)
    gamma = default_gamma(n)
    below_idx, above_idx = _split_observation_pairs(scores, gamma, None)
    params = _ParzenEstimatorParameters(opt["considerPrior"], opt["priorWeight"], opt["considerMagicClip"],
                                        opt["considerEndpoints"], default_weights, opt["multivariate"])
    groups = [names] if opt["multivariate"] else [[k] for k in names]
    out_groups = []
    for g in groups:
        sub = {k: space[k] for k in g}
        vals = {k: np.asarray(values[k], dtype=float) for k in g}
        below = _ParzenEstimator({k: v[below_idx] for k, v in vals.items()}, sub, params)
        above = _ParzenEstimator({k: v[above_idx] for k, v in vals.items()}, sub, params)
        cand = {}
        for k in g:
            c = spec["candidates"][k]
            if isinstance(space[k], CategoricalDistribution):
                cand[k] = np.asarray([space[k].to_internal_repr(x) for x in c], dtype=int)
            else:
                cand[k] = np.asarray(c, dtype=float)
        out_groups.append({
            "names": g, "below": est_json(below, g), "above": est_json(above, g),
            "logpdf_below": below.log_pdf(cand).tolist(), "logpdf_above": above.log_pdf(cand).tolist(),
        })
    json.dump({"n": int(n), "gamma": int(gamma), "below": below_idx.tolist(), "above": above_idx.tolist(), "groups": out_groups}, sys.stdout, allow_nan=True)


if __name__ == "__main__":
    main()
