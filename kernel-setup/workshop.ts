/**
 * Starts a Jupyter server on `notebooks/` with the tunelab kernel as the
 * default kernel, bound to 127.0.0.1 with a random token, and prints the URL
 * to open. The front-end, in order of preference (`--frontend auto`):
 *   - `jupyter lab` 4.x, when the Python `jupyterlab` 4 package is installed;
 *   - Notebook 7 (`notebook` >= 7, itself built on JupyterLab 4);
 *   - otherwise (Debian: classic Notebook 6.4, no PyPI) tunelab's own
 *     notebook page (kernel-setup/lab/): JupyterLab 4's npm packages and the
 *     real ipywidgets manager, served by the Notebook 6 server itself at
 *     /static/tunelab/ and made its default URL. Notebook 6's own UI stays at
 *     /tree, where widgets show as their fallback pictures.
 *
 * Script: node dist/kernel-setup/workshop.js [--port N] [--notebook-dir DIR] [--frontend auto|lab|notebook7|page] [--open]
 * (stays in the foreground; Ctrl-C stops the server and its kernels).
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
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
  /** Which front-end (default "auto": JupyterLab 4, else Notebook 7, else tunelab's page on Notebook 6). */
  frontend?: FrontendChoice;
}

export type FrontendChoice = "auto" | "lab" | "notebook7" | "page";
export const FRONTEND_CHOICES: readonly FrontendChoice[] = ["auto", "lab", "notebook7", "page"];

/** What serves the notebooks, as started. */
export interface FrontendInfo {
  /** lab: `jupyter lab`; notebook7: Notebook 7; page: tunelab's JupyterLab 4 page on the classic server */
  kind: "lab" | "notebook7" | "page";
  /** e.g. "JupyterLab 4.2.5", "Notebook 7.2.1", "JupyterLab 4.6.6 packages (tunelab page) on Notebook 6.4.12" */
  description: string;
  /** Python packages the front-end needs for tunelab's widgets that are missing (pip names). */
  missingForWidgets: string[];
}

/** Versions of the Python front-end packages (null: not installed), read without importing them. */
export interface PythonFrontends {
  jupyterlab: string | null;
  notebook: string | null;
  jupyterlab_widgets: string | null;
  anywidget: string | null;
}

/** Directory the notebook page's build lands in (served at <base_url>static/tunelab/). */
export function labPageDir(root = repoRoot()): string {
  return path.join(root, "kernel-setup", "lab", "dist");
}

/** Reads the installed versions through importlib.metadata (fast: nothing is imported). */
export function pythonFrontends(python = "/usr/bin/python3"): PythonFrontends {
  const code = [
    "import json, importlib.metadata as m",
    "def v(n):",
    "    try: return m.version(n)",
    "    except Exception: return None",
    'print(json.dumps({n: v(n) for n in ["jupyterlab", "notebook", "jupyterlab_widgets", "anywidget"]}))',
  ].join("\n");
  const r = spawnSync(python, ["-c", code], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`python: ${python} could not report its Jupyter packages: ${(r.stderr || String(r.error)).trim().slice(0, 300)}`);
  return JSON.parse(r.stdout) as PythonFrontends;
}

const major = (v: string | null): number => (v ? Number(v.split(".")[0]) : 0);

/** Picks the front-end for `choice` given what Python has; throws naming what is missing. */
export function chooseFrontend(choice: FrontendChoice, py: PythonFrontends): FrontendInfo {
  if (!FRONTEND_CHOICES.includes(choice)) throw new Error(`frontend: got "${choice}"; expected one of ${FRONTEND_CHOICES.join(", ")}`);
  const widgetsMissing = (["jupyterlab_widgets", "anywidget"] as const).filter((n) => !py[n]);
  const lab = major(py.jupyterlab) === 4;
  const nb7 = major(py.notebook) >= 7;
  if (choice === "lab" || (choice === "auto" && lab)) {
    if (!lab) throw new Error(`frontend: "lab" needs JupyterLab 4 (found ${py.jupyterlab ?? "none"}); pip install "jupyterlab>=4,<5" jupyterlab_widgets anywidget`);
    return { kind: "lab", description: `JupyterLab ${py.jupyterlab}`, missingForWidgets: widgetsMissing };
  }
  if (choice === "notebook7" || (choice === "auto" && nb7)) {
    if (!nb7) throw new Error(`frontend: "notebook7" needs Notebook 7 (found ${py.notebook ?? "none"}); pip install "notebook>=7" jupyterlab_widgets anywidget`);
    return { kind: "notebook7", description: `Notebook ${py.notebook}`, missingForWidgets: widgetsMissing };
  }
  if (!py.notebook) throw new Error("frontend: no Jupyter server found (the Python `notebook` package); on Debian: apt-get install jupyter-notebook");
  if (nb7) throw new Error(`frontend: "page" runs on the classic Notebook 6 server; this Python has Notebook ${py.notebook} (use --frontend notebook7)`);
  return { kind: "page", description: `JupyterLab 4 packages (tunelab page) on the classic Notebook ${py.notebook} server`, missingForWidgets: [] };
}

export interface Workshop {
  /** URL with the token, ready to paste into a browser. */
  url: string;
  /** Base URL without the token, e.g. http://127.0.0.1:8888/ */
  baseUrl: string;
  token: string;
  process: ChildProcess;
  /** The front-end that `url` opens. */
  frontend: FrontendInfo;
  /** Notebook 6's own UI (widgets as fallback pictures), when the server is the classic one. */
  classicUrl?: string;
  stop(): Promise<void>;
}

function serverArgs(o: WorkshopOptions, token: string, fe: FrontendInfo): string[] {
  const root = path.resolve(o.notebookDir);
  const port = o.port ?? 8888;
  let args: string[];
  if (fe.kind === "page") {
    args = [
      "-m", "notebook", "--ip=127.0.0.1", `--port=${port}`, `--notebook-dir=${root}`, `--NotebookApp.token=${token}`,
      `--MappingKernelManager.default_kernel_name=${KERNEL_NAME}`, "--KernelSpecManager.ensure_native_kernel=False",
      // the page is a static file of this server (same origin: no CORS, the token stays in the URL)
      `--NotebookApp.extra_static_paths=${labPageDir()}`,
      // "/?token=..." redirects here with its query (Notebook 6's RedirectWithParams)
      "--NotebookApp.default_url=/static/tunelab/index.html",
    ];
  } else {
    args = [
      "-m", fe.kind === "lab" ? "jupyterlab" : "notebook", "--ServerApp.ip=127.0.0.1", `--ServerApp.port=${port}`, `--ServerApp.root_dir=${root}`,
      `--IdentityProvider.token=${token}`, `--MappingKernelManager.default_kernel_name=${KERNEL_NAME}`, "--KernelSpecManager.ensure_native_kernel=False",
    ];
  }
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
  const python = o.python ?? "/usr/bin/python3";
  const frontend = chooseFrontend(o.frontend ?? "auto", pythonFrontends(python));
  if (frontend.kind === "page" && !fs.existsSync(path.join(labPageDir(), "tunelab", "page.js"))) {
    throw new Error(`the notebook page is not built (${path.join(labPageDir(), "tunelab")} is missing): run node kernel-setup/bootstrap.js`);
  }
  const token = randomBytes(24).toString("hex");
  const log = o.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const jp = [...(o.jupyterPath ?? []), ...(process.env.JUPYTER_PATH ? [process.env.JUPYTER_PATH] : [])];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TUNELAB_BACKEND: "local",
    ...(jp.length ? { JUPYTER_PATH: jp.join(path.delimiter) } : {}),
    ...(o.env ?? {}),
  };
  const child = spawn(python, serverArgs(o, token, frontend), {
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
    const page = frontend.kind === "lab" ? "lab" : frontend.kind === "notebook7" ? "tree" : "";
    return {
      url: `${baseUrl}${page}?token=${token}`,
      baseUrl,
      token,
      process: child,
      frontend,
      ...(frontend.kind === "page" ? { classicUrl: `${baseUrl}tree?token=${token}` } : {}),
      stop,
    };
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
    else if (a === "--frontend") o.frontend = argv[++i] as FrontendChoice;
    else throw new Error(`unknown option ${a} (usage: workshop.js [--port N] [--notebook-dir DIR] [--frontend auto|lab|notebook7|page] [--open])`);
  }
  if (o.frontend !== undefined && !FRONTEND_CHOICES.includes(o.frontend)) throw new Error(`--frontend: got "${o.frontend}"; expected one of ${FRONTEND_CHOICES.join(", ")}`);
  if (o.port !== undefined && !(Number.isInteger(o.port) && o.port > 0 && o.port < 65536)) throw new Error("--port: expected an integer 1-65535");
  return o;
}

/** Foreground mode for `npm run workshop`: prints the URL, stops on Ctrl-C. */
export async function runWorkshopCli(argv: string[]): Promise<void> {
  const ws = await startWorkshop(parseCli(argv));
  const notes: string[] = [];
  if (ws.frontend.missingForWidgets.length) {
    notes.push(`Widgets need ${ws.frontend.missingForWidgets.join(" and ")} in this Python (pip install ${ws.frontend.missingForWidgets.join(" ")}); until then they show as pictures.`);
  }
  if (ws.classicUrl) notes.push(`The classic Notebook 6 UI (widgets shown as pictures) is at ${ws.classicUrl}`);
  process.stdout.write(
    `\nJupyter is running with the tunelab kernel (${ws.frontend.description}). Open:\n\n    ${ws.url}\n\n` +
      (notes.length ? notes.join("\n") + "\n\n" : "") +
      "Press Ctrl-C to stop.\n",
  );
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
