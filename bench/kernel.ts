/**
 * Kernel benchmark: start-up, trivial-cell latency, comm echo round trips
 * (messages/s), and a 1 MB binary buffer round trip, measured with a small
 * ZeroMQ client talking to the real kernel process (no Jupyter in between).
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as zmq from "zeromq";
import { repoRoot } from "../kernel-setup/spec";
import { Message, Signer, decode, encode, newHeader } from "../kernel-setup/kernel/wire";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

class Client {
  shell = new zmq.Dealer();
  iopub = new zmq.Subscriber();
  signer: Signer;
  session = "bench";
  private waiters: Array<{ pred: (m: Message) => boolean; resolve: (m: Message) => void }> = [];
  private replies = new Map<string, (m: Message) => void>();

  constructor(key: string) {
    this.signer = new Signer(key);
  }

  async connect(conn: any): Promise<void> {
    this.shell.connect(`tcp://127.0.0.1:${conn.shell_port}`);
    this.iopub.connect(`tcp://127.0.0.1:${conn.iopub_port}`);
    this.iopub.subscribe();
    void (async () => {
      for await (const frames of this.iopub) {
        const m = decode(frames, this.signer);
        const i = this.waiters.findIndex((w) => w.pred(m));
        if (i >= 0) this.waiters.splice(i, 1)[0].resolve(m);
      }
    })().catch(() => undefined);
    void (async () => {
      for await (const frames of this.shell) {
        const m = decode(frames, this.signer);
        const id = (m.parent_header as any).msg_id;
        this.replies.get(id)?.(m);
        this.replies.delete(id);
      }
    })().catch(() => undefined);
  }

  iopubWait(pred: (m: Message) => boolean): Promise<Message> {
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  async request(type: string, content: unknown, buffers: Buffer[] = []): Promise<Message> {
    const header = newHeader(type, this.session);
    const reply = new Promise<Message>((r) => this.replies.set(header.msg_id, r));
    await this.shell.send(encode({ idents: [], header, parent_header: {}, metadata: {}, content, buffers }, this.signer));
    return reply;
  }

  async sendOnly(type: string, content: unknown, buffers: Buffer[] = []): Promise<void> {
    await this.shell.send(encode({ idents: [], header: newHeader(type, this.session), parent_header: {}, metadata: {}, content, buffers }, this.signer));
  }

  close(): void {
    this.shell.close();
    this.iopub.close();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function run(): Promise<string> {
  const root = repoRoot();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-bench-kernel-"));
  const conn = {
    transport: "tcp",
    ip: "127.0.0.1",
    key: "bench-key",
    signature_scheme: "hmac-sha256",
    shell_port: await freePort(),
    iopub_port: await freePort(),
    stdin_port: await freePort(),
    control_port: await freePort(),
    hb_port: await freePort(),
  };
  const connFile = path.join(dir, "conn.json");
  fs.writeFileSync(connFile, JSON.stringify(conn));
  const t0 = performance.now();
  const kernel: ChildProcess = spawn(process.execPath, [path.join(root, "dist/kernel-setup/kernel/main.js"), connFile], {
    cwd: path.join(root, "notebooks"),
    stdio: ["ignore", "ignore", "inherit"],
  });
  const client = new Client(conn.key);
  try {
    await client.connect(conn);
    // kernel_info answers once the compiler is warm.
    let info: Message | null = null;
    while (!info) {
      info = await Promise.race([client.request("kernel_info_request", {}), new Promise<null>((r) => setTimeout(() => r(null), 1000))]);
    }
    const startup = performance.now() - t0;

    const exec = async (code: string) => {
      const r = await client.request("execute_request", { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
      if (r.content.status !== "ok") throw new Error(`bench cell failed: ${JSON.stringify(r.content)}`);
      return r;
    };
    const t1 = performance.now();
    await exec("1");
    const firstCell = performance.now() - t1;
    const lat: number[] = [];
    for (let i = 0; i < 30; i++) {
      const s = performance.now();
      await exec(`${i} + 1`);
      lat.push(performance.now() - s);
    }

    await exec(`(globalThis as any)[Symbol.for("tunelab.kernel.bridge")].comms.registerTarget("bench.echo", (comm: any) =>
  comm.onMsg((m: any) => comm.send(m.data, {}, m.buffers)));`);
    const commId = "benchcomm";
    await client.sendOnly("comm_open", { comm_id: commId, target_name: "bench.echo", data: {} });
    const echo = (n: number) => client.iopubWait((m) => m.header.msg_type === "comm_msg" && m.content.data?.n === n);

    // Sequential round trips: send, wait for the echo, repeat.
    const N = 300;
    const s1 = performance.now();
    for (let i = 0; i < N; i++) {
      const w = echo(i);
      await client.sendOnly("comm_msg", { comm_id: commId, data: { n: i } });
      await w;
    }
    const seqRate = N / ((performance.now() - s1) / 1000);

    // Pipelined: N messages in flight, then all echoes.
    const M = 1000;
    const s2 = performance.now();
    const all = Array.from({ length: M }, (_, i) => echo(100000 + i));
    for (let i = 0; i < M; i++) await client.sendOnly("comm_msg", { comm_id: commId, data: { n: 100000 + i } });
    await Promise.all(all);
    const pipeRate = M / ((performance.now() - s2) / 1000);

    // 1 MB binary buffer there and back.
    const mb = Buffer.alloc(1 << 20, 7);
    const rt: number[] = [];
    for (let i = 0; i < 10; i++) {
      const w = echo(-1 - i);
      const s = performance.now();
      await client.sendOnly("comm_msg", { comm_id: commId, data: { n: -1 - i } }, [mb]);
      const m = await w;
      rt.push(performance.now() - s);
      if (m.buffers[0]?.length !== mb.length) throw new Error("1 MB buffer came back truncated");
    }
    const rtMed = median(rt);

    return [
      "## Kernel (tunelab kernel over ZeroMQ, no Jupyter server)",
      "",
      `Machine load while measuring: ${os.loadavg()[0].toFixed(1)} (1-min load average, ${os.cpus().length} cores).`,
      "",
      "| measure | value |",
      "|---|---|",
      `| start-up to first kernel_info_reply (compiler warm-up included) | ${(startup / 1000).toFixed(2)} s |`,
      `| first cell \`1\` (execute_request → execute_reply) | ${firstCell.toFixed(0)} ms |`,
      `| trivial cell latency, median of 30 | ${median(lat).toFixed(1)} ms |`,
      `| comm echo round trips, sequential (${N}) | ${seqRate.toFixed(0)} msg/s |`,
      `| comm echo, pipelined (${M} in flight) | ${pipeRate.toFixed(0)} msg/s |`,
      `| 1 MB binary buffer round trip, median of 10 | ${rtMed.toFixed(1)} ms (${((2 * mb.length) / (rtMed / 1000) / 1e6).toFixed(0)} MB/s both ways) |`,
      "",
    ].join("\n");
  } finally {
    client.close();
    kernel.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  run().then((s) => console.log(s), (e) => {
    console.error(e);
    process.exit(1);
  });
}
