/**
 * The backend contract suite (design.md: "one contract test suite run
 * against every backend"). Not a test file itself: each backend's test file
 * calls `runBackendContract(name, factory)`.
 *
 * The factory builds a fresh harness per test: a started backend with
 * `maxConcurrent` slots, a `launch(id, overrides)` that returns a TrialLaunch
 * for the backend's trainer (max_t 4 unless overridden), and `cleanup()`
 * that kills everything it started (also after a failed assertion).
 Optional parts register extra tests only when declared in `caps` (so a
 * backend without them gets fewer tests, never silently passing ones):
 *  - caps.adopt + `reopen()`: a NEW backend instance over the same run dir /
 *    cluster (a kernel restart) -> the adopt test;
 *  - caps.tornLines: behaviour "torn" writes report lines in halves;
 *  - `features.crashExitCode`: behaviour "crash" exits non-zero (a process).
 * Behaviour "crash" must make the trial fail with `crashMarker` in the
 * message (for processes: in the stderr tail).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Backend, BackendEvent, Report, TrialJson, TrialLaunch, TrialState } from "../../src/backends/types";

export interface LaunchOverrides {
  trial?: Partial<TrialJson>;
  behaviour?: "normal" | "crash" | "torn";
  gpus?: number;
}

export interface ContractHarness {
  backend: Backend;
  launch: (id: string, overrides?: LaunchOverrides) => TrialLaunch;
  cleanup: () => Promise<void>;
  /** concurrency limit the backend was built with (>= 1, small: 2). */
  maxConcurrent: number;
  /** duration of one trainer step on the backend's clock, ms. */
  stepMs: number;
  /** ms (backend clock) between polls; default stepMs / 4. */
  pollMs?: number;
  /** real-time limit per test phase, ms (default 30 000). */
  timeoutMs?: number;
  /** text the failed message must contain for behaviour "crash". */
  crashMarker: string;
  reopen?: () => Promise<Backend>;
  features?: { crashExitCode?: boolean };
}

export type HarnessFactory = () => Promise<ContractHarness>;

const TERMINAL: ReadonlySet<TrialState> = new Set(["completed", "stopped", "failed", "paused"]);

/** Polls and waits until `until(log)` holds; returns every event seen. */
export async function drive(
  h: ContractHarness,
  until: (log: BackendEvent[]) => boolean,
  opts: { backend?: Backend; log?: BackendEvent[]; what?: string } = {},
): Promise<BackendEvent[]> {
  const b = opts.backend ?? h.backend;
  const log = opts.log ?? [];
  const deadline = performance.now() + (h.timeoutMs ?? 30_000);
  const pollMs = h.pollMs ?? Math.max(1, h.stepMs / 4);
  for (;;) {
    log.push(...(await b.poll()));
    if (until(log)) return log;
    if (performance.now() > deadline) {
      assert.fail(`timed out waiting for ${opts.what ?? "condition"}; events so far:\n${log.map((e) => JSON.stringify(e)).join("\n")}`);
    }
    await b.wait(pollMs);
  }
}

/** Polls for `steps` trainer steps' worth of backend time, collecting events. */
async function idle(h: ContractHarness, steps: number, log: BackendEvent[], backend?: Backend): Promise<void> {
  const b = backend ?? h.backend;
  const pollMs = h.pollMs ?? Math.max(1, h.stepMs / 4);
  const until = b.now() + steps * h.stepMs;
  const realCap = performance.now() + steps * h.stepMs + 5_000;
  while (b.now() < until && performance.now() < realCap) {
    log.push(...(await b.poll()));
    await b.wait(pollMs);
  }
  log.push(...(await b.poll()));
}

export const reportsOf = (log: BackendEvent[], id: string): Report[] =>
  log.flatMap((e) => (e.type === "report" && e.trialId === id ? [e.report] : []));
export const statesOf = (log: BackendEvent[], id: string): TrialState[] =>
  log.flatMap((e) => (e.type === "state" && e.trialId === id ? [e.state] : []));
const lastState = (log: BackendEvent[], id: string): TrialState | undefined => statesOf(log, id).at(-1);
const ended = (id: string) => (log: BackendEvent[]) => TERMINAL.has(lastState(log, id) as TrialState);
const hasReport = (id: string, t: number) => (log: BackendEvent[]) => reportsOf(log, id).some((r) => r.t >= t) || ended(id)(log);
/** t of each report, leaving out preemption lines ("preempted": true repeats the last t, by the trainer's contract). */
const ts = (rs: Report[]) => rs.filter((r) => r.preempted !== true).map((r) => r.t);
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

async function withHarness(factory: HarnessFactory, fn: (h: ContractHarness) => Promise<void>): Promise<void> {
  const h = await factory();
  try {
    await fn(h);
  } finally {
    await h.cleanup();
  }
}

/** What a backend can be tested for beyond the core (static, so tests are registered or not). */
export interface ContractCapabilities {
  /** report lines can be torn (files read incrementally): behaviour "torn". */
  tornLines?: boolean;
  /** a new instance can adopt running trials: harness.reopen required. */
  adopt?: boolean;
}

export function runBackendContract(name: string, factory: HarnessFactory, caps: ContractCapabilities = {}): void {
  describe(`backend contract: ${name}`, () => {
    it("submit -> queued/running -> reports in order -> completed, then accounting", async () => {
      await withHarness(factory, async (h) => {
        const l = h.launch("c1", { trial: { max_t: 3 } });
        await h.backend.submit([l]);
        const log = await drive(h, ended("c1"), { what: "c1 to end" });
        const states = statesOf(log, "c1");
        assert.ok(["queued", "running"].includes(states[0]), `first state ${states[0]}`);
        assert.ok(states.includes("running"), "a running state");
        assert.equal(states.at(-1), "completed", JSON.stringify(log.filter((e) => e.type === "state")));
        const reps = reportsOf(log, "c1");
        assert.deepEqual(ts(reps), [1, 2, 3]);
        for (const r of reps) {
          assert.equal(typeof r[l.trial.metric], "number", `metric ${l.trial.metric} in ${JSON.stringify(r)}`);
          assert.equal(typeof r.time_total_s, "number");
        }
        const iDone = log.findIndex((e) => e.type === "state" && e.trialId === "c1" && e.state === "completed");
        const iLastRep = log.findLastIndex((e) => e.type === "report" && e.trialId === "c1");
        assert.ok(iLastRep < iDone, "every report precedes the completed state");
        const log2 = await drive(h, (lg) => lg.some((e) => e.type === "accounting" && e.trialId === "c1"), { log, what: "accounting" });
        const acc = log2.find((e) => e.type === "accounting" && e.trialId === "c1");
        assert.ok(acc && acc.type === "accounting");
        assert.ok(acc.runSeconds > 0, `runSeconds ${acc.runSeconds}`);
        assert.ok(acc.queueSeconds >= 0);
        assert.equal(acc.gpus, l.gpus, "accounted GPUs = requested GPUs");
        assert.ok(Math.abs(acc.gpuSeconds - acc.gpus * acc.runSeconds) <= 1e-6 * Math.max(1, acc.gpuSeconds), "gpuSeconds = gpus x runSeconds");
      });
    });

    it("respects the concurrency limit and starts queued trials in FIFO order", async () => {
      await withHarness(factory, async (h) => {
        const ids = range(1, h.maxConcurrent + 2).map((i) => `q${i}`);
        await h.backend.submit(ids.map((id) => h.launch(id, { trial: { max_t: 2 } })));
        const log = await drive(h, (lg) => ids.every((id) => ended(id)(lg)), { what: "all to end" });
        const running = new Set<string>();
        let peak = 0;
        const startOrder: string[] = [];
        for (const e of log) {
          if (e.type !== "state") continue;
          if (e.state === "running") {
            running.add(e.trialId);
            startOrder.push(e.trialId);
          } else if (TERMINAL.has(e.state)) running.delete(e.trialId);
          peak = Math.max(peak, running.size);
        }
        assert.ok(peak <= h.maxConcurrent, `peak ${peak} > limit ${h.maxConcurrent}`);
        const states = ids.map((id) => `${id}: ${log.filter((e) => e.type === "state" && e.trialId === id).map((e) => (e as { state: string; message?: string }).state + ((e as { message?: string }).message ? ` (${(e as { message?: string }).message})` : "")).join(" → ")}`);
        assert.deepEqual(startOrder, ids, `FIFO start order; states:\n${states.join("\n")}`);
        for (const id of ids) assert.equal(lastState(log, id), "completed", id);
        const waited = ids.slice(h.maxConcurrent);
        for (const id of waited) assert.equal(statesOf(log, id)[0], "queued", `${id} waited queued`);
      });
    });

    it("stop mid-run -> stopped, no reports afterwards", async () => {
      await withHarness(factory, async (h) => {
        await h.backend.submit([h.launch("s1", { trial: { max_t: 1000 } })]);
        const log = await drive(h, hasReport("s1", 1), { what: "first report" });
        await h.backend.stop("s1");
        await drive(h, ended("s1"), { log, what: "s1 stopped" });
        assert.equal(lastState(log, "s1"), "stopped");
        const n = reportsOf(log, "s1").length;
        assert.ok(n < 1000);
        await idle(h, 5, log);
        assert.equal(reportsOf(log, "s1").length, n, "no reports after stopped");
        assert.equal(statesOf(log, "s1").filter((s) => TERMINAL.has(s)).length, 1, "one terminal state");
        assert.ok(log.some((e) => e.type === "accounting" && e.trialId === "s1"), "accounting after stop");
      });
    });

    it("pause -> paused with a checkpoint; resubmit with restore_from + start_t continues t without duplicates", async () => {
      await withHarness(factory, async (h) => {
        const l = h.launch("p1", { trial: { max_t: 8 } });
        await h.backend.submit([l]);
        const log = await drive(h, hasReport("p1", 1), { what: "first report" });
        await h.backend.pause("p1");
        await drive(h, ended("p1"), { log, what: "p1 paused" });
        assert.equal(lastState(log, "p1"), "paused");
        const before = reportsOf(log, "p1");
        const last = before.at(-1)!;
        assert.ok(last.t < 8, "paused before max_t");
        assert.equal(typeof last.checkpoint, "string", "last report names a checkpoint");
        const ckpt = await h.backend.copyCheckpoint("p1", last.checkpoint as string, "p1");
        const resumed = h.launch("p1", { trial: { max_t: 8, start_t: last.t, restore_from: ckpt } });
        await h.backend.submit([resumed]);
        const from = log.length;
        await drive(h, (lg) => ended("p1")(lg.slice(from)), { log, what: "p1 resumed to end" });
        assert.equal(lastState(log, "p1"), "completed");
        const after = reportsOf(log.slice(from), "p1");
        assert.deepEqual(ts(after), range(last.t + 1, 8), "resumed from start_t + 1");
        const all = ts(reportsOf(log, "p1"));
        assert.deepEqual(all, range(1, 8), "no duplicate or missing t");
      });
    });

    it("decision point: waits at pause_at t until decide; continue goes on to completion", async () => {
      await withHarness(factory, async (h) => {
        await h.backend.submit([h.launch("d1", { trial: { max_t: 4, pause_at: [2] } })]);
        const log = await drive(h, hasReport("d1", 2), { what: "report t=2" });
        await idle(h, 6, log);
        assert.deepEqual(ts(reportsOf(log, "d1")), [1, 2], "nothing past the decision point");
        assert.equal(lastState(log, "d1"), "running", "still waiting, not ended");
        assert.equal(typeof reportsOf(log, "d1").at(-1)!.checkpoint, "string", "decision report names a checkpoint");
        h.backend.decide("d1", 2, "continue");
        await drive(h, ended("d1"), { log, what: "d1 to end" });
        assert.equal(lastState(log, "d1"), "completed");
        assert.deepEqual(ts(reportsOf(log, "d1")), [1, 2, 3, 4]);
      });
    });

    it("decision point: decide stop -> stopped at that t", async () => {
      await withHarness(factory, async (h) => {
        await h.backend.submit([h.launch("d2", { trial: { max_t: 4, pause_at: [2] } })]);
        const log = await drive(h, hasReport("d2", 2), { what: "report t=2" });
        h.backend.decide("d2", 2, "stop");
        await drive(h, ended("d2"), { log, what: "d2 to end" });
        assert.equal(lastState(log, "d2"), "stopped");
        assert.deepEqual(ts(reportsOf(log, "d2")), [1, 2]);
      });
    });

    it("a crashing trainer -> failed with the error in the message", async () => {
      await withHarness(factory, async (h) => {
        await h.backend.submit([h.launch("x1", { behaviour: "crash", trial: { max_t: 4 } })]);
        const log = await drive(h, ended("x1"), { what: "x1 to end" });
        const st = log.filter((e) => e.type === "state" && e.trialId === "x1").at(-1);
        assert.ok(st && st.type === "state");
        assert.equal(st.state, "failed");
        assert.ok(st.message && st.message.includes(h.crashMarker), `message: ${st.message}`);
        await drive(h, (lg) => lg.some((e) => e.type === "accounting" && e.trialId === "x1"), { log, what: "accounting of the failed trial" });
        assert.equal(log.filter((e) => e.type === "accounting" && e.trialId === "x1").length, 1, "exactly one accounting event");
        if (h.features?.crashExitCode) {
          assert.equal(typeof st.exitCode, "number");
          assert.notEqual(st.exitCode, 0);
          assert.ok(st.message!.split("\n").length <= 25, "a tail, not the whole stderr");
        }
      });
    });

    it("copyCheckpoint + restore: a second trial continues from the donor's checkpoint", async () => {
      await withHarness(factory, async (h) => {
        const a = h.launch("ca", { trial: { max_t: 4, pause_at: [2] } });
        await h.backend.submit([a]);
        const log = await drive(h, hasReport("ca", 2), { what: "donor at t=2" });
        const rep = reportsOf(log, "ca").find((r) => r.t === 2)!;
        assert.ok(rep, "donor report t=2");
        const restore = await h.backend.copyCheckpoint("ca", rep.checkpoint as string, "cb");
        assert.equal(typeof restore, "string");
        const b = h.launch("cb", { trial: { max_t: 4, start_t: 2, restore_from: restore } });
        await h.backend.submit([b]);
        h.backend.decide("ca", 2, "stop");
        await drive(h, (lg) => ended("ca")(lg) && ended("cb")(lg), { log, what: "both to end" });
        assert.equal(lastState(log, "ca"), "stopped");
        assert.equal(lastState(log, "cb"), "completed");
        assert.deepEqual(ts(reportsOf(log, "cb")), [3, 4]);
      });
    });

    // optional parts: registered only for backends that declare them (never a silent pass)
    if (caps.tornLines) {
      it("torn last line: each report emitted once, only when complete", async () => {
        await withHarness(factory, async (h) => {
          await h.backend.submit([h.launch("t1", { behaviour: "torn", trial: { max_t: 3 } })]);
          const log = await drive(h, ended("t1"), { what: "t1 to end" });
          assert.equal(lastState(log, "t1"), "completed");
          assert.deepEqual(ts(reportsOf(log, "t1")), [1, 2, 3]);
        });
      });
    }

    if (caps.adopt) {
      it("adopt after a restart: a new backend instance picks up a running trial without duplicates", async () => {
        await withHarness(factory, async (h) => {
          assert.ok(h.reopen, "caps.adopt needs harness.reopen");
          await h.backend.submit([h.launch("r1", { trial: { max_t: 6 } })]);
          const log1 = await drive(h, hasReport("r1", 2), { what: "two reports" });
          const seen = reportsOf(log1, "r1");
          assert.equal(lastState(log1, "r1"), "running");
          await h.backend.close();
          const b2 = await h.reopen();
          await b2.adopt([{ trialId: "r1", reportsSeen: seen.length }]);
          const log2 = await drive(h, ended("r1"), { backend: b2, what: "r1 to end on the new instance" });
          assert.equal(lastState(log2, "r1"), "completed");
          assert.deepEqual([...ts(seen), ...ts(reportsOf(log2, "r1"))], range(1, 6), "each t exactly once across instances");
          const acc = log2.find((e) => e.type === "accounting" && e.trialId === "r1");
          assert.ok(acc && acc.type === "accounting" && acc.runSeconds > 0, "accounting from the files");
        });
      });
    }
  });
}
