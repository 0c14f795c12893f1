#!/usr/bin/python3
"""Optuna 3.1 (TPE alone, TPE + SuccessiveHalvingPruner, TPE + HyperbandPruner)
on recorded curves, for bench/schedulers.ts: the same virtual-clock rules as
tunelab's simulator (4 slots, each step takes the recorded seconds, a pruned
trial frees its slot at once, nearest recorded configuration, lr-like columns
in log space), driven with Optuna's ask/tell interface so 4 trials run
interleaved. Every study is named after its seed, so HyperbandPruner's bracket
assignment (crc32 of "<study name>_<trial number>") is reproducible; an
unnamed study gets a random name and a different assignment every run.

stdin: {"maxT", "keys", "logKeys", "seeds", "samples": [N...], "slots", "rows": [{"config", "values", "seconds"}]}
stdout: {"runs": {label: {N: [metrics per seed]}}, "labels": [...], "note": str}
"""
import heapq
import json
import math
import sys
import warnings

import optuna

warnings.simplefilter("ignore")
optuna.logging.set_verbosity(optuna.logging.ERROR)


def main() -> None:
    spec = json.load(sys.stdin)
    rows, keys, log_keys, max_t = spec["rows"], spec["keys"], set(spec["logKeys"]), spec["maxT"]
    slots = spec.get("slots", 4)
    finals = [r["values"][max_t - 1] for r in rows if r["values"][max_t - 1] is not None]
    grid_best = min(finals)
    cache = {}

    def nearest(c):
        key = tuple(c[k] for k in keys)
        if key in cache:
            return cache[key]
        best, bd = None, math.inf
        for r in rows:
            d = 0.0
            for k in keys:
                a, b = c[k], r["config"][k]
                if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
                    d += abs(math.log(a) - math.log(b)) if k in log_keys else abs(a - b)
                elif a != b:
                    d += 1e6
            if d < bd:
                best, bd = r, d
        cache[key] = best
        return best

    choices = {k: sorted({r["config"][k] for r in rows}) for k in keys}

    def suggest(trial):
        c = {}
        for k in keys:
            if k in log_keys:
                c[k] = trial.suggest_float(k, min(choices[k]), max(choices[k]), log=True)
            else:
                c[k] = trial.suggest_categorical(k, choices[k])
        return c

    def run(pruner, seed, samples):
        study = optuna.create_study(direction="minimize", pruner=pruner, sampler=optuna.samplers.TPESampler(seed=seed), study_name="bench-%d" % seed)
        clock, gpu_done, started, events, seq = 0.0, 0.0, 0, [], 0
        running = {}  # number -> (trial, row, t, seg_start)
        final_reports = []

        def gpu_now():
            return gpu_done + sum(clock - v[3] for v in running.values())

        def start():
            nonlocal started, seq
            tr = study.ask()
            row = nearest(suggest(tr))
            running[tr.number] = (tr, row, 0, clock)
            heapq.heappush(events, (clock + row["seconds"][0], seq, tr.number))
            seq += 1
            started += 1

        while True:
            while len(running) < slots and started < samples:
                start()
            if not events:
                break
            clock, _, num = heapq.heappop(events)
            tr, row, t, seg = running[num]
            t += 1
            v = row["values"][t - 1]
            value = math.nan if v is None else v
            tr.report(value, t)
            gpu = gpu_now()
            if t >= max_t and not math.isnan(value):
                final_reports.append((gpu, clock, value, num))
            done = None
            # as an objective written the usual way: report, then should_prune() at every step, the last included
            if tr.should_prune():
                done = "pruned"
            elif t >= max_t:
                done = "complete"
            if done:
                gpu_done += clock - seg
                del running[num]
                if done == "pruned":
                    study.tell(tr, state=optuna.trial.TrialState.PRUNED)
                elif math.isnan(value):
                    study.tell(tr, state=optuna.trial.TrialState.FAIL)
                else:
                    study.tell(tr, value)
            else:
                running[num] = (tr, row, t, seg)
                heapq.heappush(events, (clock + row["seconds"][t], seq, num))
                seq += 1
        final_reports.sort()
        hit = next(((g, n, c) for g, c, v, n in final_reports if v <= grid_best * 1.01), None)
        best = min((v for _, _, v, _ in final_reports), default=math.inf)
        first_best = min((c for _, c, v, _ in final_reports if v == best), default=math.nan)
        return {
            "toWithin1": None if hit is None else hit[0] / 60,
            # the within-1% trial's place in start order (0 = first started)
            "hitTrial": None if hit is None else hit[1],
            "hitClock": None if hit is None else hit[2] / 60,
            "wallToBest": first_best / 60,
            "bestFinal": best,
            "gpuMin": gpu_done / 60,
            "wallMin": clock / 60,
        }

    makers = [
        ("Optuna TPE (no pruner)", lambda: optuna.pruners.NopPruner()),
        ("Optuna TPE + SuccessiveHalvingPruner (min_resource=1, η=2)", lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)),
        ("Optuna TPE + HyperbandPruner (min 1, max max_t, η=2)", lambda: optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_t, reduction_factor=2)),
    ]
    only = spec.get("labels")
    runs = {}
    for label, make in makers:
        if only and label not in only:
            continue
        runs[label] = {str(n): [run(make(), s, n) for s in spec["seeds"]] for n in spec["samples"]}
    note = ("optuna %s, TPESampler(seed) with its defaults (10 random startup trials), ask/tell on the same virtual clock "
            "(%d slots, recorded step times, nearest recorded configuration); pruned trials are told PRUNED, a pruner decides after "
            "every step (the last included, as in the usual objective); studies named bench-<seed> (HyperbandPruner's bracket hash is reproducible)." % (optuna.__version__, slots))
    json.dump({"runs": runs, "labels": [m[0] for m in makers], "note": note}, sys.stdout, allow_nan=True)


if __name__ == "__main__":
    main()
