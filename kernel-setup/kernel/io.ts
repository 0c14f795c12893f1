/**
 * Routes process.stdout / process.stderr writes (console.log in cells,
 * timers, child-process output piped to process.stdout) to iopub `stream`
 * messages. Writes within one tick are coalesced; `flush()` runs before any
 * other iopub message so output order is preserved.
 */
import { StringDecoder } from "node:string_decoder";

export type StreamName = "stdout" | "stderr";
export type StreamSink = (name: StreamName, text: string) => void;

export class StreamRouter {
  private pending: Array<{ name: StreamName; text: string }> = [];
  private scheduled = false;
  private readonly decoders = { stdout: new StringDecoder("utf8"), stderr: new StringDecoder("utf8") };
  private originals: { stdout: typeof process.stdout.write; stderr: typeof process.stderr.write } | null = null;

  constructor(private readonly sink: StreamSink) {}

  install(): void {
    if (this.originals) return;
    this.originals = { stdout: process.stdout.write, stderr: process.stderr.write };
    process.stdout.write = this.writer("stdout") as typeof process.stdout.write;
    process.stderr.write = this.writer("stderr") as typeof process.stderr.write;
  }

  uninstall(): void {
    if (!this.originals) return;
    process.stdout.write = this.originals.stdout;
    process.stderr.write = this.originals.stderr;
    this.originals = null;
  }

  private writer(name: StreamName) {
    return (chunk: unknown, encoding?: unknown, cb?: unknown): boolean => {
      if (typeof encoding === "function") {
        cb = encoding;
        encoding = undefined;
      }
      let text: string;
      if (typeof chunk === "string") text = chunk;
      else if (chunk instanceof Uint8Array) text = this.decoders[name].write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      else text = String(chunk);
      this.write(name, text);
      if (typeof cb === "function") process.nextTick(cb as () => void);
      return true;
    };
  }

  write(name: StreamName, text: string): void {
    if (!text) return;
    const last = this.pending[this.pending.length - 1];
    if (last && last.name === name) last.text += text;
    else this.pending.push({ name, text });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    const out = this.pending;
    this.pending = [];
    for (const { name, text } of out) this.sink(name, text);
  }
}
