/**
 * zod schema for DeepSpeed JSON configs, so a mistake in a notebook's
 * DeepSpeed config fails at submit time with the field path instead of an
 * hour later inside a SLURM job. Covers the documented fields the workshop
 * uses (batch sizes, optimizer, scheduler, zero_optimization, fp16/bf16,
 * gradient clipping), accepts HF's "auto" where the HF integration fills
 * values from TrainingArguments, and rejects stage-specific fields outside
 * their stage (offload_param and stage3_* need stage 3; offload_optimizer
 * needs stage >= 1). Unknown top-level keys are errors (typos), except a
 * documented passthrough list.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";

const auto = z.literal("auto");
const posInt = z.number().int().positive();
const num = z.number().finite();
const intOrAuto = z.union([posInt, auto]);
const numOrAuto = z.union([num, auto]);
const bytes = z.union([z.number().positive(), auto]);

const offload = z.strictObject({
  device: z.enum(["none", "cpu", "nvme"]),
  nvme_path: z.string().optional(),
  pin_memory: z.boolean().optional(),
  buffer_count: posInt.optional(),
  buffer_size: z.number().positive().optional(),
  max_in_cpu: z.number().positive().optional(),
  fast_init: z.boolean().optional(),
  ratio: z.number().min(0).max(1).optional(),
});

const zero = z
  .strictObject({
    stage: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]),
    allgather_partitions: z.boolean().optional(),
    allgather_bucket_size: bytes.optional(),
    reduce_scatter: z.boolean().optional(),
    reduce_bucket_size: bytes.optional(),
    overlap_comm: z.boolean().optional(),
    contiguous_gradients: z.boolean().optional(),
    round_robin_gradients: z.boolean().optional(),
    load_from_fp32_weights: z.boolean().optional(),
    elastic_checkpoint: z.boolean().optional(),
    sub_group_size: z.number().positive().optional(),
    offload_param: offload.optional(),
    offload_optimizer: offload.optional(),
    stage3_prefetch_bucket_size: bytes.optional(),
    stage3_param_persistence_threshold: bytes.optional(),
    stage3_max_live_parameters: z.number().positive().optional(),
    stage3_max_reuse_distance: z.number().positive().optional(),
    stage3_gather_16bit_weights_on_model_save: z.boolean().optional(),
    gather_16bit_weights_on_model_save: z.boolean().optional(),
    zero_hpz_partition_size: posInt.optional(),
    zero_quantized_weights: z.boolean().optional(),
    zero_quantized_gradients: z.boolean().optional(),
  })
  .superRefine((v, ctx) => {
    const off = (key: string, why: string) =>
      ctx.addIssue({ code: "custom", path: [key], message: `${key} ${why} (zero_optimization.stage is ${v.stage})` });
    if (v.stage !== 3) {
      for (const k of Object.keys(v)) {
        if (k.startsWith("stage3_") && (v as Record<string, unknown>)[k] !== undefined) off(k, "is only valid with stage 3");
      }
      if (v.offload_param && v.offload_param.device !== "none") off("offload_param", "needs stage 3");
    }
    if (v.stage === 0 && v.offload_optimizer && v.offload_optimizer.device !== "none") off("offload_optimizer", "needs stage 1, 2 or 3");
    for (const k of ["offload_param", "offload_optimizer"] as const) {
      const o = v[k];
      if (o && o.device === "nvme" && !o.nvme_path) {
        ctx.addIssue({ code: "custom", path: [k, "nvme_path"], message: `${k}.nvme_path is required when device is "nvme"` });
      }
    }
  });

const lossScaling = {
  enabled: z.union([z.boolean(), auto]),
  auto_cast: z.boolean().optional(),
  loss_scale: z.number().min(0).optional(), // 0 = dynamic; > 0 = static initial scale
  initial_scale_power: z.number().int().min(0).optional(),
  loss_scale_window: z.number().positive().optional(),
  hysteresis: posInt.optional(),
  consecutive_hysteresis: z.boolean().optional(),
  min_loss_scale: z.number().positive().optional(),
};

const optimizer = z.strictObject({
  type: z.enum(["Adam", "AdamW", "OneBitAdam", "ZeroOneAdam", "OneBitLamb", "Lamb", "Lion", "SGD", "Adagrad", "MuAdam", "MuAdamW", "MuSGD"]),
  params: z
    .strictObject({
      lr: numOrAuto.optional(),
      betas: z.union([z.tuple([num, num]), auto]).optional(),
      eps: numOrAuto.optional(),
      weight_decay: numOrAuto.optional(),
      momentum: numOrAuto.optional(),
      torch_adam: z.boolean().optional(),
      adam_w_mode: z.boolean().optional(),
    })
    .optional(),
});

const scheduler = z.strictObject({
  type: z.enum(["LRRangeTest", "OneCycle", "WarmupLR", "WarmupDecayLR", "WarmupCosineLR"]),
  params: z.record(z.string(), z.union([num, auto, z.string(), z.boolean()])).optional(),
});

export const deepSpeedConfigSchema = z
  .strictObject({
    train_batch_size: intOrAuto.optional(),
    train_micro_batch_size_per_gpu: intOrAuto.optional(),
    gradient_accumulation_steps: intOrAuto.optional(),
    gradient_clipping: numOrAuto.optional(),
    steps_per_print: posInt.optional(),
    wall_clock_breakdown: z.boolean().optional(),
    prescale_gradients: z.boolean().optional(),
    gradient_predivide_factor: num.optional(),
    zero_allow_untested_optimizer: z.boolean().optional(),
    zero_force_ds_cpu_optimizer: z.boolean().optional(),
    optimizer: optimizer.optional(),
    scheduler: scheduler.optional(),
    zero_optimization: zero.optional(),
    fp16: z.strictObject({ ...lossScaling, fp16_master_weights_and_grads: z.boolean().optional() }).optional(),
    bf16: z.strictObject({ enabled: z.union([z.boolean(), auto]), immediate_grad_update: z.boolean().optional() }).optional(),
    activation_checkpointing: z.record(z.string(), z.unknown()).optional(),
    flops_profiler: z.record(z.string(), z.unknown()).optional(),
    tensorboard: z.record(z.string(), z.unknown()).optional(),
    comms_logger: z.record(z.string(), z.unknown()).optional(),
    communication_data_type: z.enum(["fp16", "bf16", "fp32"]).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.fp16?.enabled === true && v.bf16?.enabled === true) {
      ctx.addIssue({ code: "custom", path: ["bf16", "enabled"], message: "fp16.enabled and bf16.enabled cannot both be true" });
    }
  });

export type DeepSpeedConfig = z.infer<typeof deepSpeedConfigSchema>;

/** The directory holding the bundled configs (works from src/ and from dist/src/). */
export function deepSpeedDir(): string {
  for (const c of [__dirname, path.resolve(__dirname, "..", "..", "..", "..", "src", "trainer", "deepspeed")]) {
    if (fs.existsSync(path.join(c, "zero3.json"))) return c;
  }
  throw new Error(`bundled DeepSpeed configs not found near ${__dirname}`);
}

/** Errors as "path: message" lines, the form every tunelab boundary uses. */
export function formatIssues(err: z.ZodError, prefix = "deepspeed"): string {
  return err.issues.map((i) => `${[prefix, ...i.path.map(String)].join(".")}: ${i.message}`).join("\n");
}

export function parseDeepSpeedConfig(value: unknown, source = "deepspeed"): DeepSpeedConfig {
  const r = deepSpeedConfigSchema.safeParse(value);
  if (!r.success) throw new Error(`invalid DeepSpeed config (${source}):\n${formatIssues(r.error)}`);
  return r.data;
}

/**
 * A bundled config by name ("zero3") or a JSON file path; validated.
 * Returns the absolute path (what the trainer gets) and the parsed config.
 */
export function loadDeepSpeedConfig(nameOrPath: string): { path: string; config: DeepSpeedConfig } {
  const named = /^[A-Za-z0-9_-]+$/.test(nameOrPath) ? path.join(deepSpeedDir(), `${nameOrPath}.json`) : null;
  const p = named && fs.existsSync(named) ? named : path.resolve(nameOrPath);
  if (!fs.existsSync(p)) throw new Error(`DeepSpeed config not found: ${nameOrPath} (a bundled name such as "zero3", or a path to a JSON file)`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(p, "utf8"));
  } catch (e) {
    throw new Error(`DeepSpeed config ${p} is not valid JSON: ${(e as Error).message}`);
  }
  return { path: p, config: parseDeepSpeedConfig(raw, p) };
}
