/**
 * `trainer.evalEvery`: budgets finer than an epoch (issue 15, design.md §1).
 *
 * With it, `t` counts evaluations, not epochs: each evaluation is one report
 * and one unit of t, so ASHA rungs, HyperBand milestones and PBT perturbation
 * points are in evaluations, and a full-budget trial's max_t is
 * `trainer.epochs` worth of them:
 * - a fraction of an epoch, 1/k (0.5, 0.25, 0.1, ...): max_t = epochs × k;
 * - a whole number N > 1 of optimizer steps (the small model): max_t =
 *   ceil(epochs × steps_per_epoch / N), so `trainer.options.steps_per_epoch`
 *   must fix the steps of an epoch (else each batch size would have its own
 *   max_t and the rungs would mean different budgets).
 * The Python trainer (train.py parse_eval_every) applies the same rules.
 */

export interface EvalEveryTrainer {
  epochs: number;
  evalEvery?: number;
  options?: Record<string, number | string | boolean>;
}

export interface EvalBudget {
  /** evaluations of a full-budget trial (= max_t). */
  maxT: number;
  /** evaluations per epoch (1/evalEvery), or null in steps mode. */
  perEpoch: number | null;
}

/** max_t of a full-budget trial, or an error naming the field and what is accepted. */
export function evalBudget(t: EvalEveryTrainer): EvalBudget | { field: string; value: unknown; message: string } {
  const v = t.evalEvery;
  if (v === undefined || v === 1) return { maxT: t.epochs, perEpoch: 1 };
  if (!Number.isFinite(v) || v <= 0) {
    return { field: "evalEvery", value: v, message: "expected a fraction of an epoch (1/k: 0.5, 0.25, 0.1, ...) or a whole number of steps > 1" };
  }
  if (v < 1) {
    const k = Math.round(1 / v);
    if (Math.abs(k * v - 1) > 1e-6) {
      return { field: "evalEvery", value: v, message: `a fraction of an epoch must be 1/k for a whole k (so every epoch ends on an evaluation): e.g. ${1 / Math.floor(1 / v)} or ${1 / Math.ceil(1 / v)}` };
    }
    return { maxT: t.epochs * k, perEpoch: k };
  }
  if (!Number.isInteger(v)) return { field: "evalEvery", value: v, message: "steps must be a whole number (or give a fraction of an epoch below 1)" };
  const spe = t.options?.steps_per_epoch;
  if (typeof spe !== "number" || !Number.isInteger(spe) || spe < 1) {
    return { field: "options.steps_per_epoch", value: spe, message: `evalEvery ${v} counts steps: set trainer.options.steps_per_epoch (a whole number >= 1) so every trial has the same number of evaluations, or give evalEvery as a fraction of an epoch (0.25 = 4 per epoch)` };
  }
  return { maxT: Math.ceil((t.epochs * spe) / v), perEpoch: null };
}

/** max_t of a full-budget trial for a validated config (throws on an invalid evalEvery). */
export function fullBudgetT(t: EvalEveryTrainer): number {
  const b = evalBudget(t);
  if ("message" in b) throw new Error(`trainer.${b.field} ${JSON.stringify(b.value)}: ${b.message}`);
  return b.maxT;
}
