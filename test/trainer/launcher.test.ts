import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { defaultTrainerScript, trainerCommand } from "../../src/trainer/launcher";

test("defaultTrainerScript finds src/trainer/train.py", () => {
  const p = defaultTrainerScript();
  assert.ok(path.isAbsolute(p));
  assert.ok(fs.existsSync(p));
  assert.ok(p.endsWith(path.join("src", "trainer", "train.py")));
});

test("CPU and 1 GPU: plain python train.py", () => {
  assert.deepEqual(trainerCommand({ python: "py", gpus: 0, script: "t.py" }), ["py", "t.py"]);
  assert.deepEqual(trainerCommand({ python: "py", gpus: 1, script: "t.py", deepspeed: "zero3" }), ["py", "t.py"]);
  assert.deepEqual(trainerCommand({ gpus: 1, script: "t.py", requireDeepspeed: true }), ["/usr/bin/python3", "t.py", "--require-deepspeed"]);
});

test(">1 GPU: torchrun through the same python; deepspeed launcher on request", () => {
  assert.deepEqual(trainerCommand({ python: "py", gpus: 2, script: "t.py" }),
    ["py", "-m", "torch.distributed.run", "--standalone", "--nnodes=1", "--nproc_per_node=2", "t.py"]);
  assert.deepEqual(trainerCommand({ python: "py", gpus: 4, script: "t.py", deepspeed: "zero3", launcher: "deepspeed" }),
    ["deepspeed", "--num_gpus=4", "t.py"]);
  assert.deepEqual(trainerCommand({ python: "py", gpus: 2, nodes: 2, rdzvEndpoint: "node1:29500", script: "t.py" }),
    ["py", "-m", "torch.distributed.run", "--nnodes=2", "--rdzv_backend=c10d", "--rdzv_endpoint=node1:29500", "--nproc_per_node=2", "t.py"]);
});

test("bad input is rejected", () => {
  assert.throws(() => trainerCommand({ gpus: -1 }), /gpus must be an integer >= 0/);
  assert.throws(() => trainerCommand({ gpus: 1.5 }), /gpus must be an integer/);
  assert.throws(() => trainerCommand({ gpus: 2, nodes: 2 }), /needs rdzvEndpoint/);
  assert.throws(() => trainerCommand({ gpus: 2, nodes: 2, rdzvEndpoint: "x; rm -rf /:1" }), /host:port/);
});
