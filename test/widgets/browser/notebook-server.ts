/**
 * Debian's classic notebook server (Notebook 6), started by a test on a free
 * loopback port with a random token and a sandboxed JUPYTER_PATH holding the
 * tunelab kernel spec. stop() shuts kernels down through the REST API, kills
 * the server's process group, then any process still carrying this sandbox's
 * runtime dir in its environment (kernels run in their own sessions).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

export interface NotebookServer {
  url: string;
  token: string;
  dir: string;
  log(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

function killByEnv(marker: string): void {
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    try {
      const env = fs.readFileSync(`/proc/${pid}/environ`, "utf8");
      if (env.split("\0").includes(marker)) process.kill(Number(pid), "SIGKILL");
    } catch {
      /* gone or not ours */
    }
  }
}

export async function startNotebookServer(env: Record<string, string>, notebookDir: string, extraArgs: string[] = []): Promise<NotebookServer> {
  const port = await freePort();
  const token = randomBytes(16).toString("hex");
  let out = "";
  const child: ChildProcess = spawn(
    "/usr/bin/python3",
    ["-m", "notebook", "--no-browser", "--ip=127.0.0.1", `--port=${port}`, `--NotebookApp.token=${token}`, `--notebook-dir=${notebookDir}`, "--NotebookApp.port_retries=0", ...(process.getuid?.() === 0 ? ["--allow-root"] : []), ...extraArgs],
    { env: { ...process.env, ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const marker = `JUPYTER_RUNTIME_DIR=${env.JUPYTER_RUNTIME_DIR}`;
  const stop = async () => {
    try {
      const r = await fetch(`${url}/api/kernels`, { headers: { authorization: `token ${token}` } });
      for (const k of (await r.json()) as Array<{ id: string }>) {
        await fetch(`${url}/api/kernels/${k.id}`, { method: "DELETE", headers: { authorization: `token ${token}` } });
      }
    } catch {
      /* server already gone */
    }
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      /* gone */
    }
    await new Promise((r) => setTimeout(r, 500));
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      /* gone */
    }
    if (env.JUPYTER_RUNTIME_DIR) killByEnv(marker);
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/api/status`, { headers: { authorization: `token ${token}` } });
      if (r.ok) break;
    } catch {
      /* not yet */
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`notebook server did not start:\n${out.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, token, dir: notebookDir, log: () => out, stop };
}

export function copyInto(dir: string, files: Record<string, string>): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, src] of Object.entries(files)) fs.copyFileSync(src, path.join(dir, name));
}
