/**
 * The tunelab Jupyter kernel: `node dist/kernel-setup/kernel/main.js <connection_file>`.
 *
 * tslab 1.0.22 compiles and runs cells (createConverter / createExecutor:
 * cells run with vm.runInThisContext, so they share globalThis with us);
 * this file wires its executor to our own wire-protocol implementation,
 * which adds comms, binary buffers, correct signing and interrupts.
 */
import * as path from "node:path";
import * as fs from "node:fs";
import { randomUUID } from "node:crypto";
import { Worker } from "node:worker_threads";
import * as zmq from "zeromq";
import { createConverter, isCompleteCode, Converter, Diagnostic } from "tslab/dist/converter";
import { createExecutor, ConverterSet } from "tslab/dist/executor";
import { printQuickInfo } from "tslab/dist/inspect";
import { KERNEL_BRIDGE_SYMBOL } from "../../widgets/kernel-bridge";
import { ensureControlTarget } from "../../widgets/widget";
import type { FromWorker, ToWorker } from "./control-worker";
import { Channel, Kernel, KernelTransport } from "./handlers";
import { installPackageFallback } from "./resolve";
import { SendQueue, address, logError, readConnection } from "./sockets";
import { Message, Signer, WireError, decode, encode } from "./wire";

function packageVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../../package.json"), "utf8")).version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

/** Converters are created lazily (the browser one is rarely used); `node` records diagnostics. */
function converterSet(onDiagnostics: (d: Diagnostic[]) => void): ConverterSet {
  let node: Converter | undefined;
  let browser: Converter | undefined;
  const wrap = (c: Converter): Converter => ({
    ...c,
    convert(prevDecl: string, src: string) {
      const r = c.convert(prevDecl, src);
      onDiagnostics(r.diagnostics);
      return r;
    },
  });
  return {
    get node() {
      return (node ??= wrap(createConverter({ isJS: false, isBrowser: false })));
    },
    get browser() {
      return (browser ??= createConverter({ isJS: false, isBrowser: true }));
    },
    close() {
      node?.close();
      browser?.close();
    },
  };
}

async function main(): Promise<void> {
  const connFile = process.argv[2];
  if (!connFile) {
    process.stderr.write("usage: node main.js <connection_file>\n");
    process.exit(2);
  }
  const conn = readConnection(connFile);
  const signer = new Signer(conn.key, conn.signature_scheme);
  const session = randomUUID();

  const shell = new zmq.Router();
  const iopub = new zmq.Publisher();
  const stdin = new zmq.Router();
  await Promise.all([
    shell.bind(address(conn, conn.shell_port)),
    iopub.bind(address(conn, conn.iopub_port)),
    stdin.bind(address(conn, conn.stdin_port)),
  ]);
  const shellOut = new SendQueue(shell, (e) => logError("shell send failed:", e));
  const iopubOut = new SendQueue(iopub, (e) => logError("iopub send failed:", e));
  const stdinOut = new SendQueue(stdin, (e) => logError("stdin send failed:", e));

  const worker = new Worker(path.join(__dirname, "control-worker.js"), {
    workerData: { conn, session },
    stdout: false,
    stderr: false,
  });
  const toWorker = (m: ToWorker) => worker.postMessage(m);

  let exiting = false;
  const transport: KernelTransport = {
    send(channel: Channel, msg: Message) {
      const frames = encode(msg, signer);
      if (channel === "shell") void shellOut.send(frames);
      else if (channel === "stdin") void stdinOut.send(frames);
      else toWorker({ type: "send", frames });
    },
    publish(msg: Message) {
      void iopubOut.send(encode(msg, signer));
    },
    exit(code: number) {
      if (exiting) return;
      exiting = true;
      void (async () => {
        kernel.io.uninstall();
        try {
          executor.close();
        } catch (e) {
          logError("executor close:", e);
        }
        await Promise.race([Promise.all([shellOut.drain(), iopubOut.drain()]), new Promise((r) => setTimeout(r, 1000))]);
        // Closing in the worker first: terminating it with open sockets aborts the process.
        const workerDone = new Promise((r) => worker.once("exit", r));
        toWorker({ type: "close" });
        await Promise.race([workerDone, new Promise((r) => setTimeout(r, 1000))]);
        shell.close();
        iopub.close();
        stdin.close();
        process.exit(code);
      })();
    },
  };

  // `import ... from "tunelab"` from whatever folder the notebook is in (before any converter exists).
  installPackageFallback(process.cwd(), path.resolve(__dirname, "../../.."), require("@tslab/typescript-for-tslab").sys);

  let lastDiagnostics: Diagnostic[] = [];
  const convs = converterSet((d) => (lastDiagnostics = d));
  // tslab writes the last expression and errors through this console; Kernel captures them.
  let kernel!: Kernel;
  const executor = createExecutor(process.cwd(), convs, {
    log: (...a: unknown[]) => kernel.console.log(...a),
    error: (...a: unknown[]) => kernel.console.error(...a),
  });
  kernel = new Kernel({
    session,
    executor,
    transport,
    lastDiagnostics: () => lastDiagnostics,
    isCompleteCode,
    printQuickInfo,
    version: packageVersion(),
    tsVersion: require("@tslab/typescript-for-tslab").version,
  });

  // The seam library code uses (widgets/kernel-bridge.ts), before any cell runs.
  (globalThis as any)[KERNEL_BRIDGE_SYMBOL] = kernel.bridge();
  // ipywidgets 8 managers open the control comm when they connect, before any cell runs:
  // answer it from the start (page reloads restore widgets; widgetFrontend() knows one is there)
  ensureControlTarget((globalThis as any)[KERNEL_BRIDGE_SYMBOL]);
  // Keep tslab's own display API (require("tslab").display) working.
  require("tslab/dist/jupyter").lastWriteDisplayData = (data: any, update: boolean) => kernel.tslabDisplay(data, update);

  kernel.io.install();
  process.on("SIGINT", () => {
    executor.interrupt();
    kernel.runInterruptHooks();
  });
  process.on("SIGTERM", () => void kernel.terminate());
  process.on("unhandledRejection", (reason) => kernel.reportAsync("Unhandled promise rejection", reason));
  process.on("uncaughtException", (err) => kernel.reportAsync("Uncaught exception", err));

  worker.on("message", (m: FromWorker) => {
    if (m.type === "request") kernel.handle(revive(m.msg), "control");
    else if (m.type === "interrupted") kernel.interrupted(revive(m.msg));
    else if (m.type === "error") logError("control worker:", m.message);
  });
  worker.on("error", (e) => logError("control worker crashed:", e));

  // Exit with the process that started us (ipykernel's parent poller), so no kernel is orphaned.
  const parentPid = process.ppid;
  setInterval(() => {
    if (process.ppid !== parentPid && !exiting) {
      logError("parent process went away; exiting");
      transport.exit(0);
    }
  }, 1000).unref();

  convs.node; // warm the compiler before the first cell
  kernel.starting();

  void (async () => {
    for await (const frames of stdin) {
      try {
        kernel.handleStdin(decode(frames, signer));
      } catch (e) {
        logError(`stdin: dropped message: ${e instanceof WireError ? e.message : String(e)}`);
      }
    }
  })().catch(() => undefined);

  for await (const frames of shell) {
    let msg: Message;
    try {
      msg = decode(frames, signer);
    } catch (e) {
      logError(`shell: dropped message: ${e instanceof WireError ? e.message : String(e)}`);
      continue;
    }
    kernel.handle(msg, "shell");
  }
}

/** Buffers arrive from the worker as plain Uint8Arrays. */
function revive(msg: Message): Message {
  const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  return { ...msg, idents: msg.idents.map(buf), buffers: msg.buffers.map(buf) };
}

main().catch((e) => {
  logError("kernel failed to start:", e);
  process.exit(1);
});
