/**
 * Shared pieces of the SLURM backend tests: one private cluster per test
 * file (started lazily, stopped in `after`), backends over SSH (pinned host
 * key) or LocalTransport, and a contract harness running the fake trainer as
 * real SLURM jobs.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { after } from "node:test";
import { createSlurmBackend, type CreateSlurmOptions } from "../../../src/backends/slurm";
import type { SlurmBackend } from "../../../src/backends/slurm/slurm";
import type { SlurmBackendSpec } from "../../../src/config/types";
import type { BackendEvent, TrialLaunch } from "../../../src/backends/types";
import { startCluster, type Cluster, type ClusterOptions } from "../../support/cluster";
import type { ContractHarness, LaunchOverrides } from "../contract";
import { baseTrial, FAKE_TRAINER, PYTHON } from "../harness-local";

export { FAKE_TRAINER, PYTHON };

/** One cluster per test file: started on first use, stopped when the file's tests end. */
export function clusterPerFile(opts: ClusterOptions = {}): () => Promise<Cluster> {
  let p: Promise<Cluster> | null = null;
  after(async () => {
    if (p) await (await p.catch(() => null))?.stop();
  });
  return () => (p ??= startCluster(opts));
}

let dirSeq = 0;
export function remoteDirFor(c: Cluster): string {
  const d = path.join(c.base, "home", `r${++dirSeq}`);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

export function sshSpec(c: Cluster, extra: Partial<SlurmBackendSpec> = {}): SlurmBackendSpec {
  return {
    kind: "slurm",
    host: c.ssh.host,
    port: c.ssh.port,
    user: c.ssh.user,
    identityFile: c.ssh.identityFile,
    hostKey: c.ssh.hostKeyFingerprint,
    remoteDir: remoteDirFor(c),
    accounting: "none",
    ...extra,
  };
}

export function localSpec(c: Cluster, extra: Partial<SlurmBackendSpec> = {}): SlurmBackendSpec {
  return { kind: "slurm", remoteDir: remoteDirFor(c), accounting: "none", ...extra };
}

export function makeBackend(c: Cluster, spec: SlurmBackendSpec, o: Partial<CreateSlurmOptions> = {}): SlurmBackend {
  return createSlurmBackend(spec, { experiment: "exp", env: spec.host ? undefined : c.env, reconnect: { initialMs: 100, maxMs: 1000, timeoutMs: 60_000 }, ...o });
}

export function fakeLaunch(id: string, o: LaunchOverrides & { stepS?: number } = {}): TrialLaunch {
  const trainer: Record<string, unknown> = { step_s: o.stepS ?? 0.3 };
  if (o.behaviour === "crash") trainer.crash_at = 2;
  if (o.behaviour === "torn") {
    trainer.torn = true;
    trainer.torn_s = 0.6;
  }
  const trial = baseTrial(id, o, trainer);
  trial.trainer = { ...trainer, ...(o.trial?.trainer ?? {}) };
  return { trialId: id, trial, command: [PYTHON, FAKE_TRAINER], env: {}, gpus: o.gpus ?? 1 };
}

/** `extra`: spec fields for every backend of the suite (e.g. reuseProcesses: the suite through warm workers). */
export function slurmContractHarness(getCluster: () => Promise<Cluster>, via: "ssh" | "local", extra: Partial<SlurmBackendSpec> = {}): () => Promise<ContractHarness> {
  // each SSH command costs ~0.15 s idle and ~1 s on a loaded 2-core box: slower steps keep the
  // phases (first report -> pause) inside one trial's lifetime
  const stepS = via === "ssh" ? 0.6 : 0.3;
  return async () => {
    const c = await getCluster();
    const spec = via === "ssh" ? sshSpec(c, extra) : localSpec(c, extra);
    const instances: SlurmBackend[] = [];
    const make = async () => {
      const b = makeBackend(c, spec, { maxConcurrent: 2 });
      await b.start();
      instances.push(b);
      return b;
    };
    const backend = await make();
    return {
      backend,
      maxConcurrent: 2,
      stepMs: stepS * 1000,
      pollMs: 100,
      timeoutMs: 60_000,
      crashMarker: "RuntimeError: fake crash",
      features: { crashExitCode: true },
      launch: (id, o = {}) => fakeLaunch(id, { ...o, stepS }),
      reopen: make,
      cleanup: async () => {
        await c.exec("scancel -u root 2>/dev/null; true").catch(() => undefined);
        for (const b of instances) await b.close().catch(() => undefined);
      },
    };
  };
}

/** Poll until `until(log)` or a timeout (real time). */
export async function pollUntil(b: SlurmBackend, until: (log: BackendEvent[]) => boolean, what: string, log: BackendEvent[] = [], timeoutMs = 40_000, pollMs = 100): Promise<BackendEvent[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    log.push(...(await b.poll()));
    if (until(log)) return log;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; events:\n${log.map((e) => JSON.stringify(e)).join("\n")}`);
    await b.wait(pollMs);
  }
}

export const reports = (log: BackendEvent[], id: string) => log.flatMap((e) => (e.type === "report" && e.trialId === id ? [e.report] : []));
export const states = (log: BackendEvent[], id: string) => log.flatMap((e) => (e.type === "state" && e.trialId === id ? [e.state] : []));
export const TERMINAL = new Set(["completed", "stopped", "failed", "paused"]);
export const ended = (id: string) => (log: BackendEvent[]) => TERMINAL.has(states(log, id).at(-1) ?? "");
