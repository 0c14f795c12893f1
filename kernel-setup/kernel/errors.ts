/**
 * Turns what tslab reports (compile diagnostics, thrown values, interrupts)
 * into the Jupyter `error` content: ename, evalue and a readable traceback.
 */
import { inspect } from "node:util";

export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}

export interface CellDiagnostic {
  start: { line: number; character: number };
  end: { line: number; character: number };
  messageText: string;
  code: number;
  fileName?: string;
}

const RED = "\u001b[31m";
const BOLD = "\u001b[1m";
const RESET = "\u001b[0m";

/** A TypeScript compile error, with the cell line and a caret under the column. */
export function compileError(diags: CellDiagnostic[], code: string): ErrorContent {
  const lines = code.split("\n");
  const traceback: string[] = [];
  for (const d of diags) {
    const where = `${d.fileName ? d.fileName + ":" : ""}${d.start.line + 1}:${d.start.character + 1}`;
    traceback.push(`${BOLD}${where}${RESET} - ${RED}error${RESET} TS${d.code}: ${d.messageText}`);
    if (!d.fileName) {
      const src = lines[d.start.line];
      if (src !== undefined) {
        const gutter = String(d.start.line + 1);
        const width = d.end.line === d.start.line ? Math.max(1, d.end.character - d.start.character) : Math.max(1, src.length - d.start.character);
        traceback.push(`${gutter} | ${src}`);
        traceback.push(`${" ".repeat(gutter.length)} | ${" ".repeat(d.start.character)}${RED}${"~".repeat(width)}${RESET}`);
      }
    }
    traceback.push("");
  }
  const first = diags[0];
  return {
    ename: "TypeScriptError",
    evalue: first ? `TS${first.code}: ${first.messageText}` : "compile error",
    traceback,
  };
}

const INTERRUPT = /Script execution was interrupted|Interrupted asynchronously/;
/** Frames from the kernel itself say nothing about the user's code. */
const NOISE = /node_modules[\\/]tslab[\\/]|kernel-setup[\\/]kernel[\\/]|\(node:|^\s*at node:/;

export function isInterrupt(e: unknown): boolean {
  return e instanceof Error && INTERRUPT.test(e.message);
}

/** A value thrown (or rejected) by cell code. */
export function runtimeError(e: unknown): ErrorContent {
  if (isInterrupt(e)) {
    return { ename: "Interrupted", evalue: "the cell was interrupted", traceback: [`${RED}Interrupted${RESET}: the cell was interrupted`] };
  }
  if (e instanceof Error) {
    const head = `${e.name}: ${e.message}`;
    const frames = (e.stack ?? "")
      .split("\n")
      .slice(1)
      .filter((l) => /^\s*at /.test(l) && !NOISE.test(l))
      // Cells run as compiled JavaScript; say so instead of "evalmachine.<anonymous>".
      .map((l) => l.replace(/evalmachine\.<anonymous>/g, "<cell, compiled JS>"));
    return { ename: e.name || "Error", evalue: e.message, traceback: [`${RED}${head}${RESET}`, ...frames] };
  }
  const text = inspect(e);
  return { ename: "Uncaught", evalue: text, traceback: [`${RED}Uncaught${RESET} ${text}`] };
}

/** Text for errors that escaped every cell (timers, unhandled rejections). */
export function describeAsync(kind: string, e: unknown): string {
  const c = runtimeError(e);
  const tb = c.traceback.slice(1).join("\n");
  return `${kind}: ${c.ename}: ${c.evalue}\n${tb ? tb + "\n" : ""}`;
}
