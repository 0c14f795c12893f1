/**
 * SLURM backend benchmark on a private loopback cluster over SSH: for 8 / 64
 * / 256 running trials, remote commands and bytes per poll and the latency
 * from a report line written on the cluster to the backend's event; the
 * submission rate for 100 trials singly and as one job array. The "trials"
 * are trivial jobs appending a timestamped line every second (one node
 * advertising 300 CPUs via config_overrides), so the figures measure the
 * backend and SLURM, not a trainer.
 */
import { createSlurmBackend } from "../src/backends/slurm";
import type { SlurmBackend } from "../src/backends/slurm/slurm";
import type { BackendEvent, TrialLaunch } from "../src/backends/types";
import { startCluster, type Cluster } from "../test/support/cluster";

// no fork per line: EPOCHREALTIME and `read -t` on a never-written fd stand in for date and sleep
const WRITER = [
  "exec 9<> <(:)",
  "i=0",
  'while [ $i -lt 100000 ]; do i=$((i+1)); t=${EPOCHREALTIME/./}',
  '  printf \'{"t":%d,"loss":1.0,"time_total_s":0,"checkpoint":null,"written_ms":%d}\\n\' $i $(( t / 1000 )) >> "$TUNELAB_TRIAL_DIR/metrics.jsonl"',
  "  read -t 1 -u 9",
  "done",
].join("\n");

function launch(id: string): TrialLaunch {
  return {
    trialId: id,
    trial: { trial_id: id, experiment: "bench", config: {}, max_t: 100000, start_t: 0, restore_from: null, seed: 0, metric: "loss", mode: "min" },
    command: ["bash", "-c", WRITER],
    env: {},
    gpus: 0,
  };
}

function backendFor(c: Cluster, exp: string, arrays = true): SlurmBackend {
  return createSlurmBackend(
    {
      kind: "slurm", host: c.ssh.host, port: c.ssh.port, user: c.ssh.user, identityFile: c.ssh.identityFile,
      hostKey: c.ssh.hostKeyFingerprint, remoteDir: `${c.base}/home/${exp}`, accounting: "none",
    },
    { experiment: exp, arrays },
  );
}

const q = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
};
const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : "n/a");

const log = (msg: string) => process.stderr.write(`[bench/slurm ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

async function cancelAll(c: Cluster): Promise<void> {
  await c.exec("scancel -u root; true");
  for (let i = 0; i < 30; i++) {
    if ((await c.exec("squeue -h -t PENDING,RUNNING,COMPLETING -o %i | wc -l")).trim() === "0") return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Row {
  n: number;
  running: number;
  commandsPerPoll: number;
  bytesPerPoll: number;
  pollMs: number;
  latMedian: number;
  latP95: number;
  lines: number;
}

async function pollingRow(c: Cluster, n: number, budgetMs: number): Promise<Row> {
  const b = backendFor(c, `poll${n}`);
  try {
    await b.submit(Array.from({ length: n }, (_, i) => launch(`t${i}`)));
    const running = new Set<string>();
    const end = Date.now() + budgetMs * 0.5;
    while (running.size < n && Date.now() < end) {
      for (const e of await b.poll()) if (e.type === "state" && e.state === "running") running.add(e.trialId);
      await b.wait(200);
    }
    // measure: back-to-back polls (250 ms apart) for the rest of the budget
    const lat: number[] = [];
    const polls: Array<{ cmds: number; bytes: number; ms: number }> = [];
    log(`${n} trials: ${running.size} running`);
    const stop = Date.now() + Math.min(6000, budgetMs * 0.4);
    await b.poll(); // drain what accumulated while starting
    const hardStop = Date.now() + 30_000;
    while ((Date.now() < stop || polls.length < 3) && Date.now() < hardStop) {
      const t0 = Date.now();
      const ev: BackendEvent[] = await b.poll();
      polls.push({ cmds: b.lastPoll.commands, bytes: b.lastPoll.bytesReceived + b.lastPoll.bytesSent, ms: Date.now() - t0 });
      for (const e of ev) if (e.type === "report" && typeof e.report.written_ms === "number") lat.push(e.at - (e.report.written_ms as number));
      await b.wait(250);
    }
    const row = {
      n, running: running.size,
      commandsPerPoll: polls.reduce((a, p) => a + p.cmds, 0) / Math.max(1, polls.length),
      bytesPerPoll: polls.reduce((a, p) => a + p.bytes, 0) / Math.max(1, polls.length),
      pollMs: q(polls.map((p) => p.ms), 0.5),
      latMedian: q(lat, 0.5), latP95: q(lat, 0.95), lines: lat.length,
    };
    log(JSON.stringify(row));
    return row;
  } finally {
    await b.close();
    await cancelAll(c);
  }
}

async function submitRate(c: Cluster, arrays: boolean): Promise<{ ms: number; jobs: number }> {
  const b = backendFor(c, arrays ? "subA" : "subS", arrays);
  try {
    await b.start();
    const t0 = Date.now();
    await b.submit(Array.from({ length: 100 }, (_, i) => launch(`s${i}`)));
    const ms = Date.now() - t0;
    const jobs = Number((await c.exec("squeue -h -r -o %i | wc -l")).trim());
    log(`submit 100 ${arrays ? "as an array" : "singly"}: ${ms} ms, ${jobs} jobs`);
    return { ms, jobs };
  } finally {
    await b.close();
    await cancelAll(c);
  }
}

export async function run(): Promise<string> {
  const t0 = Date.now();
  const c = await startCluster({ gpus: 0, cpus: 300 });
  // jobs' processes outlive a killed bench: tear the cluster down on SIGTERM/SIGINT too
  const onSignal = () => void c.stop().finally(() => process.exit(130));
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  const out: string[] = ["## SLURM backend (private loopback cluster over SSH, ssh2)", ""];
  try {
    const single = await submitRate(c, false);
    const array = await submitRate(c, true);
    const rows: Row[] = [];
    for (const [n, budget] of [[8, 8000], [64, 12000], [256, 24000]] as const) rows.push(await pollingRow(c, n, budget));
    out.push(
      "Trials are jobs appending a timestamped report line every second; the backend polls every 250 ms (one remote command per poll).",
      "",
      "| running trials | reached running | remote commands / poll | bytes / poll (sent+received) | poll round trip (median ms) | report latency median (ms) | p95 (ms) | lines measured |",
      "|---|---|---|---|---|---|---|---|",
      ...rows.map((r) => `| ${r.n} | ${r.running} | ${r.commandsPerPoll.toFixed(2)} | ${f0(r.bytesPerPoll)} | ${f0(r.pollMs)} | ${f0(r.latMedian)} | ${f0(r.latP95)} | ${r.lines} |`),
      "",
      "| submission of 100 trials | wall time (ms) | trials/s | jobs in squeue |",
      "|---|---|---|---|",
      `| one sbatch per trial (batched in one remote command) | ${single.ms} | ${(100000 / single.ms).toFixed(0)} | ${single.jobs} |`,
      `| one job array | ${array.ms} | ${(100000 / array.ms).toFixed(0)} | ${array.jobs} |`,
      "",
      `Latency = event time in the backend − the time written into the line on the cluster (same clock); it includes half a poll interval on average. Machine load at the end: ${require("node:os").loadavg().map((x: number) => x.toFixed(1)).join(" ")} (2 shared cores). Total bench time ${((Date.now() - t0) / 1000).toFixed(0)} s.`,
    );
  } finally {
    process.removeListener("SIGTERM", onSignal);
    process.removeListener("SIGINT", onSignal);
    await c.stop();
  }
  return out.join("\n");
}

if (require.main === module) run().then((s) => console.log(s));
