/**
 * Shell quoting and remote-path confinement. Every user-provided string that
 * reaches a remote shell goes through `shq`; every remote path is built with
 * `insideDir` so that a hostile trial id, experiment name or checkpoint path
 * cannot leave the configured remoteDir.
 */
import * as path from "node:path";

/** POSIX single-quote a string: the result is one literal word for sh/bash. */
export function shq(s: string | number | boolean): string {
  const str = String(s);
  if (str.includes("\0")) throw new Error("a NUL byte cannot be passed through a shell");
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(str)) return str;
  return "'" + str.replace(/'/g, "'\\''") + "'";
}

/** Quote an argv into one command line. */
export function shqArgv(argv: readonly string[]): string {
  return argv.map(shq).join(" ");
}

/**
 * A name made safe as one path component: letters, digits, ".", "_", "-"
 * kept, everything else hex-escaped as `_xx` (deterministic, so the same
 * experiment maps to the same directory after a restart).
 */
export function pathComponent(name: string): string {
  let out = "";
  for (const ch of Buffer.from(name, "utf8")) {
    const c = String.fromCharCode(ch);
    out += /[A-Za-z0-9.-]/.test(c) ? c : c === "_" ? "__" : "_" + ch.toString(16).padStart(2, "0");
  }
  if (out === "" || out === "." || out === "..") out = "_" + Buffer.from(out).toString("hex");
  return out.slice(0, 200);
}

/** Join `rel` under `root` (POSIX), refusing absolute paths and ".." escapes. */
export function insideDir(root: string, ...rel: string[]): string {
  for (const r of rel) {
    if (path.posix.isAbsolute(r)) throw new Error(`remote path ${JSON.stringify(r)} must be relative to remoteDir ${root}`);
  }
  const joined = path.posix.normalize(path.posix.join(root, ...rel));
  const base = path.posix.normalize(root).replace(/\/+$/, "");
  if (joined !== base && !joined.startsWith(base + "/")) {
    throw new Error(`remote path ${JSON.stringify(rel.join("/"))} leaves remoteDir ${root}`);
  }
  return joined;
}

/** Values that go into `#SBATCH` lines, which sbatch parses itself (no shell quoting there). */
const SBATCH_SAFE = /^[A-Za-z0-9_.,:=@%+\/\[\]-]+$/;
export function sbatchValue(field: string, v: string | number): string {
  const s = String(v);
  if (!SBATCH_SAFE.test(s)) {
    throw new Error(
      `backend.${field}: ${JSON.stringify(s)} is not a valid SLURM value (allowed: letters, digits and _ . , : = @ % + / [ ] -; no spaces, quotes or newlines)`,
    );
  }
  return s;
}

/** Environment variable names that bash accepts in `export NAME=...`. */
export function envName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`environment variable name ${JSON.stringify(name)} is not allowed`);
  return name;
}
