/**
 * Starts Debian's classic Jupyter Notebook server on `notebooks/` with the
 * tunelab kernel as the default kernel, bound to 127.0.0.1 with a random
 * token, and prints the URL to open.
 *
 * Script: node dist/kernel-setup/workshop.js [--port N] [--notebook-dir DIR] [--open]
 * (stays in the foreground; Ctrl-C stops the server and its kernels).
 */
import { ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { KERNEL_NAME, repoRoot } from "./spec";

export interface WorkshopOptions {
  /** Preferred port; the server moves to the next free one if taken. Default 8888. */
  port?: number;
  notebookDir: string;
  /** Open a browser (default false: the URL is printed). */
  open?: boolean;
  /** Python with the `notebook` package (default /usr/bin/python3). */
  python?: string;
  /** Extra Jupyter data dirs searched for kernel specs (prepended to JUPYTER_PATH). */
  jupyterPath?: string[];
  /** Extra environment for the server and its kernels (e.g. JUPYTER_RUNTIME_DIR in tests). */
  env?: Record<string, string>;
  /** Where the server's log goes (default: this process's stderr). */
  log?: (line: string) => void;
  /** Extra command-line options for the notebook server (e.g. --debug). */
  extraArgs?: string[];
  /** Give up waiting for the server after this many ms (default 60 s). */
  startTimeoutMs?: number;
}

export interface Workshop {
  /** URL with the token, ready to paste into a browser. */
  url: string;
  /** Base URL without the token, e.g. http://127.0.0.1:8888/ */
  baseUrl: string;
  token: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

function notebookArgs(o: WorkshopOptions, token: string): string[] {
  const args = [
    "-m",
    "notebook",
    "--ip=127.0.0.1",
    `--port=${o.port ?? 8888}`,
    `--notebook-dir=${path.resolve(o.notebookDir)}`,
    `--NotebookApp.token=${token}`,
    `--MappingKernelManager.default_kernel_name=${KERNEL_NAME}`,
    "--KernelSpecManager.ensure_native_kernel=False",
  ];
  if (!o.open) args.push("--no-browser");
  args.push(...(o.extraArgs ?? []));
  if (typeof process.getuid === "function" && process.getuid() === 0) args.push("--allow-root");
  return args;
}

async function waitReady(baseUrl: string, token: string, deadline: number, child: ChildProcess): Promise<void> {
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the notebook server exited with code ${child.exitCode}`);
    try {
      const r = await fetch(`${baseUrl}api/kernelspecs`, { headers: { Authorization: `token ${token}` } });
      if (r.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("the notebook server did not answer in time");
}

/** Starts the server; resolves once its REST API answers. */
export async function startWorkshop(o: WorkshopOptions): Promise<Workshop> {
  if (!fs.existsSync(o.notebookDir)) throw new Error(`notebookDir: ${o.notebookDir} does not exist`);
  const token = randomBytes(24).toString("hex");
  const log = o.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const jp = [...(o.jupyterPath ?? []), ...(process.env.JUPYTER_PATH ? [process.env.JUPYTER_PATH] : [])];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TUNELAB_BACKEND: "local",
    ...(jp.length ? { JUPYTER_PATH: jp.join(path.delimiter) } : {}),
    ...(o.env ?? {}),
  };
  const child = spawn(o.python ?? "/usr/bin/python3", notebookArgs(o, token), {
    cwd: repoRoot(),
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let port: number | null = null;
  let exited = false;
  child.on("exit", () => (exited = true));
  const portSeen = new Promise<number>((resolve, reject) => {
    let buf = "";
    const onData = (chunk: Buffer) => {
      buf += chunk.toString("utf8");
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        // Never log the token: the printed URL is ours, below.
        log(line.replace(token, "<token>"));
        const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(line);
        if (m && port === null) {
          port = Number(m[1]);
          resolve(port);
        }
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`the notebook server exited with code ${code} before listening`)));
  });

  const stop = async (): Promise<void> => {
    if (exited) return;
    const done = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await done;
    clearTimeout(timer);
  };

  try {
    const deadline = Date.now() + (o.startTimeoutMs ?? 60_000);
    const p = await Promise.race([
      portSeen,
      new Promise<number>((_, rej) => setTimeout(() => rej(new Error("no URL from the notebook server")), o.startTimeoutMs ?? 60_000).unref()),
    ]);
    const baseUrl = `http://127.0.0.1:${p}/`;
    await waitReady(baseUrl, token, deadline, child);
    return { url: `${baseUrl}?token=${token}`, baseUrl, token, process: child, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

function parseCli(argv: string[]): WorkshopOptions {
  const o: WorkshopOptions = { notebookDir: path.join(repoRoot(), "notebooks") };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--port") o.port = Number(argv[++i]);
    else if (a === "--notebook-dir") o.notebookDir = argv[++i];
    else if (a === "--open") o.open = true;
    else throw new Error(`unknown option ${a} (usage: workshop.js [--port N] [--notebook-dir DIR] [--open])`);
  }
  if (o.port !== undefined && !(Number.isInteger(o.port) && o.port > 0 && o.port < 65536)) throw new Error("--port: expected an integer 1-65535");
  return o;
}

/** Foreground mode for `npm run workshop`: prints the URL, stops on Ctrl-C. */
export async function runWorkshopCli(argv: string[]): Promise<void> {
  const ws = await startWorkshop(parseCli(argv));
  process.stdout.write(`\nJupyter is running with the tunelab kernel. Open:\n\n    ${ws.url}\n\nPress Ctrl-C to stop.\n`);
  const quit = () => void ws.stop().then(() => process.exit(0));
  process.on("SIGINT", quit);
  process.on("SIGTERM", quit);
  ws.process.on("exit", (code) => process.exit(code ?? 0));
}

if (require.main === module) {
  runWorkshopCli(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`workshop: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
