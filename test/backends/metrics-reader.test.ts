/**
 * metrics.jsonl reading: torn last lines wait for their newline, no line is
 * emitted twice, byte offsets survive multi-byte UTF-8, adopt skips lines.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MetricsFileReader, newReaderState, offsetAfterLines, parseNewBytes } from "../../src/backends/metrics-reader";

const line = (t: number, extra: Record<string, unknown> = {}) => JSON.stringify({ t, eval_loss: 1 / t, time_total_s: t, checkpoint: null, ...extra }) + "\n";

describe("parseNewBytes", () => {
  it("consumes complete lines only; a torn tail is left for later", () => {
    const st = newReaderState();
    const full = line(1) + line(2);
    const torn = line(3).slice(0, 10);
    const r = parseNewBytes(full + torn, st);
    assert.deepEqual(r.reports.map((x) => x.t), [1, 2]);
    assert.equal(r.consumedBytes, Buffer.byteLength(full));
    assert.equal(st.offset, Buffer.byteLength(full));
    const rest = (full + line(3)).slice(full.length);
    const r2 = parseNewBytes(rest, st);
    assert.deepEqual(r2.reports.map((x) => x.t), [3]);
    assert.equal(st.lines, 3);
  });

  it("a torn line that happens to be valid JSON up to the cut is not emitted before its newline", () => {
    const st = newReaderState();
    const r = parseNewBytes('{"t": 1, "eval_loss": 12', st);
    assert.equal(r.reports.length, 0);
    assert.equal(r.consumedBytes, 0);
    // final: the writer exited; a complete object without newline is accepted, a torn one is not
    assert.equal(parseNewBytes('{"t": 1, "eval_loss": 12', st, { final: true }).reports.length, 0);
    assert.deepEqual(parseNewBytes('{"t": 1, "eval_loss": 12}', st, { final: true }).reports.map((x) => x.t), [1]);
  });

  it("byte offsets count UTF-8 bytes, not characters", () => {
    const st = newReaderState();
    const l1 = line(1, { note: "héllo ✓" });
    const r = parseNewBytes(Buffer.from(l1 + line(2).slice(0, 5)), st);
    assert.equal(r.reports[0].note, "héllo ✓");
    assert.equal(st.offset, Buffer.byteLength(l1));
    assert.notEqual(st.offset, l1.length);
  });

  it("skip: the first n lines are consumed without being emitted (adopt)", () => {
    const st = newReaderState({ skip: 2 });
    const r = parseNewBytes(line(1) + line(2) + line(3), st);
    assert.deepEqual(r.reports.map((x) => x.t), [3]);
    assert.equal(st.skip, 0);
  });

  it("bad complete lines are reported as errors once and never retried; blank lines ignored", () => {
    const st = newReaderState();
    const r = parseNewBytes("not json\n\n[1,2]\n" + '{"x":1}\n' + line(4), st);
    assert.deepEqual(r.reports.map((x) => x.t), [4]);
    assert.equal(r.errors.length, 3);
    assert.match(r.errors[2], /"t" must be a number/);
    assert.equal(parseNewBytes("", st).reports.length, 0);
  });

  it("fills in checkpoint null and time_total_s 0 when a trainer leaves them out", () => {
    const r = parseNewBytes('{"t":2,"eval_loss":3}\n', newReaderState());
    assert.equal(r.reports[0].checkpoint, null);
    assert.equal(r.reports[0].time_total_s, 0);
  });
});

describe("MetricsFileReader", () => {
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-mr-"));

  it("reads appended lines incrementally, each exactly once, across torn writes", () => {
    const d = tmp();
    try {
      const f = path.join(d, "metrics.jsonl");
      const r = new MetricsFileReader(f);
      assert.deepEqual(r.read().reports, [], "no file yet");
      const seen: number[] = [];
      for (let t = 1; t <= 20; t++) {
        const l = line(t);
        const cut = (t * 7) % l.length;
        fs.appendFileSync(f, l.slice(0, cut));
        seen.push(...r.read().reports.map((x) => x.t));
        fs.appendFileSync(f, l.slice(cut));
        seen.push(...r.read().reports.map((x) => x.t));
      }
      assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => i + 1));
      assert.equal(r.state.offset, fs.statSync(f).size);
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });

  it("atEnd starts after the existing complete lines; a torn tail is read when completed", () => {
    const d = tmp();
    try {
      const f = path.join(d, "metrics.jsonl");
      const l3 = line(3);
      fs.writeFileSync(f, line(1) + line(2) + l3.slice(0, 8));
      const r = MetricsFileReader.atEnd(f);
      fs.appendFileSync(f, l3.slice(8) + line(4));
      assert.deepEqual(r.read().reports.map((x) => x.t), [3, 4]);
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });

  it("offsetAfterLines finds the byte offset after n non-blank lines", () => {
    const buf = Buffer.from(line(1) + "\n" + line(2) + line(3).slice(0, 4));
    assert.deepEqual(offsetAfterLines(buf, 2), { offset: Buffer.byteLength(line(1) + "\n" + line(2)), lines: 2 });
    assert.deepEqual(offsetAfterLines(buf, 5).lines, 2);
  });

  it("a file that shrank is not re-read from the start", () => {
    const d = tmp();
    try {
      const f = path.join(d, "metrics.jsonl");
      fs.writeFileSync(f, line(1) + line(2));
      const r = new MetricsFileReader(f);
      assert.equal(r.read().reports.length, 2);
      fs.writeFileSync(f, line(1));
      const x = r.read();
      assert.equal(x.reports.length, 0);
      assert.match(x.errors[0], /shrank/);
      fs.appendFileSync(f, line(9));
      assert.deepEqual(r.read().reports.map((q) => q.t), [9]);
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
