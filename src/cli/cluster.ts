/**
 * `tunelab cluster check`: can we reach the cluster, see partitions and GPUs,
 * submit and cancel a tiny job, write the remote directory? Each failure
 * comes with what to do about it. Uses the same transport as the backend, so
 * a passing check means the backend will connect the same way.
 */
import * as fs from "node:fs";
import type { SlurmBackendSpec } from "../config/types";
import { transportFor } from "../backends/slurm";
import { insideDir, sbatchValue, shq } from "../backends/slurm/quote";
import { AuthError, HostKeyError, type KbdPrompt } from "../backends/slurm/ssh";
import type { Transport } from "../backends/slurm/transport";

export interface CheckStep {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
  ms: number;
}

export interface PartitionInfo {
  name: string;
  available: string;
  nodes: number;
  gres: string;
  gpus: number;
  state: string;
  cpus: string;
  memoryMb: string;
}

export interface CheckReport {
  ok: boolean;
  target: string;
  steps: CheckStep[];
  partitions: PartitionInfo[];
}

export interface CheckOptions {
  /** LocalTransport: extra environment (tests) */
  env?: Record<string, string>;
  prompt?: KbdPrompt;
  jumpHostKey?: string;
  transport?: Transport;
}

export async function clusterCheck(spec: SlurmBackendSpec, opts: CheckOptions = {}): Promise<CheckReport> {
  const target = spec.host ? `${spec.user ? spec.user + "@" : ""}${spec.host}:${spec.port ?? 22}${spec.jump ? ` via ${spec.jump}` : ""}` : "this machine (sbatch locally)";
  const report: CheckReport = { ok: false, target, steps: [], partitions: [] };
  const t = transportFor(spec, { ...opts, reconnect: { initialMs: 200, maxMs: 1000, timeoutMs: 5000 } });
  const step = async (name: string, fn: () => Promise<{ ok: boolean; detail: string; fix?: string }>): Promise<boolean> => {
    const t0 = Date.now();
    let r: { ok: boolean; detail: string; fix?: string };
    try {
      r = await fn();
    } catch (e) {
      r = explain(e as Error, spec);
    }
    report.steps.push({ name, ...r, ms: Date.now() - t0 });
    return r.ok;
  };
  const run = async (script: string) => {
    const r = await t.run(script, { timeoutMs: 60_000 });
    return { code: r.code, out: r.stdout.toString(), err: r.stderr };
  };
  try {
    if (!(await step("connect", async () => {
      await t.connect();
      return { ok: true, detail: spec.host ? `connected to ${target}, host key verified` : "local shell" };
    }))) return report;

    if (!(await step("slurm commands", async () => {
      const r = await run('for c in sbatch squeue sinfo scancel sacct; do printf "%s=%s\\n" "$c" "$(command -v $c)"; done\n');
      const missing = [...r.out.matchAll(/^(\w+)=$/gm)].map((m) => m[1]).filter((c) => c !== "sacct");
      if (missing.length)
        return { ok: false, detail: `not found on PATH: ${missing.join(", ")}`, fix: "load SLURM in your shell startup on the cluster (e.g. add `module load slurm` to ~/.bashrc), or ask the admins where the SLURM client commands live" };
      return { ok: true, detail: "sbatch, squeue, sinfo, scancel found" };
    }))) return report;

    if (!(await step("partitions and GPUs", async () => {
      const r = await run("sinfo -h -o '%P|%a|%D|%G|%T|%c|%m' 2>&1\n");
      if (r.code !== 0) return { ok: false, detail: r.out.trim() || r.err.trim(), fix: "sinfo failed: is slurmctld reachable from this host (`scontrol ping`)?" };
      const byName = new Map<string, PartitionInfo>();
      for (const line of r.out.trim().split("\n").filter(Boolean)) {
        const [p, a, d, g, s, c, m] = line.split("|");
        const name = p.replace(/\*$/, "");
        const gpus = [...g.matchAll(/gpu(?::[A-Za-z0-9_.-]+)?:(\d+)/g)].reduce((x, mm) => x + Number(mm[1]), 0) * Number(d);
        const prev = byName.get(name);
        if (prev) {
          prev.nodes += Number(d);
          prev.gpus += gpus;
          prev.state += `,${s}`;
        } else byName.set(name + (p.endsWith("*") ? "" : ""), { name, available: a, nodes: Number(d), gres: g, gpus, state: s, cpus: c, memoryMb: m });
      }
      report.partitions = [...byName.values()];
      if (spec.partition && !byName.has(spec.partition))
        return { ok: false, detail: `partition "${spec.partition}" not found; partitions: ${[...byName.keys()].join(", ")}`, fix: "set backend.partition to one of the partitions listed" };
      const gp = spec.partition ? byName.get(spec.partition)!.gpus : report.partitions.reduce((x, p) => x + p.gpus, 0);
      return { ok: true, detail: report.partitions.map((p) => `${p.name} (${p.available}, ${p.nodes} nodes, ${p.gpus} GPUs, ${p.state})`).join("; ") + (gp === 0 ? " — no GPUs visible" : "") };
    }))) return report;

    let home = "";
    if (!(await step("remote directory writable", async () => {
      const r0 = await run('echo "@@TL HOME $HOME"\n');
      home = /@@TL HOME (.*)/.exec(r0.out)?.[1]?.trim() ?? "";
      const dir = spec.remoteDir.startsWith("/") ? spec.remoteDir : `${home}/${spec.remoteDir.replace(/^~\/?/, "")}`;
      const probe = insideDir(dir, `.tunelab-check-${process.pid}`);
      const r = await run(`mkdir -p ${shq(dir)} 2>&1 && echo ok > ${shq(probe)} 2>&1 && rm -f ${shq(probe)} && echo "@@TL OK"; df -Ph ${shq(dir)} 2>/dev/null | tail -n 1\n`);
      if (!r.out.includes("@@TL OK"))
        return { ok: false, detail: `cannot write ${dir}: ${r.out.replace("@@TL OK", "").trim() || r.err.trim()}`, fix: `choose a backend.remoteDir you own (your home or scratch space; check with \`ls -ld ${dir}\`), or fix its permissions / quota` };
      const df = r.out.split("\n").filter((l) => l && !l.includes("@@TL")).at(-1) ?? "";
      return { ok: true, detail: `${dir} is writable${df ? ` (${df.trim().split(/\s+/)[3] ?? "?"} free)` : ""}` };
    }))) return report;

    if (!(await step("submit and cancel a tiny job", async () => {
      const dir = spec.remoteDir.startsWith("/") ? spec.remoteDir : `${home}/${spec.remoteDir.replace(/^~\/?/, "")}`;
      const args = ["--parsable", "--hold", "--job-name=tunelab-check", `--output=${dir}/.tunelab-check-%j.out`, "--time=1"];
      const add = (flag: string, field: string, v?: string) => v && args.push(`--${flag}=${sbatchValue(field, v)}`);
      add("partition", "partition", spec.partition);
      add("account", "account", spec.account);
      add("qos", "qos", spec.qos);
      add("reservation", "reservation", spec.reservation);
      const r = await run(
        `J=$(sbatch ${args.map(shq).join(" ")} --wrap 'true' 2>&1) || { echo "@@TL ERR $J"; exit 0; }; J=\${J%%;*}; echo "@@TL JOB $J"; squeue -h -j "$J" -o '%i|%T|%r'; scancel "$J"; sleep 0.3; squeue -h -t all -j "$J" -o '%T' 2>/dev/null; rm -f ${shq(dir)}/.tunelab-check-"$J".out\n`,
      );
      const err = /@@TL ERR (.*)/s.exec(r.out);
      if (err) return { ok: false, detail: `sbatch failed: ${err[1].trim()}`, fix: sbatchFix(err[1]) };
      const job = /@@TL JOB (\d+)/.exec(r.out)?.[1];
      if (!job) return { ok: false, detail: `no job id from sbatch: ${r.out.trim()} ${r.err.trim()}`, fix: "run `sbatch --wrap true` by hand on the cluster to see why" };
      const seen = r.out.includes(`${job}|`);
      return { ok: seen, detail: seen ? `job ${job} submitted (held), seen in squeue, cancelled` : `job ${job} submitted but squeue did not show it`, fix: seen ? undefined : "squeue may point at another cluster: check SLURM_CONF / `scontrol show config | grep ClusterName`" };
    }))) return report;

    if (spec.accounting === "sacct") {
      await step("accounting (sacct)", async () => {
        const r = await run("sacct -X -n -P --format=JobID -S now-1hours 2>&1 | head -n 1; echo \"@@TL RC ${PIPESTATUS[0]}\"\n");
        const ok = /@@TL RC 0/.test(r.out) && !/disabled/i.test(r.out);
        return ok
          ? { ok: true, detail: "sacct answers" }
          : { ok: false, detail: r.out.replace(/@@TL RC \d+/, "").trim(), fix: 'this cluster has no accounting database: set backend.accounting = "none" (GPU time is then computed from job times)' };
      });
    }
    report.ok = report.steps.every((s) => s.ok);
    return report;
  } finally {
    await t.close().catch(() => undefined);
  }
}

function sbatchFix(msg: string): string {
  if (/Invalid partition/i.test(msg)) return "set backend.partition to a partition listed by `sinfo -s`";
  if (/Invalid account|association/i.test(msg)) return "set backend.account to one of yours: `sacctmgr show assoc user=$USER format=account`";
  if (/qos/i.test(msg)) return "check backend.qos: `sacctmgr show assoc user=$USER format=qos`";
  if (/reservation/i.test(msg)) return "check backend.reservation: `scontrol show reservation`";
  if (/time limit/i.test(msg)) return "lower backend.time below the partition's limit (`sinfo -o '%P %l'`)";
  if (/command not found/i.test(msg)) return "sbatch is not on PATH: `module load slurm` in ~/.bashrc on the cluster";
  return "run the same sbatch by hand on the cluster to see the full error";
}

function explain(e: Error, spec: SlurmBackendSpec): { ok: false; detail: string; fix?: string } {
  if (e instanceof HostKeyError) {
    return {
      ok: false,
      detail: e.message,
      fix: e.mismatch
        ? "the host key changed or someone is in the middle: do not continue until the admins confirm the new key"
        : `if ${e.fingerprint} is the cluster's key (ask the admins or compare with \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` on it), set backend.hostKey = "${e.fingerprint}"`,
    };
  }
  if (e instanceof AuthError) return { ok: false, detail: e.message, fix: "put your public key in ~/.ssh/authorized_keys on the cluster (ssh-copy-id), or set backend.identityFile to the right private key, or start ssh-agent" };
  const m = e.message;
  if (/ECONNREFUSED/.test(m)) return { ok: false, detail: m, fix: `nothing listens on ${spec.host}:${spec.port ?? 22}: check backend.host / backend.port (and the VPN)` };
  if (/ENOTFOUND|EAI_AGAIN/.test(m)) return { ok: false, detail: m, fix: `the name ${spec.host} does not resolve: check backend.host (and the VPN)` };
  if (/ETIMEDOUT|Timed out/i.test(m)) return { ok: false, detail: m, fix: "the host does not answer: a firewall or VPN? try backend.jump through the login bastion" };
  if (/Permission denied/i.test(m)) return { ok: false, detail: m, fix: "permission denied: check remoteDir ownership (`ls -ld`)" };
  return { ok: false, detail: m };
}

export function formatCheckReport(r: CheckReport): string {
  const lines = [`tunelab cluster check: ${r.target}`];
  for (const s of r.steps) {
    lines.push(`  ${s.ok ? "✓" : "✗"} ${s.name} (${s.ms} ms): ${s.detail}`);
    if (!s.ok && s.fix) lines.push(`      fix: ${s.fix}`);
  }
  if (r.partitions.length) {
    lines.push("  partitions:");
    for (const p of r.partitions) lines.push(`    ${p.name.padEnd(12)} ${p.available.padEnd(5)} nodes=${p.nodes} gpus=${p.gpus} gres=${p.gres} cpus=${p.cpus} mem=${p.memoryMb}MB ${p.state}`);
  }
  lines.push(r.ok ? "  all checks passed" : "  check FAILED");
  return lines.join("\n");
}

/**
 * The CLI entry (`tunelab cluster check FILE [--json]`): FILE is an
 * experiment config (its `backend`) or a bare slurm backend spec.
 * Returns the exit code.
 */
export async function clusterCheckCommand(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s + "\n")): Promise<number> {
  const file = argv.find((a) => !a.startsWith("--"));
  if (!file) {
    out("usage: tunelab cluster check FILE [--json]   (FILE: experiment JSON with a slurm backend, or the backend object)");
    return 2;
  }
  let spec: SlurmBackendSpec;
  try {
    const raw = JSON.parse(fs.readFileSync(file, "utf8")) as { backend?: SlurmBackendSpec } & SlurmBackendSpec;
    spec = raw.backend ?? raw;
  } catch (e) {
    out(`cannot read ${file}: ${(e as Error).message}`);
    return 2;
  }
  if (spec.kind !== "slurm" || typeof spec.remoteDir !== "string") {
    out(`${file}: backend.kind must be "slurm" and backend.remoteDir a path`);
    return 2;
  }
  const r = await clusterCheck(spec);
  out(argv.includes("--json") ? JSON.stringify(r, null, 2) : formatCheckReport(r));
  return r.ok ? 0 : 1;
}
