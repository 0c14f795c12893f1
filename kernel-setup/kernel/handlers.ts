/**
 * The kernel's request handlers: the execute queue, completion/inspection,
 * comms, display, shutdown. Transport-free: main.ts wires it to sockets.
 *
 * Parent-header rules (platform.md §2): output produced while a cell runs is
 * parented to that cell; output after it returned (timers, child processes,
 * widget updates) to the most recent execute_request. Comm messages sent
 * synchronously while a front-end comm message is handled are parented to
 * that comm message (ipywidgets matches echo_update by it).
 */
import { inspect } from "node:util";
import type { Executor } from "tslab/dist/executor";
import type { KernelBridge, MimeBundle, DisplayOptions } from "../../widgets/kernel-bridge";
import { ownDisplayId, toMimeBundle } from "../../widgets/display";
import { Comms } from "./comms";
import { CellDiagnostic, ErrorContent, compileError, describeAsync, runtimeError } from "./errors";
import { StreamRouter } from "./io";
import { logError } from "./sockets";
import { Header, Message, PROTOCOL_VERSION, newHeader } from "./wire";

export type Channel = "shell" | "control" | "stdin";

export interface KernelTransport {
  send(channel: Channel, msg: Message): void;
  publish(msg: Message): void;
  /** Closes sockets and ends the process. */
  exit(code: number): void;
}

/** What the executor reports while one cell runs. */
interface Capture {
  hasValue: boolean;
  value: unknown;
  error: unknown;
  hasError: boolean;
}

export interface KernelDeps {
  session: string;
  executor: Executor;
  transport: KernelTransport;
  /** Diagnostics of the last conversion (set by the converter wrapper). */
  lastDiagnostics: () => CellDiagnostic[];
  isCompleteCode: (code: string) => { completed: boolean; indent?: string };
  printQuickInfo: (info: any) => string;
  version: string;
  tsVersion: string;
}

export class Kernel {
  readonly comms: Comms;
  readonly io: StreamRouter;
  private execCount = 0;
  private running: Header | null = null;
  private latestExecute: Header | null = null;
  private commParent: Header | null = null;
  private capture: Capture | null = null;
  /** the execute_request now running (its idents route input_request to the same client) */
  private runningReq: Message | null = null;
  private pendingInput: { resolve: (v: string) => void; reject: (e: Error) => void } | null = null;
  private queue: Promise<void> = Promise.resolve();
  private enqueued = 0;
  private abortUpTo = 0;
  private shutdownHooks: Array<() => void | Promise<void>> = [];
  private interruptHooks = new Set<() => void>();
  private shuttingDown = false;

  constructor(private readonly d: KernelDeps) {
    this.io = new StreamRouter((name, text) => this.publish("stream", { name, text }, this.outputParent()));
    this.comms = new Comms(
      (type, content, metadata, buffers) => this.publish(type, content, this.commParent ?? this.outputParent(), metadata, buffers),
      (e) => this.io.write("stderr", describeAsync("Error in comm handler", e)),
    );
  }

  // ---- executor console (tslab reports the last value and errors here) ----

  readonly console = {
    log: (value?: unknown, ...rest: unknown[]) => {
      if (this.capture) {
        this.capture.hasValue = true;
        this.capture.value = value;
      } else this.io.write("stdout", [value, ...rest].map((x) => inspect(x)).join(" ") + "\n");
    },
    error: (first?: unknown, ...rest: unknown[]) => {
      // "%s%d:%d - %s" is tslab's diagnostic line; the diagnostics themselves come from the converter.
      if (this.capture && first === "%s%d:%d - %s") return;
      if (this.capture && !this.capture.hasError) {
        this.capture.hasError = true;
        this.capture.error = first;
        return;
      }
      this.io.write("stderr", [first, ...rest].map((x) => (typeof x === "string" ? x : inspect(x))).join(" ") + "\n");
    },
  };

  // ---- the bridge cells reach through globalThis ----

  bridge(): KernelBridge {
    return {
      comms: this.comms,
      display: (bundle: MimeBundle, options: DisplayOptions = {}) => this.display(bundle, options),
      input: (prompt: string, options: { password?: boolean } = {}) => this.input(prompt, options.password === true),
      onShutdown: (fn) => {
        this.shutdownHooks.push(fn);
      },
      onInterrupt: (fn) => {
        this.interruptHooks.add(fn);
        return () => void this.interruptHooks.delete(fn);
      },
      info: { implementation: "tunelab", version: this.d.version },
    };
  }

  display(bundle: MimeBundle, options: DisplayOptions = {}): void {
    const content: Record<string, unknown> = { data: bundle, metadata: options.metadata ?? {}, transient: {} };
    if (options.displayId) content.transient = { display_id: options.displayId };
    this.publish(options.update ? "update_display_data" : "display_data", content, this.outputParent());
  }

  /**
   * Ask the front-end for a line of text (input_request on stdin, parented to
   * the running cell; `password` hides what is typed). Only while a cell runs
   * whose request allowed stdin; nbclient and other headless clients do not.
   */
  input(prompt: string, password: boolean): Promise<string> {
    const req = this.runningReq;
    if (!req) return Promise.reject(new Error("input() needs a running cell: the front-end answers input requests only while the cell that asked is executing"));
    if (req.content?.allow_stdin !== true) return Promise.reject(new Error("this front-end does not accept input (allow_stdin is false, e.g. nbclient or a headless run): pass the answer another way"));
    if (this.pendingInput) return Promise.reject(new Error("input() is already waiting for an answer; await it before asking again"));
    return new Promise<string>((resolve, reject) => {
      this.pendingInput = { resolve, reject };
      // same idents as the cell's request: jupyter_client's stdin socket shares the shell's identity
      this.reply("stdin", req, "input_request", { prompt, password });
    });
  }

  /** A message on the stdin socket: the answer to the pending input_request. */
  handleStdin(msg: Message): void {
    if (msg.header.msg_type !== "input_reply") return logError(`stdin: unexpected ${msg.header.msg_type}: ignored`);
    const p = this.pendingInput;
    if (!p) return logError("stdin: input_reply with no input pending: ignored");
    this.pendingInput = null;
    const c = msg.content ?? {};
    if (c.status !== undefined && c.status !== "ok") p.reject(new Error(`input cancelled by the front-end (${c.status})`));
    else p.resolve(String(c.value ?? ""));
  }

  private cancelInput(why: string): void {
    const p = this.pendingInput;
    this.pendingInput = null;
    p?.reject(new Error(why));
  }

  /** tslab's own `display` API (require("tslab").display) calls this. */
  tslabDisplay(data: any, update: boolean): void {
    this.publish(update ? "update_display_data" : "display_data", data, this.outputParent());
  }

  reportAsync(kind: string, e: unknown): void {
    this.io.write("stderr", describeAsync(kind, e));
  }

  // ---- plumbing ----

  outputParent(): Header | Record<string, never> {
    return this.running ?? this.latestExecute ?? {};
  }

  publish(type: string, content: unknown, parent: Header | Record<string, never>, metadata: Record<string, unknown> = {}, buffers: Buffer[] = []): void {
    if (type !== "stream") this.io.flush();
    this.d.transport.publish({
      idents: [Buffer.from(type)],
      header: newHeader(type, this.d.session),
      parent_header: parent,
      metadata,
      content,
      buffers,
    });
  }

  private reply(channel: Channel, req: Message, type: string, content: unknown): void {
    this.d.transport.send(channel, {
      idents: req.idents,
      header: newHeader(type, this.d.session),
      parent_header: req.header,
      metadata: {},
      content,
      buffers: [],
    });
  }

  private status(state: "busy" | "idle" | "starting", parent: Header | Record<string, never>): void {
    this.publish("status", { execution_state: state }, parent);
  }

  /** A short request: busy, handler, idle. */
  private around(req: Message, fn: () => void): void {
    this.status("busy", req.header);
    try {
      fn();
    } catch (e) {
      logError(`${req.header.msg_type} failed:`, e);
    } finally {
      this.status("idle", req.header);
    }
  }

  starting(): void {
    this.status("starting", {});
  }

  // ---- dispatch ----

  handle(req: Message, channel: Channel): void {
    const c = req.content ?? {};
    switch (req.header.msg_type) {
      case "execute_request":
        this.enqueue(req, channel);
        return;
      case "kernel_info_request":
        return this.around(req, () => this.reply(channel, req, "kernel_info_reply", this.kernelInfo()));
      case "is_complete_request":
        return this.around(req, () => {
          const r = this.d.isCompleteCode(String(c.code ?? ""));
          this.reply(channel, req, "is_complete_reply", r.completed ? { status: "complete" } : { status: "incomplete", indent: r.indent ?? "" });
        });
      case "complete_request":
        return this.around(req, () => this.reply(channel, req, "complete_reply", this.complete(String(c.code ?? ""), Number(c.cursor_pos ?? 0))));
      case "inspect_request":
        return this.around(req, () => this.reply(channel, req, "inspect_reply", this.inspect(String(c.code ?? ""), Number(c.cursor_pos ?? 0))));
      case "history_request":
        return this.around(req, () => this.reply(channel, req, "history_reply", { status: "ok", history: [] }));
      case "comm_info_request":
        return this.around(req, () => this.reply(channel, req, "comm_info_reply", this.comms.info(c.target_name ? String(c.target_name) : undefined)));
      case "comm_open":
      case "comm_msg":
      case "comm_close":
        return this.around(req, () => this.commFromFrontend(req));
      case "shutdown_request":
        void this.shutdown(req, channel);
        return;
      case "interrupt_request":
        // Reached here only when sent on shell; the control worker answers the control one.
        return this.around(req, () => {
          process.kill(process.pid, "SIGINT");
          this.reply(channel, req, "interrupt_reply", { status: "ok" });
        });
      default:
        logError(`unknown msg_type "${req.header.msg_type}" on ${channel}: ignored`);
    }
  }

  /**
   * ■ Interrupt (SIGINT): work a cell started in the background (an
   * experiment's loop) hears it too, not just the awaiting cell.
   */
  runInterruptHooks(): void {
    for (const fn of [...this.interruptHooks]) {
      try {
        fn();
      } catch (e) {
        logError("interrupt hook failed:", e);
      }
    }
  }

  /** The control worker answered an interrupt; show busy/idle for it like any request. */
  interrupted(req: Message): void {
    this.cancelInput("interrupted while waiting for input");
    this.status("busy", req.header);
    this.status("idle", req.header);
  }

  private commFromFrontend(req: Message): void {
    this.commParent = req.header;
    try {
      const { msg_type } = req.header;
      if (msg_type === "comm_open") this.comms.handleOpen(req.content, req.metadata, req.buffers);
      else if (msg_type === "comm_msg") this.comms.handleMsg(req.content, req.metadata, req.buffers);
      else this.comms.handleClose(req.content, req.metadata, req.buffers);
    } finally {
      this.commParent = null;
    }
  }

  kernelInfo(): Record<string, unknown> {
    return {
      status: "ok",
      protocol_version: PROTOCOL_VERSION,
      implementation: "tunelab",
      implementation_version: this.d.version,
      language_info: {
        name: "typescript",
        version: this.d.tsVersion,
        mimetype: "text/typescript",
        file_extension: ".ts",
        pygments_lexer: "typescript",
        // mode drives JupyterLab; name + typescript drive classic Notebook's CodeMirror 5.
        codemirror_mode: { mode: "typescript", name: "javascript", typescript: true },
      },
      banner: `TypeScript ${this.d.tsVersion} on Node ${process.version} (tunelab kernel ${this.d.version}, tslab executor)`,
      help_links: [],
      debugger: false,
    };
  }

  private complete(code: string, cursor: number): Record<string, unknown> {
    try {
      const info = this.d.executor.complete(code, cursor);
      return { status: "ok", matches: info.candidates, cursor_start: info.start, cursor_end: info.end, metadata: {} };
    } catch (e) {
      logError("complete failed:", e);
      return { status: "ok", matches: [], cursor_start: cursor, cursor_end: cursor, metadata: {} };
    }
  }

  private inspect(code: string, cursor: number): Record<string, unknown> {
    let info: unknown = null;
    try {
      info = this.d.executor.inspect(code, cursor);
    } catch (e) {
      logError("inspect failed:", e);
    }
    if (!info) return { status: "ok", found: false, data: {}, metadata: {} };
    return { status: "ok", found: true, data: { "text/plain": this.d.printQuickInfo(info) }, metadata: {} };
  }

  // ---- execute ----

  private enqueue(req: Message, channel: Channel): void {
    const seq = ++this.enqueued;
    this.queue = this.queue
      .then(() => this.execute(req, channel, seq <= this.abortUpTo))
      .catch((e) => logError("execute failed:", e));
  }

  private async execute(req: Message, channel: Channel, aborted: boolean): Promise<void> {
    const c = req.content ?? {};
    const code = String(c.code ?? "");
    const silent = c.silent === true;
    const storeHistory = c.store_history ?? !silent;
    this.status("busy", req.header);
    if (aborted || this.shuttingDown) {
      this.reply(channel, req, "execute_reply", { status: "aborted", execution_count: this.execCount });
      this.status("idle", req.header);
      return;
    }
    if (!silent && storeHistory) this.execCount += 1;
    const count = this.execCount;
    if (!silent) this.publish("execute_input", { code, execution_count: count }, req.header);
    this.running = req.header;
    this.runningReq = req;
    this.latestExecute = req.header;
    const capture: Capture = { hasValue: false, value: undefined, error: undefined, hasError: false };
    this.capture = capture;
    let error: ErrorContent | null = null;
    try {
      const ok = await this.d.executor.execute(code);
      this.capture = null;
      if (!ok) {
        const diags = this.d.lastDiagnostics();
        error = capture.hasError ? runtimeError(capture.error) : diags.length ? compileError(diags, code) : runtimeError(new Error("execution failed"));
      } else if (capture.hasValue && !silent) {
        let value = capture.value;
        const bundle = toMimeBundle(value);
        const displayId = ownDisplayId(value);
        // front-ends (JupyterLab's OutputArea, Notebook 6) track display ids only on display_data,
        // so an object that will update itself later is shown as display_data, not execute_result
        if (displayId) this.publish("display_data", { data: bundle, metadata: {}, transient: { display_id: displayId } }, req.header);
        else this.publish("execute_result", { execution_count: count, data: bundle, metadata: {} }, req.header);
      }
    } catch (e) {
      error = runtimeError(e);
    } finally {
      this.capture = null;
    }
    if (error) {
      if (!silent) this.publish("error", error, req.header);
      if (c.stop_on_error !== false) this.abortUpTo = this.enqueued;
    }
    this.io.flush();
    this.running = null;
    this.runningReq = null;
    this.cancelInput("the cell that asked for input has finished");
    const content = error
      ? { status: "error", execution_count: count, ...error }
      : { status: "ok", execution_count: count, user_expressions: {}, payload: [] };
    this.reply(channel, req, "execute_reply", content);
    this.status("idle", req.header);
  }

  // ---- shutdown ----

  /** SIGTERM from the kernel manager: run the hooks (bounded), then leave. */
  async terminate(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    await this.runHooks();
    this.io.flush();
    this.d.transport.exit(0);
  }

  private async runHooks(): Promise<void> {
    const hooks = this.shutdownHooks.map(async (fn) => {
      try {
        await fn();
      } catch (e) {
        logError("shutdown hook failed:", e);
      }
    });
    await Promise.race([Promise.all(hooks), new Promise((r) => setTimeout(r, 3000).unref())]);
  }

  private async shutdown(req: Message, channel: Channel): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.status("busy", req.header);
    await this.runHooks();
    const content = { status: "ok", restart: req.content?.restart === true };
    this.reply(channel, req, "shutdown_reply", content);
    this.publish("shutdown_reply", content, req.header);
    this.status("idle", req.header);
    this.io.flush();
    this.d.transport.exit(0);
  }
}
