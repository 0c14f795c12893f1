import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadDeepSpeedConfig, parseDeepSpeedConfig } from "../../../src/trainer/deepspeed/schema";

test("the bundled zero3 config has the workshop's fields and validates", () => {
  const { path: p, config } = loadDeepSpeedConfig("zero3");
  assert.ok(path.isAbsolute(p) && p.endsWith("zero3.json"));
  assert.equal(config.train_micro_batch_size_per_gpu, "auto");
  assert.equal(config.gradient_accumulation_steps, "auto");
  assert.deepEqual(config.optimizer, { type: "AdamW", params: { lr: "auto", betas: [0.9, 0.999], eps: 1e-8 } });
  assert.equal(config.zero_optimization?.stage, 3);
  assert.equal(config.zero_optimization?.offload_param?.device, "none");
  assert.equal(config.zero_optimization?.allgather_bucket_size, 2e8);
  assert.equal(config.zero_optimization?.overlap_comm, true);
  assert.deepEqual(config.fp16, { enabled: true, loss_scale: 512, loss_scale_window: 1000, hysteresis: 2, min_loss_scale: 64 });
  assert.equal(config.scheduler, undefined);
});

const rejects = (cfg: unknown, re: RegExp) => assert.throws(() => parseDeepSpeedConfig(cfg), re);

test("mistakes are rejected with the field path", () => {
  rejects({ zero_optimization: { stage: 2, stage3_prefetch_bucket_size: 1e6 } }, /deepspeed\.zero_optimization\.stage3_prefetch_bucket_size: .*only valid with stage 3/);
  rejects({ zero_optimization: { stage: 2, offload_param: { device: "cpu" } } }, /deepspeed\.zero_optimization\.offload_param: offload_param needs stage 3/);
  rejects({ zero_optimization: { stage: 0, offload_optimizer: { device: "cpu" } } }, /deepspeed\.zero_optimization\.offload_optimizer/);
  rejects({ zero_optimization: { stage: 4 } }, /deepspeed\.zero_optimization\.stage/);
  rejects({ zero_optimization: { stage: 3, offload_param: { device: "nvme" } } }, /deepspeed\.zero_optimization\.offload_param\.nvme_path/);
  rejects({ train_micro_batch_size_per_gpu: "big" }, /deepspeed\.train_micro_batch_size_per_gpu/);
  rejects({ train_micro_batch_size_per_gpu: 0 }, /deepspeed\.train_micro_batch_size_per_gpu/);
  rejects({ optimizer: { type: "AdamX" } }, /deepspeed\.optimizer\.type/);
  rejects({ optimizer: { type: "AdamW", params: { lr: "fast" } } }, /deepspeed\.optimizer\.params\.lr/);
  rejects({ fp16: { enabled: true }, bf16: { enabled: true } }, /deepspeed\.bf16\.enabled: fp16\.enabled and bf16\.enabled/);
  rejects({ zero_optimisation: { stage: 3 } }, /deepspeed: .*zero_optimisation/);
  rejects({ fp16: { enabled: true, loss_scale_windw: 10 } }, /deepspeed\.fp16: .*loss_scale_windw/);
});

test("auto values and stage-3 fields are accepted where valid", () => {
  const c = parseDeepSpeedConfig({
    train_batch_size: "auto", gradient_clipping: "auto",
    zero_optimization: { stage: 3, stage3_prefetch_bucket_size: "auto", stage3_gather_16bit_weights_on_model_save: true, offload_optimizer: { device: "cpu", pin_memory: true } },
    bf16: { enabled: "auto" },
  });
  assert.equal(c.zero_optimization?.stage3_prefetch_bucket_size, "auto");
});

test("loadDeepSpeedConfig: a path, a missing file, invalid JSON", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-ds-"));
  try {
    const good = path.join(dir, "ds.json");
    fs.writeFileSync(good, JSON.stringify({ zero_optimization: { stage: 2 } }));
    assert.equal(loadDeepSpeedConfig(good).config.zero_optimization?.stage, 2);
    assert.throws(() => loadDeepSpeedConfig(path.join(dir, "none.json")), /DeepSpeed config not found/);
    assert.throws(() => loadDeepSpeedConfig("no-such-bundled"), /DeepSpeed config not found/);
    const bad = path.join(dir, "bad.json");
    fs.writeFileSync(bad, "{ stage: 3");
    assert.throws(() => loadDeepSpeedConfig(bad), /not valid JSON/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
