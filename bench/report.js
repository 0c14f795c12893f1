// bench/REPORT.md assembly. Every module's section sits between markers
//   <!-- bench:<file> begin --> … <!-- bench:<file> end -->
// so that `node bench/run.js schedulers` replaces only schedulers.ts's
// section and keeps every other one (and the header) byte for byte, while a
// full `npm run bench` writes the whole report anew.
"use strict";

const begin = (f) => `<!-- bench:${f} begin -->`;
const end = (f) => `<!-- bench:${f} end -->`;
const MARK = /<!-- bench:([A-Za-z0-9._-]+) (begin|end) -->/g;

/** One marked section: the markers, the text (trimmed of surrounding blank lines), a newline. */
function wrap(file, text) {
  return `${begin(file)}\n${text.replace(/^\n+|\s+$/g, "")}\n${end(file)}\n`;
}

/**
 * The report as parts: `{ kind: "text", text }` for anything outside markers
 * (the header, hand-written notes: kept as they are) and
 * `{ kind: "section", file, text }` for a marked section (text = whole
 * marked block, markers included). An unbalanced or repeated marker is an
 * error naming the file and the marker, not a silent guess.
 */
function parse(report) {
  const parts = [];
  let at = 0;
  let open = null;
  const seen = new Set();
  for (const m of report.matchAll(MARK)) {
    const [tok, file, which] = m;
    if (which === "begin") {
      if (open) throw new Error(`bench report: marker "${tok}" inside the open section of ${open.file}`);
      if (seen.has(file)) throw new Error(`bench report: section ${file} appears twice`);
      if (m.index > at) parts.push({ kind: "text", text: report.slice(at, m.index) });
      open = { file, start: m.index };
      at = m.index;
    } else {
      if (!open || open.file !== file) throw new Error(`bench report: marker "${tok}" without its begin marker`);
      let stop = m.index + tok.length;
      if (report[stop] === "\n") stop++;
      parts.push({ kind: "section", file, text: report.slice(open.start, stop) });
      seen.add(file);
      open = null;
      at = stop;
    }
  }
  if (open) throw new Error(`bench report: section ${open.file} has no end marker "${end(open.file)}"`);
  if (at < report.length) parts.push({ kind: "text", text: report.slice(at) });
  return parts;
}

/** The whole report from a header and the sections of a full run, in the given order. */
function build(header, sections) {
  return [header.replace(/\s+$/, "") + "\n", ...sections.map((s) => wrap(s.file, s.text))].join("\n");
}

/**
 * Replace the named sections of an existing report, keep everything else as
 * it is. A section not yet in the report goes before the first marked section
 * whose file name sorts after it (the order a full run writes), else at the
 * end. `existing` empty or absent: a new report with `header`.
 */
function replaceSections(existing, header, sections) {
  if (!existing) return build(header, sections);
  const parts = parse(existing);
  for (const s of sections) {
    const block = wrap(s.file, s.text);
    const i = parts.findIndex((p) => p.kind === "section" && p.file === s.file);
    if (i >= 0) { parts[i] = { kind: "section", file: s.file, text: block }; continue; }
    const j = parts.findIndex((p) => p.kind === "section" && p.file > s.file);
    const add = { kind: "section", file: s.file, text: block };
    if (j >= 0) parts.splice(j, 0, add, { kind: "text", text: "\n" });
    else {
      const last = parts[parts.length - 1];
      if (last && !last.text.endsWith("\n\n")) parts.push({ kind: "text", text: last.text.endsWith("\n") ? "\n" : "\n\n" });
      parts.push(add);
    }
  }
  return parts.map((p) => p.text).join("");
}

module.exports = { parse, build, replaceSections, wrap, begin, end };
