/**
 * SSH transport: host key pinning / known_hosts / refusal, agent auth, a
 * bastion (second real sshd as jump host), and a second factor
 * (keyboard-interactive) against ssh2's own Server: the one stand-in, since
 * the test sshd has no PAM second factor.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Server, utils } from "ssh2";
import { AuthError, fingerprint, HostKeyError } from "../../../src/backends/slurm/ssh";
import { SshTransport } from "../../../src/backends/slurm/transport";
import { transportFor } from "../../../src/backends/slurm";
import { KERNEL_BRIDGE_SYMBOL } from "../../../widgets/kernel-bridge";
import { fingerprintOfPubLine } from "../../support/cluster";
import { clusterPerFile, ended, fakeLaunch, makeBackend, pollUntil, reports, sshSpec, states } from "./harness";

const cluster = clusterPerFile({ gpus: 1 });

const waitPort = async (port: number) => {
  for (let i = 0; i < 200; i++) {
    if (spawnSync("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${port}`]).status === 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`port ${port} never opened`);
};

describe("SSH transport against a real sshd", () => {
  it("pinned fingerprint connects; unknown or wrong host key is refused showing the fingerprint", async () => {
    const c = await cluster();
    const base = { host: c.ssh.host, port: c.ssh.port, user: c.ssh.user, identityFile: c.ssh.identityFile, reconnect: { timeoutMs: 2000 } };
    const ok = new SshTransport({ ...base, hostKey: c.ssh.hostKeyFingerprint });
    const r = await ok.run('echo "conf=$SLURM_CONF"\n');
    assert.equal(r.stdout.toString().trim().split("\n").at(-1), `conf=${c.slurmConf}`);
    await ok.close();

    const unknown = new SshTransport(base);
    await assert.rejects(unknown.connect(), (e: Error) => {
      assert.ok(e instanceof HostKeyError);
      assert.ok(e.message.includes(c.ssh.hostKeyFingerprint), e.message);
      assert.match(e.message, /backend\.hostKey/);
      return true;
    });
    const wrong = new SshTransport({ ...base, hostKey: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" });
    await assert.rejects(wrong.connect(), /does NOT match/);
  });

  it("known_hosts file, plain and hashed (ssh-keygen -H), is accepted", async () => {
    const c = await cluster();
    const hashed = path.join(c.base, "ssh", "known_hosts_hashed");
    fs.copyFileSync(c.ssh.knownHostsFile, hashed);
    spawnSync("ssh-keygen", ["-H", "-f", hashed]);
    assert.match(fs.readFileSync(hashed, "utf8"), /^\|1\|/);
    for (const kh of [c.ssh.knownHostsFile, hashed]) {
      const t = new SshTransport({ host: c.ssh.host, port: c.ssh.port, user: c.ssh.user, identityFile: c.ssh.identityFile, knownHosts: kh });
      const r = await t.run("echo ok-$((40+2))\n");
      assert.match(r.stdout.toString(), /ok-42/);
      await t.close();
    }
  });

  it("authenticates through an ssh agent (SSH_AUTH_SOCK)", async () => {
    const c = await cluster();
    const sock = path.join(c.base, "ssh", "agent.sock");
    const agent = spawn("setpriv", ["--pdeathsig", "KILL", "--", "ssh-agent", "-D", "-a", sock], { stdio: "ignore" });
    try {
      for (let i = 0; i < 100 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
      const add = spawnSync("ssh-add", [c.ssh.identityFile], { env: { ...process.env, SSH_AUTH_SOCK: sock }, encoding: "utf8" });
      assert.equal(add.status, 0, add.stderr);
      const t = new SshTransport({ host: c.ssh.host, port: c.ssh.port, user: c.ssh.user, agent: sock, hostKey: c.ssh.hostKeyFingerprint });
      const r = await t.run("echo via-agent\n");
      assert.match(r.stdout.toString(), /via-agent/);
      await t.close();
      const noKey = new SshTransport({ host: c.ssh.host, port: c.ssh.port, user: c.ssh.user, agent: path.join(c.base, "nope.sock"), hostKey: c.ssh.hostKeyFingerprint, reconnect: { timeoutMs: 1000 } });
      await assert.rejects(noKey.connect());
    } finally {
      agent.kill("SIGKILL");
    }
  });

  it("bastion: ProxyJump through a second sshd; a full trial runs through it", async () => {
    const c = await cluster();
    const dir = path.join(c.base, "ssh");
    spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/jump_host_key`]);
    const jumpFp = fingerprintOfPubLine(fs.readFileSync(`${dir}/jump_host_key.pub`, "utf8"));
    const jumpPort = c.ssh.port + 1 <= 65535 ? await freePortNear() : 0;
    const conf = fs
      .readFileSync(`${dir}/sshd_config`, "utf8")
      .replace(/^Port .*/m, `Port ${jumpPort}`)
      .replace(/^HostKey .*/m, `HostKey ${dir}/jump_host_key`)
      .replace(/^PidFile .*/m, `PidFile ${dir}/jump.pid`);
    fs.writeFileSync(`${dir}/jump_config`, conf + "AllowTcpForwarding yes\n");
    const jump = spawn("setpriv", ["--pdeathsig", "KILL", "--", "/usr/sbin/sshd", "-D", "-e", "-f", `${dir}/jump_config`], { stdio: "ignore" });
    try {
      await waitPort(jumpPort);
      const spec = sshSpec(c, { jump: `${c.ssh.user}@127.0.0.1:${jumpPort}` });
      const b = makeBackend(c, spec, { jumpHostKey: jumpFp });
      try {
        await b.submit([fakeLaunch("bj", { trial: { max_t: 2 }, stepS: 0.2 })]);
        const log = await pollUntil(b, ended("bj"), "bj through the bastion", [], 60_000);
        assert.equal(states(log, "bj").at(-1), "completed");
        assert.deepEqual(reports(log, "bj").map((r) => r.t), [1, 2]);
      } finally {
        await b.close();
      }
      const bad = new SshTransport({
        host: c.ssh.host, port: c.ssh.port, user: c.ssh.user, identityFile: c.ssh.identityFile, hostKey: c.ssh.hostKeyFingerprint,
        jump: `${c.ssh.user}@127.0.0.1:${jumpPort}`, reconnect: { timeoutMs: 1000 },
      });
      await assert.rejects(bad.connect(), (e: Error) => e instanceof HostKeyError && e.message.includes(jumpFp));
    } finally {
      jump.kill("SIGKILL");
    }
  });
});

async function freePortNear(): Promise<number> {
  const net = await import("node:net");
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as import("node:net").AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

describe("second factor (keyboard-interactive) against ssh2's own Server (stand-in: no PAM 2FA in the test sshd)", () => {
  it("publickey then keyboard-interactive: the prompt callback answers; a wrong code is refused", async () => {
    const c = await cluster();
    const hostKey = utils.generateKeyPairSync("ed25519").private;
    const hostFp = fingerprint(Buffer.from((utils.parseKey(hostKey) as { getPublicSSH(): Buffer }).getPublicSSH()));
    const allowed = utils.parseKey(c.ssh.publicKey) as { getPublicSSH(): Buffer; verify(d: Buffer, s: Buffer, h?: string): boolean };
    const server = new Server({ hostKeys: [hostKey] }, (client) => {
      let keyOk = false;
      client.on("authentication", (ctx) => {
        if (ctx.method === "publickey" && ctx.key.data.equals(allowed.getPublicSSH())) {
          if (!ctx.signature) return ctx.accept();
          if (allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo)) {
            keyOk = true;
            return ctx.reject(["keyboard-interactive"], true); // partial success: now the code
          }
        }
        if (ctx.method === "keyboard-interactive" && keyOk) {
          return ctx.prompt([{ prompt: "Verification code: ", echo: false }], "tunelab 2FA", "enter the code", (answers) =>
            answers[0] === "123456" ? ctx.accept() : ctx.reject(),
          );
        }
        ctx.reject(keyOk ? ["keyboard-interactive"] : ["publickey"]);
      });
      client.on("ready", () => {
        client.on("session", (accept) => {
          const session = accept();
          session.on("exec", (acc, _rej, info) => {
            const ch = acc();
            let stdin = "";
            ch.on("data", (d: Buffer) => (stdin += d));
            ch.on("end", () => {
              ch.write(`cmd=${info.command}\nstdin=${stdin}`);
              ch.exit(0);
              ch.end();
            });
          });
        });
      });
      client.on("error", () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      const asked: string[] = [];
      const t = new SshTransport({
        host: "127.0.0.1", port, user: "student", identityFile: c.ssh.identityFile, hostKey: hostFp,
        prompt: async (prompts, info) => {
          asked.push(...prompts.map((p) => `${info.name}|${p.prompt}|${p.echo}`));
          return ["123456"];
        },
      });
      const r = await t.run("echo hello\n");
      assert.match(r.stdout.toString(), /cmd=bash -s\nstdin=echo hello\n/);
      assert.deepEqual(asked, ["tunelab 2FA|Verification code: |false"]);
      await t.close();

      const wrong = new SshTransport({
        host: "127.0.0.1", port, user: "student", identityFile: c.ssh.identityFile, hostKey: hostFp, reconnect: { timeoutMs: 1000 },
        prompt: async () => ["000000"],
      });
      await assert.rejects(wrong.connect(), (e: Error) => e instanceof AuthError);
      const noPrompt = new SshTransport({ host: "127.0.0.1", port, user: "student", identityFile: c.ssh.identityFile, hostKey: hostFp, reconnect: { timeoutMs: 1000 } });
      await assert.rejects(noPrompt.connect(), (e: Error) => e instanceof AuthError);

      // in the tunelab kernel (bridge double here; the kernel's input_request is checked with jupyter_client)
      // the default prompt asks through the notebook's input box, hidden because the server asks without echo
      const spec = { kind: "slurm", host: "127.0.0.1", port, user: "student", identityFile: c.ssh.identityFile, hostKey: hostFp } as any;
      const asks: Array<[string, boolean]> = [];
      const g = globalThis as any;
      g[KERNEL_BRIDGE_SYMBOL] = { comms: {}, display: () => undefined, onShutdown: () => undefined, info: { implementation: "bridge double (test)", version: "0" }, input: async (p: string, o?: { password?: boolean }) => (asks.push([p, o?.password === true]), "123456") };
      try {
        const kt = transportFor(spec);
        assert.match((await kt.run("echo 2fa\n")).stdout.toString(), /stdin=echo 2fa\n/);
        assert.deepEqual(asks, [["tunelab 2FA: Verification code: ", true]]);
        await kt.close();
        // a front-end that cannot answer (allow_stdin false): the error says why
        g[KERNEL_BRIDGE_SYMBOL].input = async () => {
          throw new Error("this front-end does not accept input (allow_stdin is false)");
        };
        const kt2 = transportFor(spec, { reconnect: { timeoutMs: 1000 } });
        await assert.rejects(kt2.connect(), (e: Error) => e instanceof AuthError && /second-factor prompt was not answered \(this front-end does not accept input/.test(e.message));
        await kt2.close();
      } finally {
        delete g[KERNEL_BRIDGE_SYMBOL];
      }
    } finally {
      server.close();
    }
  });
});
