/**
 * A private SLURM cluster (munge + slurmctld + slurmd [+ slurmdbd + MariaDB])
 * and an sshd, all on loopback under one temp dir (docs/platform.md §3).
 * Every test that needs a cluster starts its own with `startCluster()` and
 * calls `stop()` in a finally/after hook. Nothing under /etc is touched;
 * daemons run under `setpriv --pdeathsig KILL` so they die with the test.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { createHash } from "node:crypto";

export interface ClusterOptions {
  /** fake GPUs per node (char devices). Default 2. */
  gpus?: number;
  /** start slurmdbd + a private MariaDB (sacct works). Default false. */
  slurmdbd?: boolean;
  /** start an sshd on 127.0.0.1. Default true. */
  sshd?: boolean;
  /** nodes (each its own slurmd; all on this host). Default 1. */
  nodes?: number;
  /** CPUs each node advertises (config_overrides). Default 8. */
  cpus?: number;
  /** extra slurm.conf lines */
  extraConf?: string[];
}

export interface SshInfo {
  host: string;
  port: number;
  user: string;
  identityFile: string;
  hostKeyFingerprint: string;
  knownHostsFile: string;
  publicKey: string;
}

export interface Cluster {
  base: string;
  slurmConf: string;
  clusterName: string;
  nodeNames: string[];
  /** environment for running slurm client commands on this host */
  env: Record<string, string>;
  ssh: SshInfo;
  /** run a shell command with this cluster's SLURM_CONF; rejects on rc != 0 */
  exec(cmd: string): Promise<string>;
  stopSshd(): Promise<void>;
  startSshd(): Promise<void>;
  /** kill slurmd (and the job steps it started, as a node crash would) */
  killSlurmd(node?: string): Promise<void>;
  startSlurmd(node?: string): Promise<void>;
  stop(): Promise<void>;
}

/** Ports handed out in this process, so that two clusters never collide. */
const usedPorts = new Set<number>();
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once("error", reject);
      s.listen(0, "127.0.0.1", () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    if (!usedPorts.has(port)) {
      usedPorts.add(port);
      return port;
    }
  }
}

function sh(cmd: string, env?: Record<string, string>): { rc: number; out: string; err: string } {
  const r = spawnSync("bash", ["-c", cmd], { env: { ...process.env, ...env }, encoding: "utf8" });
  return { rc: r.status ?? -1, out: r.stdout ?? "", err: r.stderr ?? "" };
}

function must(cmd: string, env?: Record<string, string>): string {
  const r = sh(cmd, env);
  if (r.rc !== 0) throw new Error(`${cmd} failed (${r.rc}): ${r.err}${r.out}`);
  return r.out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, fn: () => boolean, timeoutMs = 20000, stepMs = 50): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (fn()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(stepMs);
  }
}

/** SHA256 fingerprint of an OpenSSH public key line, as ssh-keygen -lf prints it. */
export function fingerprintOfPubLine(line: string): string {
  const b64 = line.trim().split(/\s+/)[1];
  return "SHA256:" + createHash("sha256").update(Buffer.from(b64, "base64")).digest("base64").replace(/=+$/, "");
}

interface Daemon {
  name: string;
  proc: ChildProcess;
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const gpus = opts.gpus ?? 2;
  const nodes = opts.nodes ?? 1;
  const cpus = opts.cpus ?? 8;
  const withSshd = opts.sshd ?? true;
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "tl-cluster-"));
  fs.chmodSync(base, 0o755);
  for (const d of ["munge", "etc", "state", "spool", "log", "run", "dev", "ssh", "home", "mysql"]) {
    fs.mkdirSync(path.join(base, d), { recursive: true, mode: 0o755 });
  }
  const clusterName = "tl" + Math.random().toString(36).slice(2, 8);
  const nodeNames = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
  const slurmConf = path.join(base, "etc", "slurm.conf");
  const env: Record<string, string> = { SLURM_CONF: slurmConf };
  const daemons: Daemon[] = [];
  let stopped = false;

  const spawnDaemon = (name: string, argv: string[], extraEnv: Record<string, string> = {}): Daemon => {
    const log = fs.openSync(path.join(base, "log", `${name}.out`), "a");
    const proc = spawn("setpriv", ["--pdeathsig", "KILL", "--", ...argv], {
      env: { ...process.env, ...env, ...extraEnv },
      stdio: ["ignore", log, log],
      detached: false,
    });
    fs.closeSync(log);
    proc.on("error", () => undefined);
    const d = { name, proc };
    daemons.push(d);
    return d;
  };
  const killDaemon = async (name: string) => {
    for (const d of daemons.filter((x) => x.name === name)) {
      if (d.proc.exitCode === null && d.proc.signalCode === null) {
        const exited = new Promise((r) => d.proc.once("exit", r));
        d.proc.kill("SIGTERM");
        await Promise.race([exited, sleep(3000)]);
        if (d.proc.exitCode === null && d.proc.signalCode === null) {
          d.proc.kill("SIGKILL");
          await Promise.race([exited, sleep(2000)]);
        }
      }
    }
    for (let i = daemons.length - 1; i >= 0; i--) if (daemons[i].name === name) daemons.splice(i, 1);
  };

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    sh(`scancel --quiet -M ${clusterName} -u root 2>/dev/null; scancel -u root 2>/dev/null`, env);
    for (const n of ["sshd", "sshd-bastion", ...nodeNames.map((x) => `slurmd-${x}`), "slurmctld", "slurmdbd", "mariadb", "munged"]) {
      await killDaemon(n);
    }
    for (const d of [...daemons]) await killDaemon(d.name);
    killByEnviron(`SLURM_CONF=${slurmConf}`);
    killByEnviron(`TL_CLUSTER_BASE=${base}`);
    fs.rmSync(base, { recursive: true, force: true });
  };

  try {
    // munge
    const mungeKey = path.join(base, "munge", "munge.key");
    const mungeSock = path.join(base, "munge", "munge.socket");
    must(`mungekey -c -f -k ${mungeKey}`);
    spawnDaemon("munged", [
      "munged", "-F", "-S", mungeSock, `--key-file=${mungeKey}`,
      `--log-file=${path.join(base, "log", "munged.log")}`,
      `--pid-file=${path.join(base, "run", "munged.pid")}`,
      `--seed-file=${path.join(base, "munge", "seed")}`,
    ]);
    await until("munged", () => fs.existsSync(mungeSock));

    // fake GPUs
    const gresLines: string[] = [];
    for (const n of nodeNames) {
      if (gpus > 0) {
        const devDir = path.join(base, "dev", n);
        fs.mkdirSync(devDir, { recursive: true });
        for (let i = 0; i < gpus; i++) must(`mknod ${path.join(devDir, `nvidia${i}`)} c 1 3`);
        gresLines.push(`NodeName=${n} Name=gpu File=${devDir}/nvidia[0-${gpus - 1}]`);
      }
    }
    fs.writeFileSync(path.join(base, "etc", "gres.conf"), ["AutoDetect=off", ...gresLines].join("\n") + "\n");
    fs.writeFileSync(path.join(base, "etc", "plugstack.conf"), "");

    const ctldPort = await freePort();
    const nodePorts = await Promise.all(nodeNames.map(() => freePort()));
    const dbdPort = opts.slurmdbd ? await freePort() : 0;
    const mysqlPort = opts.slurmdbd ? await freePort() : 0;

    const conf = [
      `ClusterName=${clusterName}`,
      `SlurmctldHost=localhost(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${nodePorts[0]}`,
      `SlurmUser=root`,
      `SlurmdUser=root`,
      `AuthType=auth/munge`,
      `CredType=cred/munge`,
      `AuthInfo=socket=${mungeSock}`,
      `StateSaveLocation=${base}/state`,
      `SlurmdSpoolDir=${base}/spool/%n`,
      `SlurmctldPidFile=${base}/run/slurmctld.pid`,
      `SlurmdPidFile=${base}/run/slurmd-%n.pid`,
      `SlurmctldLogFile=${base}/log/slurmctld.log`,
      `SlurmdLogFile=${base}/log/slurmd-%n.log`,
      `ProctrackType=proctrack/linuxproc`,
      `TaskPlugin=task/none`,
      `SelectType=select/cons_tres`,
      `SelectTypeParameters=CR_CPU`,
      `GresTypes=gpu`,
      `SlurmdParameters=config_overrides`,
      `SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,bf_interval=1`,
      `DependencyParameters=kill_invalid_depend`,
      `MinJobAge=300`,
      `KillWait=5`,
      `SlurmdTimeout=6`,
      `InactiveLimit=0`,
      `ReturnToService=2`,
      `MaxArraySize=10001`,
      `MaxJobCount=100000`,
      `PlugStackConfig=${base}/etc/plugstack.conf`,
      `MpiDefault=none`,
      `JobCompType=jobcomp/filetxt`,
      `JobCompLoc=${base}/log/jobcomp.txt`,
      ...(opts.slurmdbd
        ? [
            `AccountingStorageType=accounting_storage/slurmdbd`,
            `AccountingStorageHost=127.0.0.1`,
            `AccountingStoragePort=${dbdPort}`,
            `AccountingStoragePass=${mungeSock}`,
            `AccountingStorageTRES=gres/gpu`,
            `JobAcctGatherType=jobacct_gather/none`,
          ]
        : [`AccountingStorageType=accounting_storage/none`]),
      ...(opts.extraConf ?? []),
      ...nodeNames.map(
        (n, i) =>
          `NodeName=${n} NodeAddr=127.0.0.1 NodeHostname=${os.hostname()} Port=${nodePorts[i]} CPUs=${cpus} RealMemory=64000 ${gpus > 0 ? `Gres=gpu:${gpus}` : ""} State=UNKNOWN`,
      ),
      `PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP`,
      `PartitionName=gpu Nodes=ALL Default=NO MaxTime=INFINITE State=UP`,
    ];
    fs.writeFileSync(slurmConf, conf.join("\n") + "\n");

    if (opts.slurmdbd) {
      const dataDir = path.join(base, "mysql");
      must(`mariadb-install-db --no-defaults --datadir=${dataDir} --user=root --auth-root-authentication-method=normal --skip-test-db >/dev/null 2>&1`);
      const mysock = path.join(base, "run", "mysqld.sock");
      spawnDaemon("mariadb", [
        "mariadbd", "--no-defaults", `--datadir=${dataDir}`, "--user=root", `--socket=${mysock}`,
        `--port=${mysqlPort}`, "--bind-address=127.0.0.1", `--pid-file=${base}/run/mysqld.pid`,
        "--skip-grant-tables", "--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M",
        "--skip-log-bin", "--innodb-flush-log-at-trx-commit=0",
      ]);
      await until("mariadb", () => fs.existsSync(mysock), 30000);
      const dbdConf = path.join(base, "etc", "slurmdbd.conf");
      fs.writeFileSync(
        dbdConf,
        [
          `AuthType=auth/munge`, `AuthInfo=socket=${mungeSock}`, `DbdHost=localhost`, `DbdAddr=127.0.0.1`, `DbdPort=${dbdPort}`,
          `SlurmUser=root`, `StorageType=accounting_storage/mysql`, `StorageHost=127.0.0.1`, `StoragePort=${mysqlPort}`,
          `StorageUser=root`, `StorageLoc=slurm_${clusterName}`, `LogFile=${base}/log/slurmdbd.log`, `PidFile=${base}/run/slurmdbd.pid`,
        ].join("\n") + "\n",
        { mode: 0o600 },
      );
      spawnDaemon("slurmdbd", ["slurmdbd", "-D"], { SLURM_CONF: slurmConf });
      // slurmdbd reads slurmdbd.conf from the directory of SLURM_CONF
      await until("slurmdbd", () => sh(`sacctmgr -n list cluster format=cluster`, env).rc === 0, 30000, 100);
      must(`sacctmgr -i add cluster ${clusterName} >/dev/null 2>&1 || true`, env);
    }

    spawnDaemon("slurmctld", ["slurmctld", "-D", "-f", slurmConf]);
    await until("slurmctld", () => sh(`scontrol ping`, env).out.includes("UP"), 20000, 50);
    for (const n of nodeNames) spawnDaemon(`slurmd-${n}`, ["slurmd", "-D", "-f", slurmConf, "-N", n]);
    await until(
      "nodes idle",
      () => nodeNames.every((n) => /idle/.test(sh(`sinfo -h -n ${n} -o %T`, env).out)),
      20000,
      50,
    );

    // sshd
    const sshDir = path.join(base, "ssh");
    must(`ssh-keygen -q -t ed25519 -N '' -f ${sshDir}/host_ed25519 -C host`);
    must(`ssh-keygen -q -t ed25519 -N '' -f ${sshDir}/id_ed25519 -C client`);
    fs.copyFileSync(`${sshDir}/id_ed25519.pub`, `${sshDir}/authorized_keys`);
    const sshPort = await freePort();
    const hostPub = fs.readFileSync(`${sshDir}/host_ed25519.pub`, "utf8").trim();
    const hostKeyFingerprint = fingerprintOfPubLine(hostPub);
    const knownHostsFile = `${sshDir}/known_hosts`;
    fs.writeFileSync(knownHostsFile, `[127.0.0.1]:${sshPort} ${hostPub.split(/\s+/).slice(0, 2).join(" ")}\n`);
    fs.writeFileSync(
      `${sshDir}/sshd_config`,
      [
        `Port ${sshPort}`, `ListenAddress 127.0.0.1`, `HostKey ${sshDir}/host_ed25519`, `PidFile ${sshDir}/sshd.pid`,
        `AuthorizedKeysFile ${sshDir}/authorized_keys`, `PasswordAuthentication no`, `KbdInteractiveAuthentication no`,
        `PermitRootLogin prohibit-password`, `UsePAM no`, `StrictModes no`, `Subsystem sftp internal-sftp`,
        // SHLVL=1: bash then skips ~/.bashrc for ssh commands. This machine's root .bashrc runs
        // `pyenv init` (seconds per command under load); a cluster account pays its own rc cost.
        `SetEnv SLURM_CONF=${slurmConf} TL_CLUSTER_BASE=${base} SHLVL=1`, `MaxStartups 100`, `MaxSessions 100`, `LogLevel ERROR`,
        `ClientAliveInterval 0`,
      ].join("\n") + "\n",
    );
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const startSshd = async () => {
      if (daemons.some((d) => d.name === "sshd")) return;
      spawnDaemon("sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", `${sshDir}/sshd_config`], { TL_CLUSTER_BASE: base });
      await until("sshd", () => sh(`exec 3<>/dev/tcp/127.0.0.1/${sshPort}`).rc === 0, 10000, 30);
    };
    const stopSshd = async () => {
      // sessions forked by sshd keep their connections; a real outage drops them
      const d = daemons.find((x) => x.name === "sshd");
      const kids = d?.proc.pid ? descendants(d.proc.pid) : [];
      await killDaemon("sshd");
      for (const pid of kids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
      await until("sshd down", () => sh(`exec 3<>/dev/tcp/127.0.0.1/${sshPort}`).rc !== 0, 5000, 30);
    };
    if (withSshd) await startSshd();

    const cluster: Cluster = {
      base,
      slurmConf,
      clusterName,
      nodeNames,
      env,
      ssh: {
        host: "127.0.0.1",
        port: sshPort,
        user: os.userInfo().username,
        identityFile: `${sshDir}/id_ed25519`,
        hostKeyFingerprint,
        knownHostsFile,
        publicKey: fs.readFileSync(`${sshDir}/id_ed25519.pub`, "utf8").trim(),
      },
      exec: (cmd: string) =>
        new Promise((resolve, reject) => {
          const p = spawn("bash", ["-c", cmd], { env: { ...process.env, ...env } });
          let out = "";
          let err = "";
          p.stdout.on("data", (b) => (out += b));
          p.stderr.on("data", (b) => (err += b));
          p.on("close", (rc) => (rc === 0 ? resolve(out) : reject(new Error(`${cmd} → rc ${rc}: ${err}`))));
        }),
      stopSshd,
      startSshd,
      killSlurmd: async (node = nodeNames[0]) => {
        await killDaemonHard(`slurmd-${node}`);
        // the node "crashed": its job steps go too
        killMatching((cmdline, environ) => cmdline.startsWith("slurmstepd") && environ.includes(`SLURM_CONF=${slurmConf}`));
        killByEnviron(`SLURM_CONF=${slurmConf}`, undefined, (cmdline) => !/^(slurmctld|slurmd|slurmdbd|munged|sshd|mariadbd)/.test(cmdline) && !cmdline.includes("setpriv"));
      },
      startSlurmd: async (node = nodeNames[0]) => {
        spawnDaemon(`slurmd-${node}`, ["slurmd", "-D", "-f", slurmConf, "-N", node]);
        await sleep(200);
      },
      stop,
    };
    async function killDaemonHard(name: string) {
      for (const d of daemons.filter((x) => x.name === name)) {
        d.proc.kill("SIGKILL");
        await new Promise((r) => (d.proc.exitCode !== null || d.proc.signalCode !== null ? r(null) : d.proc.once("exit", r)));
      }
      for (let i = daemons.length - 1; i >= 0; i--) if (daemons[i].name === name) daemons.splice(i, 1);
    }
    return cluster;
  } catch (e) {
    const logs = ["slurmctld.log", "slurmctld.out", "slurmdbd.log", "slurmdbd.out", "mariadb.out"]
      .map((f) => path.join(base, "log", f))
      .filter((f) => fs.existsSync(f))
      .map((f) => `--- ${path.basename(f)}\n` + fs.readFileSync(f, "utf8").split("\n").slice(-15).join("\n"))
      .join("\n");
    await stop();
    throw new Error(`${(e as Error).message}\n${logs}`);
  }
}

function listProcs(): Array<{ pid: number; cmdline: string; environ: string }> {
  const out: Array<{ pid: number; cmdline: string; environ: string }> = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    if (pid === process.pid) continue;
    try {
      const environ = fs.readFileSync(`/proc/${d}/environ`, "latin1");
      const cmdline = fs.readFileSync(`/proc/${d}/cmdline`, "latin1").replace(/\0/g, " ").trim();
      out.push({ pid, cmdline: path.basename(cmdline.split(" ")[0] ?? "") + cmdline.slice((cmdline.split(" ")[0] ?? "").length), environ });
    } catch {
      /* gone */
    }
  }
  return out;
}

function killMatching(pred: (cmdline: string, environ: string) => boolean): void {
  for (const p of listProcs()) {
    if (pred(p.cmdline, p.environ)) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  }
}

/** Kill every process whose environment holds `needle` (detached job children survive otherwise). */
function killByEnviron(needle: string, cmdRe?: RegExp, pred?: (cmdline: string) => boolean): void {
  killMatching(
    (cmdline, environ) =>
      environ.split("\0").includes(needle) && (!cmdRe || cmdRe.test(cmdline)) && (!pred || pred(cmdline)),
  );
}

/** pids of every descendant of `root` (from /proc/PID/stat ppid fields). */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parent.set(Number(d), ppid);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const want = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, pp] of parent) {
      if (want.has(pp) && !want.has(pid)) {
        want.add(pid);
        out.push(pid);
        grew = true;
      }
    }
  }
  return out;
}
