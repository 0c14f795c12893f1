/**
 * Replay backend: the contract suite on a virtual clock, the nearest-config
 * rules, PBT checkpoint tokens, and the shipped recorded-curves table.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runBackendContract, drive, reportsOf, statesOf, type ContractHarness } from "./contract";
import { baseTrial } from "./harness-local";
import { ReplayBackend } from "../../src/backends/replay";
import { NearestCurves, parseCurvesCsv, loadCurves } from "../../src/backends/curves";
import type { SpaceSpec } from "../../src/config/types";
import type { BackendEvent, TrialLaunch } from "../../src/backends/types";

const SPACE: SpaceSpec = { lr: { loguniform: [1e-4, 1e-1] }, batch_size: { choice: [16, 32] } };

/** A synthetic table: lr in {1e-4, 1e-3, 1e-2} x batch_size {16, 32}, t = 1..maxT, 30 s per step. */
function syntheticCsv(maxT = 1000, stepS = 30): string {
  const rows = ["lr,batch_size,t,eval_loss,time_s"];
  for (const lr of [1e-4, 1e-3, 1e-2])
    for (const bs of [16, 32])
      for (let t = 1; t <= maxT; t++) rows.push(`${lr},${bs},${t},${(2 + Math.abs(Math.log10(lr) + 3) + 3 / (t + 1) + bs / 1000).toFixed(6)},${stepS}`);
  return rows.join("\n") + "\n";
}
const TABLE = parseCurvesCsv(syntheticCsv(), "synthetic.csv");

function replayHarness(): () => Promise<ContractHarness> {
  return async () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-replay-"));
    const make = async () => {
      const b = new ReplayBackend({ curves: TABLE, space: SPACE, metric: "eval_loss", maxConcurrent: 2, runDir });
      await b.start();
      return b;
    };
    const backend = await make();
    return {
      backend,
      maxConcurrent: 2,
      stepMs: 30_000,
      pollMs: 7_500,
      timeoutMs: 10_000,
      crashMarker: "no recorded curve",
      launch: (id, o = {}) => {
        const trial = baseTrial(id, o, {});
        trial.config = { lr: 1e-3, batch_size: 16, ...(o.trial?.config ?? {}) };
        if (o.behaviour === "crash") trial.config = { ...trial.config, batch_size: 999 };
        return { trialId: id, trial, command: ["replay"], env: {}, gpus: o.gpus ?? 1 };
      },
      reopen: make,
      cleanup: async () => {
        await backend.close();
        fs.rmSync(runDir, { recursive: true, force: true });
      },
    };
  };
}

runBackendContract("replay (virtual clock)", replayHarness(), { adopt: true });

const launch = (id: string, config: Record<string, number | string | boolean>, trial: Partial<TrialLaunch["trial"]> = {}, gpus = 1): TrialLaunch => {
  const tr = baseTrial(id, { trial }, {});
  tr.config = config;
  return { trialId: id, trial: tr, command: ["replay"], env: {}, gpus };
};

async function runAll(b: ReplayBackend, ids: string[], stepMs = 10_000): Promise<BackendEvent[]> {
  const h = { backend: b, stepMs, pollMs: stepMs, timeoutMs: 10_000 } as unknown as ContractHarness;
  return drive(h, (lg) => ids.every((id) => ["completed", "stopped", "failed", "paused"].includes(statesOf(lg, id).at(-1) ?? "")));
}

describe("recorded curves: nearest configuration", () => {
  const csv = [
    "lr,batch_size,opt,t,eval_loss,time_s",
    "0.0001,16,adam,1,5,10",
    "0.001,16,adam,1,4,10",
    "0.01,16,adam,1,3,10",
    "0.001,32,adam,1,2,10",
    "0.001,16,sgd,1,1,10",
  ].join("\n");
  const table = parseCurvesCsv(csv, "t.csv");
  const near = (space: SpaceSpec, cfg: Record<string, number | string>) => {
    const r = new NearestCurves(table, space).find(cfg);
    return typeof r === "string" ? r : r.points[0].value;
  };

  it("parses header: hyperparameters, then t, metric, time_s", () => {
    assert.deepEqual(table.keys, ["lr", "batch_size", "opt"]);
    assert.equal(table.metric, "eval_loss");
    assert.equal(table.configs.length, 5);
  });

  it("loguniform: nearest in log space (3e-3 is nearer 1e-3 than 1e-2 in log, not in linear)", () => {
    const space: SpaceSpec = { lr: { loguniform: [1e-4, 1e-2] }, batch_size: { choice: [16, 32] }, opt: { choice: ["adam", "sgd"] } };
    assert.equal(near(space, { lr: 3e-3, batch_size: 16, opt: "adam" }), 4);
    assert.equal(near(space, { lr: 4e-3, batch_size: 16, opt: "adam" }), 3);
  });

  it("uniform: nearest linearly (3e-3 is nearer 1e-3 than 1e-2 linearly only below 5.5e-3)", () => {
    const space: SpaceSpec = { lr: { uniform: [1e-4, 1e-2] }, batch_size: { choice: [16, 32] }, opt: { choice: ["adam", "sgd"] } };
    assert.equal(near(space, { lr: 5e-3, batch_size: 16, opt: "adam" }), 4);
    assert.equal(near(space, { lr: 6e-3, batch_size: 16, opt: "adam" }), 3);
  });

  it("int domains are linear; choices must match exactly", () => {
    const space: SpaceSpec = { lr: { loguniform: [1e-4, 1e-2] }, batch_size: { int: [16, 32] }, opt: { choice: ["adam", "sgd"] } };
    assert.equal(near(space, { lr: 1e-3, batch_size: 30, opt: "adam" }), 2);
    assert.equal(near(space, { lr: 1e-3, batch_size: 17, opt: "sgd" }), 1);
    const miss = near(space, { lr: 1e-3, batch_size: 16, opt: "rmsprop" });
    assert.match(String(miss), /no recorded curve.*opt/);
  });

  it("rejects a table that lacks a space key or records another metric", () => {
    assert.throws(() => new ReplayBackend({ curves: table, space: { warmup: { int: [0, 10] } }, metric: "eval_loss" }), /no column for space key\(s\) warmup/);
    assert.throws(() => new ReplayBackend({ curves: table, space: {}, metric: "accuracy" }), /records "eval_loss" but the experiment's metric is "accuracy"/);
  });

  it("rejects gaps in t and malformed rows with the row number", () => {
    assert.throws(() => parseCurvesCsv("lr,t,eval_loss,time_s\n0.1,1,3,1\n0.1,3,2,1\n", "g.csv"), /expected 1\.\.n without gaps/);
    assert.throws(() => parseCurvesCsv("lr,t,eval_loss,time_s\n0.1,1,x,1\n", "g.csv"), /g\.csv:2 eval_loss: not a number/);
    assert.throws(() => parseCurvesCsv("lr,eval_loss,time_s\n0.1,1,1\n", "g.csv"), /no "t" column/);
  });
});

describe("replay backend: clock, queue delay, accounting, PBT", () => {
  it("virtual clock: 10 trials x 100 steps of 60 s are simulated without sleeping; times are exact", async () => {
    const table = parseCurvesCsv(syntheticCsv(100, 60), "s.csv");
    const b = new ReplayBackend({ curves: table, space: SPACE, metric: "eval_loss", maxConcurrent: 5, startTime: 0 });
    const ids = Array.from({ length: 10 }, (_, i) => `v${i}`);
    await b.submit(ids.map((id) => launch(id, { lr: 1e-3, batch_size: 32 }, { max_t: 100 })));
    const log = await runAll(b, ids, 600_000);
    for (const id of ids) assert.equal(reportsOf(log, id).length, 100);
    const acc = log.filter((e) => e.type === "accounting");
    assert.equal(acc.length, 10);
    for (const a of acc) {
      assert.ok(a.type === "accounting");
      assert.equal(a.runSeconds, 6000);
      assert.equal(a.gpuSeconds, 6000);
    }
    // the second wave waited exactly one trial's run time in the queue
    const queued = acc.map((a) => (a.type === "accounting" ? a.queueSeconds : -1)).sort((x, y) => x - y);
    assert.deepEqual(queued, [0, 0, 0, 0, 0, 6000, 6000, 6000, 6000, 6000]);
    const last = reportsOf(log, "v9").at(-1)!;
    assert.equal(last.time_total_s, 6000);
    const done = log.find((e) => e.type === "state" && e.trialId === "v9" && e.state === "completed")!;
    assert.ok(done.type === "state");
    assert.equal(done.at, 12_000_000, "second wave ends at 2 x 100 x 60 s on the virtual clock");
  });

  it("queue delay is simulated and accounted as queue time; GPUs multiply run time", async () => {
    const b = new ReplayBackend({ curves: TABLE, space: SPACE, metric: "eval_loss", maxConcurrent: 2, queueDelay: 120, startTime: 0 });
    await b.submit([launch("g", { lr: 1e-3, batch_size: 16 }, { max_t: 3 }, 4)]);
    const log = await runAll(b, ["g"]);
    const run = log.find((e) => e.type === "state" && e.state === "running")!;
    assert.ok(run.type === "state");
    assert.equal(run.at, 120_000);
    const acc = log.find((e) => e.type === "accounting")!;
    assert.ok(acc.type === "accounting");
    assert.equal(acc.queueSeconds, 120);
    assert.equal(acc.runSeconds, 90);
    assert.equal(acc.gpuSeconds, 360);
  });

  it("nearest config answers a trial; max_t beyond the recording fails with a message", async () => {
    const b = new ReplayBackend({ curves: parseCurvesCsv(syntheticCsv(5), "five.csv"), space: SPACE, metric: "eval_loss", startTime: 0 });
    await b.submit([launch("n", { lr: 2e-3, batch_size: 32 }, { max_t: 2 }), launch("long", { lr: 1e-3, batch_size: 16 }, { max_t: 6 })]);
    const log = await runAll(b, ["n", "long"]);
    const run = log.find((e) => e.type === "state" && e.trialId === "n" && e.state === "running")!;
    assert.ok(run.type === "state");
    assert.match(run.message ?? "", /"lr":0\.001,"batch_size":32/);
    assert.equal(reportsOf(log, "n")[1].eval_loss, Number((2 + 3 / 3 + 0.032).toFixed(6)));
    const f = log.find((e) => e.type === "state" && e.trialId === "long")!;
    assert.ok(f.type === "state" && f.state === "failed" && /t up to 5, trial wants max_t 6/.test(f.message ?? ""));
  });

  it("extra metric columns (train_loss, accuracy) between the metric and time_s are replayed as report keys; nan → null", async () => {
    const csv = [
      "lr,batch_size,t,eval_loss,train_loss,accuracy,time_s,trial",
      "0.001,16,1,2.5,2.7,0.1,30,a/t0",
      "0.001,16,2,2.25,2.4,nan,30,a/t0",
      "0.01,16,1,3,3.5,0.05,30,a/t1",
      "0.01,16,2,2.9,3.1,0.06,30,a/t1",
    ].join("\n");
    const table = parseCurvesCsv(csv, "extra.csv");
    assert.equal(table.metric, "eval_loss");
    assert.deepEqual(table.configs[0].points[0], { t: 1, value: 2.5, time_s: 30, extra: { train_loss: 2.7, accuracy: 0.1 } });
    const b = new ReplayBackend({ curves: table, space: SPACE, metric: "eval_loss", startTime: 0 });
    await b.submit([launch("x", { lr: 1e-3, batch_size: 16 }, { max_t: 2 })]);
    const log = await runAll(b, ["x"]);
    const reps = reportsOf(log, "x");
    assert.deepEqual(reps.map((r) => [r.t, r.eval_loss, r.train_loss, r.accuracy]), [[1, 2.5, 2.7, 0.1], [2, 2.25, 2.4, null]]);
    assert.throws(() => parseCurvesCsv("lr,t,eval_loss,checkpoint,time_s\n0.1,1,2,3,4\n", "bad.csv"), /metric column "checkpoint" clashes with a report key/);
    assert.throws(() => parseCurvesCsv("lr,t,time_s,eval_loss\n0.1,1,2,3\n", "bad.csv"), /columns must be <hyperparameters...>, t, <metric>, \[<more metrics>...\], time_s/);
  });

  it("PBT: restore from replay://donor/t continues at t+1 on the receiver's own curve", async () => {
    const b = new ReplayBackend({ curves: TABLE, space: SPACE, metric: "eval_loss", maxConcurrent: 4, startTime: 0 });
    await b.submit([launch("donor", { lr: 1e-2, batch_size: 16 }, { max_t: 6, pause_at: [3] })]);
    const h = { backend: b, stepMs: 30_000, pollMs: 30_000, timeoutMs: 10_000 } as unknown as ContractHarness;
    const log = await drive(h, (lg) => reportsOf(lg, "donor").some((r) => r.t === 3));
    const rep = reportsOf(log, "donor").find((r) => r.t === 3)!;
    assert.equal(rep.checkpoint, "checkpoints/t0003");
    const token = await b.copyCheckpoint("donor", rep.checkpoint as string, "recv");
    assert.equal(token, "replay://donor/3");
    await assert.rejects(b.copyCheckpoint("donor", "checkpoints/t0009", "recv"), /no checkpoint/);
    await b.submit([launch("recv", { lr: 1e-3, batch_size: 32 }, { max_t: 6, start_t: 3, restore_from: token })]);
    b.decide("donor", 3, "stop");
    await drive(h, (lg) => statesOf(lg, "recv").includes("completed"), { log });
    const recv = reportsOf(log, "recv");
    assert.deepEqual(recv.map((r) => r.t), [4, 5, 6]);
    const own = TABLE.configs.find((c) => c.values.lr === 1e-3 && c.values.batch_size === 32)!;
    assert.deepEqual(recv.map((r) => r.eval_loss), [own.points[3].value, own.points[4].value, own.points[5].value]);
    assert.equal(recv[0].time_total_s, 120, "time_total_s carries the donor's 90 s");
    assert.equal(statesOf(log, "donor").at(-1), "stopped");
  });

  it("a decision taken before the trial reaches the point is applied when it gets there", async () => {
    const b = new ReplayBackend({ curves: TABLE, space: SPACE, metric: "eval_loss", startTime: 0 });
    await b.submit([launch("e", { lr: 1e-3, batch_size: 16 }, { max_t: 5, pause_at: [2] })]);
    b.decide("e", 2, "stop");
    const log = await runAll(b, ["e"]);
    assert.deepEqual(reportsOf(log, "e").map((r) => r.t), [1, 2]);
    assert.equal(statesOf(log, "e").at(-1), "stopped");
  });
});

describe("shipped recorded curves (data/curves)", () => {
  const dir = path.resolve(__dirname, "../../data/curves");
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".csv")) : [];
  it("at least one table ships, each parses and is under 200 KB", () => {
    assert.ok(files.length >= 1, "a CSV in data/curves");
    for (const f of files) {
      const p = path.join(dir, f);
      assert.ok(fs.statSync(p).size < 200 * 1024, `${f} < 200 KB`);
      const t = loadCurves(p);
      assert.ok(t.configs.length >= 8, `${f}: ${t.configs.length} configurations`);
      assert.ok(t.configs.every((c) => c.maxT === t.configs[0].maxT), `${f}: same t range for every configuration`);
    }
  });

  it("small-cpu.csv replays an ASHA-like experiment: every lr in range is answered, best near 2.2e-3", async () => {
    const space: SpaceSpec = { lr: { loguniform: [1e-4, 2.2e-2] }, batch_size: { choice: [16, 32] }, weight_decay: { choice: [0, 0.1] } };
    const b = new ReplayBackend({ curves: path.join(dir, "small-cpu.csv"), space, metric: "eval_loss", maxConcurrent: 4, startTime: 0 });
    const lrs = [1e-4, 3e-4, 1e-3, 2e-3, 5e-3, 2e-2];
    const ids = lrs.map((_, i) => `s${i}`);
    await b.submit(lrs.map((lr, i) => launch(ids[i], { lr, batch_size: 16, weight_decay: 0 }, { max_t: 8 })));
    const log = await runAll(b, ids, 1000);
    const finals = ids.map((id) => reportsOf(log, id).at(-1)!.eval_loss as number);
    assert.ok(finals.every((v) => Number.isFinite(v)));
    assert.equal(lrs[finals.indexOf(Math.min(...finals))], 2e-3);
  });
});

