/**
 * Archive, don't delete (issue 14). A fresh run into a run directory never
 * removes anything:
 *  - a new or empty directory is claimed: `.tunelab-run` marks it as
 *    tunelab's;
 *  - a directory with a previous tunelab run (the marker, or an older run's
 *    experiment.json + journal.jsonl) gets that run's files moved to
 *    `archive/<UTC time>/` (an unfinished run is refused before: attach it);
 *  - a non-empty directory tunelab did not create is refused, unless
 *    `overwrite`, and then its contents are archived the same way.
 * The run directory is 0700 and experiment.json (which holds trainer.env)
 * 0600.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileError, writeFileAtomic } from "../backends/trial-files";

export const MARKER = ".tunelab-run";
/** files of a run (everything else in a tunelab run dir is left where it is) */
const RUN_FILES = /^(trials|journal\.jsonl|summary\.json|experiment\.json|pbt_global\.txt|pbt_policy_.*\.txt)$/;

export class RunDirRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunDirRefusedError";
  }
}

export function isTunelabRunDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, MARKER)) || (fs.existsSync(path.join(dir, "experiment.json")) && fs.existsSync(path.join(dir, "journal.jsonl")));
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, "-");
}

/** Move `names` of `dir` into a new `dir/archive/<stamp>/`; returns that folder (null when nothing moved). */
function archive(dir: string, names: string[]): string | null {
  if (!names.length) return null;
  const root = path.join(dir, "archive");
  let dest = path.join(root, stamp());
  for (let i = 1; fs.existsSync(dest); i++) dest = path.join(root, `${stamp()}-${i}`);
  try {
    fs.mkdirSync(dest, { recursive: true, mode: 0o700 });
    for (const n of names) fs.renameSync(path.join(dir, n), path.join(dest, n));
  } catch (e) {
    throw fileError("archive the previous run into", dest, e);
  }
  return dest;
}

export interface PreparedRunDir {
  /** where the previous contents went, or null */
  archivedTo: string | null;
}

/**
 * Make `dir` ready for a fresh run of `config` (call after refusing an
 * unfinished run). Writes the marker and experiment.json.
 */
export function prepareFreshRunDir(dir: string, config: unknown, opts: { overwrite?: boolean } = {}): PreparedRunDir {
  let entries: string[] = [];
  try {
    entries = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  } catch (e) {
    throw fileError("read the run directory", dir, e);
  }
  const ours = isTunelabRunDir(dir);
  const content = entries.filter((n) => n !== ".lock");
  let archivedTo: string | null = null;
  if (content.length && !ours) {
    if (!opts.overwrite) {
      throw new RunDirRefusedError(
        `runDir ${dir} exists, is not empty (${content.slice(0, 5).join(", ")}${content.length > 5 ? ", ..." : ""}) and was not created by tunelab: ` +
          `choose another runDir, or pass --overwrite ({ overwrite: true }) to move its contents to ${path.join(dir, "archive")}/ (nothing is deleted)`,
      );
    }
    archivedTo = archive(dir, content.filter((n) => n !== "archive"));
  } else if (ours) {
    archivedTo = archive(dir, content.filter((n) => RUN_FILES.test(n)));
  }
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
    writeFileAtomic(path.join(dir, MARKER), JSON.stringify({ created: new Date().toISOString(), by: "tunelab" }) + "\n", 0o600);
    writeFileAtomic(path.join(dir, "experiment.json"), JSON.stringify(config, null, 2) + "\n", 0o600);
  } catch (e) {
    if ((e as Error).message.startsWith("cannot ")) throw e;
    throw fileError("write the run directory", dir, e);
  }
  return { archivedTo };
}
