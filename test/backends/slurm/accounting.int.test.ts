/**
 * Accounting: with slurmdbd + a private MariaDB (sacct: AllocTRES gres/gpu ×
 * ElapsedRaw) and without it (job times × requested GPUs); queue wait is
 * reported apart from run time.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { BackendEvent } from "../../../src/backends/types";
import { clusterPerFile, ended, fakeLaunch, makeBackend, pollUntil, sshSpec } from "./harness";

const withDbd = clusterPerFile({ gpus: 2, slurmdbd: true });

type Acc = Extract<BackendEvent, { type: "accounting" }>;

describe("accounting with sacct (slurmdbd + private MariaDB)", () => {
  it("2-GPU trial: gpuSeconds = gres/gpu × ElapsedRaw from sacct; queue wait apart", async () => {
    const c = await withDbd();
    const b = makeBackend(c, sshSpec(c, { accounting: "sacct" }));
    try {
      await b.submit([fakeLaunch("ac", { trial: { max_t: 4 }, stepS: 0.5, gpus: 2 })]);
      const log = await pollUntil(b, (l) => ended("ac")(l) && l.some((e) => e.type === "accounting"), "accounting", [], 90_000, 300);
      const acc = log.find((e): e is Acc => e.type === "accounting")!;
      assert.equal(acc.source, "sacct");
      assert.equal(acc.gpus, 2);
      const raw = (await c.exec(`sacct -X -n -P -j ${(log.find((e) => e.type === "state" && e.jobId) as { jobId: string }).jobId} --format=ElapsedRaw,AllocTRES`)).trim().split("\n")[0];
      const [elapsed, tres] = raw.split("|");
      assert.match(tres, /gres\/gpu=2/);
      assert.equal(acc.runSeconds, Number(elapsed));
      assert.equal(acc.gpuSeconds, 2 * Number(elapsed));
      assert.ok(acc.runSeconds >= 1, `ran ${acc.runSeconds}s`);
      assert.ok(acc.queueSeconds >= 0);
      assert.equal(log.filter((e) => e.type === "accounting").length, 1, "accounted once");
    } finally {
      await b.close();
    }
  });

  it("queue wait: a trial waiting for busy GPUs has queueSeconds > 0, kept out of runSeconds", async () => {
    const c = await withDbd();
    const b = makeBackend(c, sshSpec(c, { accounting: "sacct" }), { arrays: false });
    try {
      await b.submit([fakeLaunch("busy", { trial: { max_t: 4 }, stepS: 0.6, gpus: 2 }), fakeLaunch("waits", { trial: { max_t: 1 }, stepS: 0.2, gpus: 2 })]);
      const log = await pollUntil(b, (l) => l.filter((e) => e.type === "accounting").length === 2, "both accounted", [], 90_000, 300);
      const w = log.find((e): e is Acc => e.type === "accounting" && e.trialId === "waits")!;
      const busy = log.find((e): e is Acc => e.type === "accounting" && e.trialId === "busy")!;
      assert.ok(w.queueSeconds >= 1, `waited ${w.queueSeconds}s`);
      assert.ok(w.runSeconds < busy.runSeconds, "run time excludes the wait");
    } finally {
      await b.close();
    }
  });
});
