/**
 * The team folder: where every member's comparison row lands so that
 * 05-comparison can merge them. Several members write at the same time, so
 * nobody ever rewrites a shared file: each member and method owns exactly one
 * file `rows/<member>-<method>.json`, written to a temp name in the same
 * directory and renamed into place (rename is atomic on POSIX), and reading is
 * list + merge. The folder is a local path or a path on the cluster reached
 * through any transport with `exec(cmd)` (the SLURM backend's SSH transport).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { shq } from "../backends/slurm/quote";
import { parseRow, type ComparisonRow } from "./row";

/**
 * What we need from a remote transport: run one shell command, get its
 * stdout. Either a minimal `exec(cmd)` or the SLURM backend's
 * `Transport.run(script)` (src/backends/slurm/transport.ts) fits.
 */
export type ExecTransport =
  | { exec(cmd: string, stdin?: string): Promise<ExecResult> }
  | { run(script: string): Promise<ExecResult> };
export type ExecResult =
  | string
  | { stdout: string | Buffer; stderr?: string; code?: number | null; rc?: number | null; exitCode?: number | null };

export const ROW_FILE_FORMAT = "tunelab-team-row/1";

export interface TeamRowFile {
  format: typeof ROW_FILE_FORMAT;
  member: string;
  method: string;
  written_at: string;
  row: ComparisonRow;
}

export interface TeamFolderRead {
  rows: ComparisonRow[];
  /** files that exist but could not be read as rows (named, with the reason) */
  problems: Array<{ file: string; error: string }>;
}

const MEMBER_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const METHOD_RE = /^[A-Za-z0-9_]{1,32}$/;

/** Member names become file names: letters, digits, ".", "_", "-"; no "..", no "/". */
export function validateMember(member: string): string {
  if (typeof member !== "string" || !MEMBER_RE.test(member) || member.includes("..")) {
    throw new Error(`team folder: member ${JSON.stringify(member)} is not allowed (1–64 letters, digits, ".", "_", "-"; starting with a letter or digit; no "..")`);
  }
  return member;
}
/** Methods contain no "-", so `<member>-<method>.json` splits unambiguously at the last "-". */
export function validateMethod(method: string): string {
  if (typeof method !== "string" || !METHOD_RE.test(method)) {
    throw new Error(`team folder: method ${JSON.stringify(method)} is not allowed (1–32 letters, digits or "_")`);
  }
  return method;
}

export function rowFileName(member: string, method: string): string {
  return `${validateMember(member)}-${validateMethod(method)}.json`;
}

function encode(member: string, method: string, row: ComparisonRow): string {
  const file: TeamRowFile = { format: ROW_FILE_FORMAT, member, method, written_at: new Date().toISOString(), row: { ...row, member } };
  return JSON.stringify(file, null, 2) + "\n";
}

function decode(name: string, text: string): ComparisonRow {
  let v: any;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`not JSON (${(e as Error).message})`);
  }
  if (!v || v.format !== ROW_FILE_FORMAT) throw new Error(`"format" is not ${ROW_FILE_FORMAT}`);
  const row = parseRow(v.row, name);
  return { ...row, member: typeof v.member === "string" ? v.member : row.member };
}

/** Stable order: by method as the workshop lists them, then member. */
const ORDER = ["manual", "grid", "random", "asha", "hyperband", "pbt", "bohb"];
function sortRows(rows: ComparisonRow[]): ComparisonRow[] {
  const rank = (m: string) => { const i = ORDER.indexOf(m); return i < 0 ? ORDER.length : i; };
  return rows.sort((a, b) => rank(a.method) - rank(b.method) || a.method.localeCompare(b.method) || (a.member ?? "").localeCompare(b.member ?? ""));
}

export abstract class TeamFolder {
  constructor(readonly location: string, readonly member?: string) {}

  /** Write (or replace) this member's row for the row's method. Returns the file written. */
  async save(row: ComparisonRow, opts: { member?: string; method?: string } = {}): Promise<string> {
    const member = validateMember(opts.member ?? row.member ?? this.member ?? "");
    const method = validateMethod(opts.method ?? row.method);
    parseRow({ ...row, member }, "team folder row");
    return this.writeFile(rowFileName(member, method), encode(member, method, row));
  }

  /** Every member's rows, merged; unreadable files are reported, not fatal. */
  async read(): Promise<TeamFolderRead> {
    const files = await this.readFiles();
    const rows: ComparisonRow[] = [];
    const problems: TeamFolderRead["problems"] = [];
    for (const [name, text] of files) {
      try {
        rows.push(decode(name, text));
      } catch (e) {
        problems.push({ file: name, error: (e as Error).message });
      }
    }
    return { rows: sortRows(rows), problems };
  }

  async rows(): Promise<ComparisonRow[]> {
    return (await this.read()).rows;
  }

  /** Release a connection this folder opened itself (cluster folders built from backend settings). */
  async close(): Promise<void> {}

  protected abstract writeFile(name: string, content: string): Promise<string>;
  /** [file name, content] for every rows/*.json */
  protected abstract readFiles(): Promise<Array<[string, string]>>;
}

export class LocalTeamFolder extends TeamFolder {
  readonly dir: string;
  constructor(dir: string, member?: string) {
    super(path.resolve(dir), member);
    this.dir = path.resolve(dir);
  }
  protected async writeFile(name: string, content: string): Promise<string> {
    const rowsDir = path.join(this.dir, "rows");
    await fs.promises.mkdir(rowsDir, { recursive: true });
    const final = path.join(rowsDir, name);
    const tmp = path.join(rowsDir, `.${name}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
    const fh = await fs.promises.open(tmp, "wx", 0o644);
    try {
      await fh.writeFile(content, "utf8");
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await fs.promises.rename(tmp, final);
    } catch (e) {
      await fs.promises.rm(tmp, { force: true });
      throw e;
    }
    return final;
  }
  protected async readFiles(): Promise<Array<[string, string]>> {
    const rowsDir = path.join(this.dir, "rows");
    let names: string[];
    try {
      names = await fs.promises.readdir(rowsDir);
    } catch (e: any) {
      if (e.code === "ENOENT") return [];
      throw e;
    }
    const out: Array<[string, string]> = [];
    for (const n of names.filter((n) => n.endsWith(".json") && !n.startsWith(".")).sort()) {
      try {
        out.push([n, await fs.promises.readFile(path.join(rowsDir, n), "utf8")]);
      } catch (e: any) {
        if (e.code !== "ENOENT") throw e; // replaced between readdir and read: skip
      }
    }
    return out;
  }
}

const MARK = "@@tunelab-row ";

export class RemoteTeamFolder extends TeamFolder {
  constructor(readonly remotePath: string, private readonly transport: ExecTransport, member?: string, private readonly ownsTransport = false) {
    super(remotePath, member);
    if (!remotePath || remotePath.includes("\0") || remotePath.split("/").includes("..")) {
      throw new Error(`team folder: remote path ${JSON.stringify(remotePath)} is not allowed (no "..")`);
    }
  }
  override async close(): Promise<void> {
    const t = this.transport as { close?: () => Promise<void> };
    if (this.ownsTransport && typeof t.close === "function") await t.close();
  }
  private async run(cmd: string): Promise<string> {
    const t = this.transport;
    const r = "exec" in t ? await t.exec(cmd) : await t.run(cmd + "\n");
    if (typeof r === "string") return r;
    const code = r.code ?? r.rc ?? r.exitCode ?? 0;
    if (code !== 0) throw new Error(`team folder on the cluster: command failed (exit ${code}): ${(r.stderr ?? "").trim().slice(0, 500)}`);
    return r.stdout.toString();
  }
  protected async writeFile(name: string, content: string): Promise<string> {
    // content travels base64-encoded inside the command: no dependence on the transport's stdin handling.
    const rowsDir = `${this.remotePath.replace(/\/+$/, "")}/rows`;
    const final = `${rowsDir}/${name}`;
    const tmp = `${rowsDir}/.${name}.${randomBytes(6).toString("hex")}.tmp`;
    const b64 = Buffer.from(content, "utf8").toString("base64");
    await this.run(`set -e; umask 002; mkdir -p ${shq(rowsDir)}; printf %s ${shq(b64)} | base64 -d > ${shq(tmp)}; mv -f ${shq(tmp)} ${shq(final)}`);
    return final;
  }
  protected async readFiles(): Promise<Array<[string, string]>> {
    const rowsDir = `${this.remotePath.replace(/\/+$/, "")}/rows`;
    const out = await this.run(
      `d=${shq(rowsDir)}; [ -d "$d" ] || exit 0; for f in "$d"/*.json; do [ -f "$f" ] || continue; ` +
      `printf '\\n${MARK}%s\\n' "$(basename "$f")"; base64 -w0 < "$f" || true; done; printf '\\n'`,
    );
    const files: Array<[string, string]> = [];
    const lines = out.split("\n");
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i].startsWith(MARK)) continue;
      const name = lines[i].slice(MARK.length).trim();
      const body = (lines[i + 1] ?? "").trim();
      files.push([name, Buffer.from(body, "base64").toString("utf8")]);
    }
    return files.sort((a, b) => a[0].localeCompare(b[0]));
  }
}

export type TeamFolderSpec = string | { path: string } | { cluster: string; transport?: ExecTransport };

/**
 * A transport for a team folder on the cluster, from the same settings as the
 * SLURM backend (no `host`: this machine is the login node, plain bash).
 */
export function transportForBackend(backend: Record<string, any>): ExecTransport & { close(): Promise<void> } {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { SshTransport, LocalTransport } = require("../backends/slurm/transport");
  if (!backend || !backend.host) return new LocalTransport();
  return new SshTransport({
    host: backend.host, port: backend.port, user: backend.user, identityFile: backend.identityFile,
    hostKey: backend.hostKey, knownHosts: backend.knownHosts, jump: backend.jump,
  });
}

/**
 * Open a team folder: a local path (string or {path}) or a path on the
 * cluster ({cluster: "/scratch/team1", transport}); `member` is the default
 * author of rows saved through it.
 */
export function teamFolder(
  spec: TeamFolderSpec,
  opts: { member?: string; transport?: ExecTransport; backend?: Record<string, any> } = {},
): TeamFolder {
  if (opts.member !== undefined) validateMember(opts.member);
  if (typeof spec === "string") return new LocalTeamFolder(spec, opts.member);
  if ("cluster" in spec) {
    const given = spec.transport ?? opts.transport;
    const t = given ?? (opts.backend?.kind === "slurm" ? transportForBackend(opts.backend) : undefined);
    if (!t) throw new Error("team folder: a folder on the cluster needs the slurm backend settings (backend: {kind: \"slurm\", host, ...}) or a transport");
    return new RemoteTeamFolder(spec.cluster, t, opts.member, !given);
  }
  if (opts.transport) return new RemoteTeamFolder(spec.path, opts.transport, opts.member);
  return new LocalTeamFolder(spec.path, opts.member);
}
