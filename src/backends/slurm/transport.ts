/**
 * How commands reach the cluster: `LocalTransport` (bash on this host: Jupyter
 * runs on the login node) or `SshTransport` (ssh2, reconnecting). Both run one
 * generated bash script per call, sent over stdin, so that a poll, a
 * submission or an upload is always ONE remote command (~150 ms over SSH).
 * Scripts the backend sends are idempotent, so a command cut by a lost
 * connection is simply run again after reconnecting: nothing lost, nothing
 * done twice.
 */
import { spawn } from "node:child_process";
import type { Client, ClientChannel } from "ssh2";
import { AuthError, connectSsh, HostKeyError, type SshOptions } from "./ssh";

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: Buffer;
  stderr: string;
}

export interface TransportStats {
  commands: number;
  bytesSent: number;
  bytesReceived: number;
  reconnects: number;
}

export interface Transport {
  readonly kind: "local" | "ssh";
  readonly stats: TransportStats;
  connect(): Promise<void>;
  /** Run a bash script (sent on stdin). Retried across reconnects. */
  run(script: string, opts?: { timeoutMs?: number }): Promise<ExecResult>;
  close(): Promise<void>;
}

function newStats(): TransportStats {
  return { commands: 0, bytesSent: 0, bytesReceived: 0, reconnects: 0 };
}

/** bash on this machine; `env` is added to this process's environment (tests pass SLURM_CONF). */
export class LocalTransport implements Transport {
  readonly kind = "local" as const;
  readonly stats = newStats();
  constructor(private readonly env: Record<string, string> = {}) {}
  async connect(): Promise<void> {}
  run(script: string, opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    this.stats.commands++;
    this.stats.bytesSent += Buffer.byteLength(script);
    return new Promise((resolve, reject) => {
      const p = spawn("/bin/bash", ["-s"], { env: { ...process.env, ...this.env }, stdio: ["pipe", "pipe", "pipe"] });
      const out: Buffer[] = [];
      let err = "";
      let timer: NodeJS.Timeout | undefined;
      if (opts.timeoutMs) timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs);
      p.stdout.on("data", (b: Buffer) => out.push(b));
      p.stderr.on("data", (b: Buffer) => (err += b.toString()));
      p.on("error", reject);
      p.stdin.on("error", () => undefined);
      p.on("close", (code, signal) => {
        if (timer) clearTimeout(timer);
        const stdout = Buffer.concat(out);
        this.stats.bytesReceived += stdout.length + Buffer.byteLength(err);
        resolve({ code, signal, stdout, stderr: err });
      });
      p.stdin.end(script);
    });
  }
  async close(): Promise<void> {}
}

export interface ReconnectOptions {
  /** first backoff delay; doubles up to maxMs */
  initialMs?: number;
  maxMs?: number;
  /** give up on a command after this long without a connection */
  timeoutMs?: number;
}

/** A connection-level failure: the command may not have run; retry it. */
class Disconnected extends Error {}

export class SshTransport implements Transport {
  readonly kind = "ssh" as const;
  readonly stats = newStats();
  private client: Client | null = null;
  private jump: Client | undefined;
  private connecting: Promise<Client> | null = null;
  private closed = false;
  private everConnected = false;
  /** set by tests/bench: log of connection events */
  onEvent?: (e: string) => void;

  constructor(private readonly opts: SshOptions & { reconnect?: ReconnectOptions; shell?: string }) {}

  async connect(): Promise<void> {
    await this.ensure(true);
  }

  get connected(): boolean {
    return this.client !== null;
  }

  /** A live client, reconnecting with exponential backoff while needed. */
  private ensure(firstOnly = false): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    if (this.connecting) return this.connecting;
    const r = this.opts.reconnect ?? {};
    const initial = r.initialMs ?? 200;
    const max = r.maxMs ?? 5000;
    const deadline = Date.now() + (r.timeoutMs ?? 10 * 60_000);
    this.connecting = (async () => {
      let delay = initial;
      for (let attempt = 0; ; attempt++) {
        if (this.closed) throw new Error("transport closed");
        try {
          const { client, jump } = await connectSsh(this.opts, () => this.dropped(client));
          if (this.closed) {
            client.end();
            jump?.end();
            throw new Error("transport closed");
          }
          this.client = client;
          this.jump = jump;
          if (this.everConnected) this.stats.reconnects++;
          this.everConnected = true;
          this.onEvent?.(attempt ? `connected after ${attempt} retries` : "connected");
          return client;
        } catch (e) {
          // a wrong host key or credentials will not fix themselves
          if (e instanceof HostKeyError || e instanceof AuthError) throw e;
          if ((firstOnly && !this.everConnected && attempt >= 2) || Date.now() + delay > deadline) {
            throw new Error(`cannot reach ${this.opts.host}:${this.opts.port ?? 22}: ${(e as Error).message}`);
          }
          this.onEvent?.(`connect failed (${(e as Error).message}); retry in ${delay} ms`);
          await new Promise((res) => setTimeout(res, delay));
          delay = Math.min(max, delay * 2);
        }
      }
    })().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private dropped(c: Client): void {
    if (this.client === c) {
      this.client = null;
      this.jump?.end();
      this.jump = undefined;
      this.onEvent?.("disconnected");
    }
  }

  async run(script: string, opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    for (;;) {
      const c = await this.ensure();
      try {
        return await this.execOnce(c, script, opts.timeoutMs);
      } catch (e) {
        if (!(e instanceof Disconnected) || this.closed) throw e;
        // the connection went away under this command: drop it and try again
        this.dropped(c);
        c.end();
      }
    }
  }

  private execOnce(c: Client, script: string, timeoutMs?: number): Promise<ExecResult> {
    this.stats.commands++;
    this.stats.bytesSent += Buffer.byteLength(script);
    return new Promise((resolve, reject) => {
      let ch: ClientChannel | undefined;
      const timer = timeoutMs
        ? setTimeout(() => {
            ch?.close();
            reject(new Disconnected(`remote command timed out after ${timeoutMs} ms`));
          }, timeoutMs)
        : undefined;
      try {
        // a non-pty channel: the script arrives on stdin and bash exits at its end
        c.exec(this.opts.shell ?? "bash -s", { pty: false }, (err, stream) => {
          if (err) {
            if (timer) clearTimeout(timer);
            return reject(new Disconnected(err.message));
          }
          ch = stream;
          const out: Buffer[] = [];
          let errText = "";
          let code: number | null = null;
          let signal: string | null = null;
          let gotExit = false;
          stream.on("exit", (cd: number | null, sig?: string) => {
            gotExit = true;
            code = cd;
            signal = sig ?? null;
          });
          stream.on("data", (b: Buffer) => out.push(b));
          stream.stderr.on("data", (b: Buffer) => (errText += b.toString()));
          stream.on("close", () => {
            if (timer) clearTimeout(timer);
            const stdout = Buffer.concat(out);
            this.stats.bytesReceived += stdout.length + Buffer.byteLength(errText);
            if (!gotExit) return reject(new Disconnected("connection lost during a remote command"));
            resolve({ code, signal, stdout, stderr: errText });
          });
          stream.end(script);
        });
      } catch (e) {
        if (timer) clearTimeout(timer);
        reject(new Disconnected((e as Error).message));
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.client?.end();
    this.jump?.end();
    this.client = null;
  }
}
