/**
 * The trial contract (design.md §2) against the real trainer on CPU
 * (Debian's python3-torch), small model family.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  FAST, killAll, readReports, runTrainer, sleep, startTrainer, tmpRoot, waitFor, writeTrial,
} from "./helpers";

const root = tmpRoot();
after(() => {
  killAll();
  fs.rmSync(root, { recursive: true, force: true });
});
const dirOf = (name: string) => path.join(root, name);

describe("trainer contract (small model, CPU)", () => {
  test("report lines: keys, t sequence, checkpoints kept (last two)", async () => {
    const dir = dirOf("basic");
    writeTrial(dir, { max_t: 3 });
    const r = await runTrainer(dir);
    assert.equal(r.code, 0, r.stderr);
    const reps = readReports(dir);
    assert.deepEqual(reps.map((x) => x.t), [1, 2, 3]);
    for (const x of reps) {
      for (const k of ["t", "eval_loss", "time_total_s", "checkpoint", "train_loss", "tokens_per_s", "lr"]) {
        assert.ok(k in x, `key ${k} missing in ${JSON.stringify(x)}`);
      }
      assert.equal(typeof x.eval_loss, "number");
      assert.equal(x.lr, 1e-3);
      assert.equal(x.checkpoint, `checkpoints/t000${x.t}.pt`);
    }
    assert.ok((reps[1].time_total_s as number) > (reps[0].time_total_s as number));
    assert.ok(!fs.existsSync(path.join(dir, "checkpoints/t0001.pt")), "t0001 should be pruned (keep last two)");
    assert.ok(fs.existsSync(path.join(dir, "checkpoints/t0002.pt")));
    assert.ok(fs.existsSync(path.join(dir, "checkpoints/t0003.pt")));
    // every line is whole JSON with a newline
    const raw = fs.readFileSync(path.join(dir, "metrics.jsonl"), "utf8");
    assert.ok(raw.endsWith("\n"));
    assert.equal(raw.trim().split("\n").length, 3);
  });

  test("decision point: waits at pause_at without training further, then continue", async () => {
    const dir = dirOf("pause-continue");
    writeTrial(dir, { max_t: 4, pause_at: [2] });
    const run = startTrainer(dir);
    await waitFor(() => readReports(dir).some((x) => x.t === 2), 60_000, "report t=2");
    const atPause = readReports(dir);
    const line2 = atPause.find((x) => x.t === 2)!;
    assert.equal(line2.checkpoint, "checkpoints/t0002.pt");
    assert.ok(fs.existsSync(path.join(dir, line2.checkpoint as string)));
    await sleep(2500); // an epoch here takes well under that: it would have trained on
    assert.ok(readReports(dir).every((x) => x.t <= 2), "trained past the decision point");
    assert.equal(run.child.exitCode, null, "trainer exited while waiting");
    assert.ok(fs.existsSync(path.join(dir, "checkpoints/t0002.pt")));
    fs.writeFileSync(path.join(dir, "decision-2.json"), JSON.stringify({ action: "continue" }));
    const e = await run.exit;
    assert.equal(e.code, 0, run.stderr());
    assert.deepEqual(readReports(dir).map((x) => x.t), [1, 2, 3, 4]);
    // the decision-point checkpoint is kept even though it is not among the last two
    assert.ok(fs.existsSync(path.join(dir, "checkpoints/t0002.pt")));
  });

  test("decision point: stop exits 0 with no further lines", async () => {
    const dir = dirOf("pause-stop");
    writeTrial(dir, { max_t: 4, pause_at: [1, 3] });
    const run = startTrainer(dir);
    await waitFor(() => readReports(dir).length >= 1, 60_000, "report t=1");
    await sleep(300);
    fs.writeFileSync(path.join(dir, "decision-1.json"), JSON.stringify({ action: "stop" }));
    const e = await run.exit;
    assert.equal(e.code, 0, run.stderr());
    assert.deepEqual(readReports(dir).map((x) => x.t), [1]);
  });

  test("restore with a changed lr: t continues, lr changed, loss continues from the checkpoint", async () => {
    const a = dirOf("restore-src");
    writeTrial(a, { max_t: 3, config: { lr: 1e-3, wd: 0, bs: 16 } });
    assert.equal((await runTrainer(a)).code, 0);
    const ra = readReports(a);
    const b = dirOf("restore-dst");
    // restore_from relative to the trial dir
    writeTrial(b, { max_t: 5, start_t: 3, restore_from: "../restore-src/checkpoints/t0003.pt", config: { lr: 3e-4, wd: 0.01, bs: 8 } });
    const r = await runTrainer(b);
    assert.equal(r.code, 0, r.stderr);
    const rb = readReports(b);
    assert.deepEqual(rb.map((x) => x.t), [4, 5]);
    assert.equal(rb[0].lr, 3e-4);
    assert.equal(rb[0].weight_decay, 0.01);
    assert.equal(rb[0].batch_size, 8);
    const fromScratch = ra[0].eval_loss as number; // first epoch without a checkpoint
    const atCkpt = ra[2].eval_loss as number;
    const first = rb[0].eval_loss as number;
    assert.ok(Math.abs(first - atCkpt) < Math.abs(first - fromScratch),
      `first loss after restore ${first} should be near the checkpoint's ${atCkpt}, not the from-scratch ${fromScratch}`);
    assert.ok(first < fromScratch - 0.05, `${first} vs from-scratch ${fromScratch}`);
    // same restore, absolute path, accepted too
    const c = dirOf("restore-abs");
    writeTrial(c, { max_t: 4, start_t: 3, restore_from: path.join(a, "checkpoints/t0003.pt") });
    assert.equal((await runTrainer(c)).code, 0);
    assert.deepEqual(readReports(c).map((x) => x.t), [4]);
  });

  for (const sig of ["SIGUSR1", "SIGTERM"] as const) {
    test(`${sig}: finishes the step, checkpoints, reports, exits 0; resume continues`, async () => {
      const dir = dirOf(`sig-${sig}`);
      writeTrial(dir, { max_t: 40 });
      const run = startTrainer(dir);
      await waitFor(() => readReports(dir).length >= 1, 60_000, "first report");
      await sleep(200);
      run.child.kill(sig);
      const e = await run.exit;
      assert.equal(e.code, 0, run.stderr());
      const reps = readReports(dir);
      const last = reps[reps.length - 1];
      assert.equal(last.preempted, true);
      assert.equal(typeof last.checkpoint, "string");
      assert.ok(fs.existsSync(path.join(dir, last.checkpoint as string)), `${last.checkpoint} missing`);
      assert.ok(reps.length < 40);
      if (sig === "SIGUSR1") {
        // resume in the same dir from the preemption checkpoint
        writeTrial(dir, { max_t: last.t + 1, start_t: last.t, restore_from: last.checkpoint });
        const r2 = await runTrainer(dir);
        assert.equal(r2.code, 0, r2.stderr);
        const after2 = readReports(dir);
        assert.equal(after2[after2.length - 1].t, last.t + 1);
        assert.ok((after2[after2.length - 1].time_total_s as number) > (last.time_total_s as number));
      }
    });
  }

  test("signal while waiting at a decision point: preemption line names the decision checkpoint", async () => {
    const dir = dirOf("sig-pause");
    writeTrial(dir, { max_t: 3, pause_at: [1] });
    const run = startTrainer(dir);
    await waitFor(() => readReports(dir).length >= 1, 60_000, "report t=1");
    await sleep(300);
    run.child.kill("SIGUSR1");
    const e = await run.exit;
    assert.equal(e.code, 0, run.stderr());
    const reps = readReports(dir);
    assert.equal(reps.length, 2);
    assert.equal(reps[1].preempted, true);
    assert.equal(reps[1].checkpoint, "checkpoints/t0001.pt");
  });

  const bad: Array<[string, Parameters<typeof writeTrial>[1], RegExp]> = [
    ["lr <= 0", { config: { lr: 0 } }, /config\.lr must be a finite number > 0/],
    ["negative weight decay", { config: { lr: 1e-3, wd: -1 } }, /config\.weight_decay must be/],
    ["non-integer batch size", { config: { lr: 1e-3, bs: 1.5 } }, /config\.batch_size must be an integer >= 1/],
    ["batch size 0", { config: { lr: 1e-3, per_device_bs: 0 } }, /config\.batch_size must be an integer >= 1/],
    ["unknown model", { trainer: { model: "no-such-model" } }, /unknown model 'no-such-model'/],
    ["missing data", { trainer: { model: "small", dataset: "/nonexistent/corpus.txt" } }, /dataset not found: \/nonexistent\/corpus\.txt/],
    ["missing restore_from", { start_t: 1, restore_from: "checkpoints/nope.pt" }, /restore_from not found/],
    ["metric the model does not report", { metric: "accuracy" }, /metric 'accuracy' is not reported/],
  ];
  for (const [name, over, msg] of bad) {
    test(`crash exit with a clear message: ${name}`, async () => {
      const dir = dirOf(`bad-${name.replace(/\W+/g, "-")}`);
      writeTrial(dir, over);
      const r = await runTrainer(dir);
      assert.equal(r.code, 2, `exit ${r.code}; stderr: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      const errLine = lines.find((l) => l.startsWith("tunelab-trainer: error:"));
      assert.ok(errLine, r.stderr);
      assert.match(errLine!, msg);
      assert.ok(!fs.existsSync(path.join(dir, "metrics.jsonl")));
    });
  }

  test("same seed → same curve; another seed → another curve", async () => {
    const curves: number[][] = [];
    for (const [name, seed] of [["s1", 7], ["s2", 7], ["s3", 8]] as const) {
      const dir = dirOf(`seed-${name}`);
      writeTrial(dir, { max_t: 2, seed });
      assert.equal((await runTrainer(dir)).code, 0);
      curves.push(readReports(dir).map((x) => x.eval_loss as number));
    }
    assert.deepEqual(curves[0], curves[1]);
    assert.notDeepEqual(curves[0], curves[2]);
  });
});

describe("small model: hyperparameters matter", () => {
  const opts = { model: "small", tokens_per_epoch: 16384, eval_windows: 32 };
  const curve = async (name: string, config: Record<string, number>) => {
    const dir = dirOf(`hp-${name}`);
    writeTrial(dir, { max_t: 3, config, trainer: opts });
    const r = await runTrainer(dir);
    assert.equal(r.code, 0, r.stderr);
    return readReports(dir).map((x) => (x.eval_loss === null ? Infinity : (x.eval_loss as number)));
  };

  test("good lr falls every epoch; too high and too low are clearly worse", async () => {
    const good = await curve("good", { lr: 2e-3, bs: 8 });
    assert.ok(good[1] < good[0] && good[2] < good[1], `good curve not falling: ${good}`);
    const high = await curve("high", { lr: 0.5, bs: 8 });
    const low = await curve("low", { lr: 1e-5, bs: 8 });
    assert.ok(high[2] > good[2] + 0.5, `lr 0.5 (${high}) not clearly worse than lr 2e-3 (${good})`);
    assert.ok(low[2] > good[2] + 0.5, `lr 1e-5 (${low}) not clearly worse than lr 2e-3 (${good})`);
  });

  test("batch size and weight decay change the curve", async () => {
    const base = await curve("bs8", { lr: 2e-3, bs: 8, wd: 0 });
    const bigBs = await curve("bs64", { lr: 2e-3, bs: 64, wd: 0 });
    const bigWd = await curve("wd", { lr: 2e-3, bs: 8, wd: 30 });
    assert.ok(Math.abs(bigBs[2] - base[2]) > 0.05, `bs 64 ${bigBs} vs bs 8 ${base}`);
    assert.ok(bigWd[2] > base[2] + 0.1, `wd 30 ${bigWd} vs wd 0 ${base}`);
  });
});
