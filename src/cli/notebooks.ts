/**
 * The instructor's distribution: `tunelab notebooks build --course C --out D`.
 *
 * course.json (validated with zod; errors name the field path) lists the
 * teams; for every team member we write a copy of every workshop notebook
 * with the settings cell (tag `settings`) prefilled, outputs and execution
 * counts cleared, cells tagged `solution` removed and quiz answers (cells
 * tagged `quiz`) replaced by salted sha256 hashes in the format of
 * widgets/quiz.ts: answerHash = sha256_hex(salt + answerText).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHmac, randomBytes } from "node:crypto";
import { z } from "zod";
import { hashAnswer, sealExplanation, type QuizQuestion } from "../../widgets/quiz";

// ---------------------------------------------------------------- course.json

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const name = (what: string) => z.string().regex(NAME, `${what}: 1–64 letters, digits, ".", "_", "-", starting with a letter or digit`).refine((s) => !s.includes(".."), `${what}: no ".."`);

const domain = z.union([
  z.strictObject({ loguniform: z.tuple([z.number(), z.number()]) }),
  z.strictObject({ uniform: z.tuple([z.number(), z.number()]) }),
  z.strictObject({ int: z.tuple([z.number(), z.number()]) }),
  z.strictObject({ choice: z.array(z.union([z.number(), z.string(), z.boolean()])).min(1) }),
]);
const gridValues = z.array(z.union([z.number(), z.string(), z.boolean()])).min(1);

/** Per-team or course-wide settings that end up in the settings cell. */
const settingsFields = {
  /** the experiment backend: local (embedded default), slurm (cluster settings) or replay */
  backend: z.record(z.string(), z.unknown()).refine((b) => ["local", "slurm", "replay"].includes(String(b.kind)), "backend.kind: expected \"local\", \"slurm\" or \"replay\"").optional(),
  trainer: z.record(z.string(), z.unknown()).optional(),
  /** search space of the ASHA/PBT/BOHB notebooks */
  ranges: z.record(z.string(), domain).optional(),
  /** values of the manual grid */
  grid: z.record(z.string(), gridValues).optional(),
  samples: z.number().int().positive().optional(),
  maxConcurrent: z.number().int().positive().optional(),
  /** a run directory of a grid the instructor ran beforehand */
  preRun: z.string().optional(),
};

export const teamSchema = z.strictObject({
  name: name("team name"),
  members: z.array(name("member name")).min(1, "members: at least one member"),
  /** local path, or {"cluster": "/remote/path"} reached with the team's slurm backend */
  teamFolder: z.union([z.string().min(1), z.strictObject({ cluster: z.string().min(1) })]),
  ...settingsFields,
});

export const courseSchema = z.strictObject({
  course: z.string().min(1),
  /** secret mixed into the quiz salts; keep it out of the distributed copies (default: random per build) */
  secret: z.string().min(8).optional(),
  /** notebooks to copy (default: every .ipynb in the notebooks/ folder) */
  notebooks: z.array(z.string().regex(/^[\w.-]+\.ipynb$/)).optional(),
  defaults: z.strictObject(settingsFields).optional(),
  teams: z.array(teamSchema).min(1, "teams: at least one team"),
}).superRefine((c, ctx) => {
  const seen = new Set<string>();
  c.teams.forEach((t, i) => {
    if (seen.has(t.name)) ctx.addIssue({ code: "custom", path: ["teams", i, "name"], message: `duplicate team name ${JSON.stringify(t.name)}` });
    seen.add(t.name);
    const backend = t.backend ?? c.defaults?.backend;
    if (typeof t.teamFolder === "object" && backend?.kind !== "slurm") {
      ctx.addIssue({ code: "custom", path: ["teams", i, "teamFolder"], message: "a team folder on the cluster needs backend.kind \"slurm\" (team or defaults)" });
    }
    const ms = new Set<string>();
    t.members.forEach((m, j) => {
      if (ms.has(m)) ctx.addIssue({ code: "custom", path: ["teams", i, "members", j], message: `duplicate member ${JSON.stringify(m)}` });
      ms.add(m);
    });
  });
});

export interface TeamSpec {
  name: string;
  members: string[];
  teamFolder: string | { cluster: string };
  backend?: Record<string, unknown>;
  trainer?: Record<string, unknown>;
  ranges?: Record<string, unknown>;
  grid?: Record<string, Array<number | string | boolean>>;
  samples?: number;
  maxConcurrent?: number;
  preRun?: string;
}
export interface CourseSpec {
  course: string;
  secret?: string;
  notebooks?: string[];
  defaults?: Omit<TeamSpec, "name" | "members" | "teamFolder">;
  teams: TeamSpec[];
}

export class CourseError extends Error {
  constructor(readonly issues: string[], where: string) {
    super(`invalid course file ${where}:\n  ${issues.join("\n  ")}`);
    this.name = "CourseError";
  }
}

function pathString(p: readonly PropertyKey[]): string {
  let s = "";
  for (const k of p) s += typeof k === "number" ? `[${k}]` : s ? `.${String(k)}` : String(k);
  return s || "(root)";
}

export function parseCourse(input: unknown, where = "course.json"): CourseSpec {
  const r = courseSchema.safeParse(input);
  if (!r.success) throw new CourseError(r.error.issues.map((i) => `${pathString(i.path)}: ${i.message}`), where);
  return r.data as CourseSpec;
}

export function readCourse(file: string): CourseSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new CourseError([`cannot read JSON: ${(e as Error).message}`], file);
  }
  return parseCourse(raw, file);
}

// ---------------------------------------------------------------- the settings cell

/** What the settings cell of every notebook holds. */
export interface NotebookSettings {
  team: string;
  member: string;
  teamFolder: string | { cluster: string };
  backend: Record<string, unknown>;
  trainer: Record<string, unknown>;
  ranges: Record<string, unknown>;
  grid: Record<string, Array<number | string | boolean>>;
  samples: number;
  maxConcurrent: number;
  preRun: string | null;
}

/**
 * The embedded default: the local backend with the small trainer. Two local
 * "GPU slots" make the local backend count GPU time like a cluster would
 * (on a CPU-only machine the trainer just ignores CUDA_VISIBLE_DEVICES), so
 * the GPU-minute arithmetic of the comparison has something to compare.
 */
export const DEFAULT_SETTINGS: NotebookSettings = {
  team: "demo-team",
  member: "me",
  teamFolder: "team-folder",
  backend: { kind: "local", gpus: [0, 1] },
  // the small model's values match data/curves/small-cpu.csv, so the replay backend can answer them
  trainer: { model: "small", epochs: 4, gpusPerTrial: 1, options: { tokens_per_epoch: 12288, threads: 1 } },
  ranges: { lr: { loguniform: [2.2e-4, 1e-2] }, batch_size: { choice: [16, 32] }, weight_decay: { choice: [0, 0.1] } },
  grid: { lr: [4.6e-4, 2.2e-3, 1e-2], batch_size: [16, 32], weight_decay: [0, 0.1] },
  samples: 8,
  maxConcurrent: 2,
  preRun: null,
};

export const SETTINGS_TAG = "settings";
export const SOLUTION_TAG = "solution";
export const QUIZ_TAG = "quiz";

export function settingsCellSource(s: NotebookSettings): string {
  return [
    "// Team settings: the only cell you edit. `tunelab notebooks build` prefills it for your team.",
    "// teamFolder: a local path, or {\"cluster\": \"/path/on/cluster\"} with a slurm backend.",
    "// backend: {\"kind\": \"local\"} (this machine), {\"kind\": \"slurm\", \"host\": ..., \"remoteDir\": ...}, or {\"kind\": \"replay\", \"curves\": \"../data/curves/<file>.csv\"}.",
    `const settings: any = {\n${Object.entries(s).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(",\n")}\n};`,
    "// Tests and CI switch the backend or the team folder without editing this cell:",
    "if (process.env.TUNELAB_BACKEND) settings.backend = JSON.parse(process.env.TUNELAB_BACKEND);",
    "if (process.env.TUNELAB_TEAM_FOLDER) settings.teamFolder = /^\\s*\\{/.test(process.env.TUNELAB_TEAM_FOLDER) ? JSON.parse(process.env.TUNELAB_TEAM_FOLDER) : process.env.TUNELAB_TEAM_FOLDER;",
    "if (process.env.TUNELAB_TRAINER) settings.trainer = { ...settings.trainer, ...JSON.parse(process.env.TUNELAB_TRAINER) };",
    "console.log(`team ${settings.team}, member ${settings.member}, backend ${settings.backend.kind}, team folder ${JSON.stringify(settings.teamFolder)}`);",
  ].join("\n");
}

export function settingsFor(course: CourseSpec, team: TeamSpec, member: string): NotebookSettings {
  const d = course.defaults ?? {};
  const pick = <K extends keyof NotebookSettings>(k: K): NotebookSettings[K] =>
    ((team as any)[k] ?? (d as any)[k] ?? DEFAULT_SETTINGS[k]) as NotebookSettings[K];
  return {
    team: team.name,
    member,
    teamFolder: team.teamFolder,
    backend: pick("backend"),
    trainer: pick("trainer"),
    ranges: pick("ranges"),
    grid: pick("grid"),
    samples: pick("samples"),
    maxConcurrent: pick("maxConcurrent"),
    preRun: pick("preRun") ?? null,
  };
}

// ---------------------------------------------------------------- notebooks

export interface Cell {
  cell_type: "code" | "markdown" | "raw";
  id?: string;
  source: string | string[];
  metadata: Record<string, any>;
  outputs?: unknown[];
  execution_count?: number | null;
  attachments?: unknown;
}
export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, any>;
  cells: Cell[];
}

export const KERNELSPEC = { name: "tunelab", display_name: "TypeScript (tunelab)", language: "typescript" };

export function cellText(c: Cell): string {
  return Array.isArray(c.source) ? c.source.join("") : c.source;
}
export function cellTags(c: Cell): string[] {
  const t = c.metadata?.tags;
  return Array.isArray(t) ? t : [];
}

/** Quiz questions as written in a `quiz`-tagged cell: `quiz([...JSON...]);` */
export type QuizItem = QuizQuestion;

const QUIZ_RE = /^(?<pre>[\s\S]*?\bquiz\()(?<json>\[[\s\S]*\])(?<post>\)[;\s]*)$/;

export function parseQuizCell(src: string): { pre: string; items: QuizItem[]; post: string } {
  const m = QUIZ_RE.exec(src.trim());
  if (!m?.groups) throw new Error("a cell tagged `quiz` must be `quiz([ ...JSON... ]);`");
  return { pre: m.groups.pre, items: JSON.parse(m.groups.json), post: m.groups.post };
}

export function quizCellSource(items: QuizItem[], pre = "quiz(", post = ")"): string {
  return `${pre}${JSON.stringify(items, null, 2)}${post}`;
}

/** sha256 hex of salt + answer text: the same function the Quiz widget checks with. */
export { hashAnswer };

/**
 * Replace each plain answer by answerHash + a salt unique to (team, member,
 * notebook, question), and the explanation (which usually names the answer)
 * by one sealed with the answer: it opens only when the right option is checked.
 */
export function hashQuiz(items: QuizItem[], saltSeed: (i: number) => string): QuizItem[] {
  return items.map((q, i) => {
    if (q.answer === undefined) return q;
    const text = typeof q.answer === "number" ? q.options[q.answer] : q.answer;
    if (typeof text !== "string" || !q.options.includes(text)) throw new Error(`quiz question ${i + 1}: answer ${JSON.stringify(q.answer)} is not one of its options`);
    const salt = saltSeed(i);
    const { answer: _drop, explanation, ...rest } = q;
    return { ...rest, answerHash: hashAnswer(text, salt), salt, ...(explanation ? { explanationSealed: sealExplanation(explanation, text, salt) } : {}) };
  });
}

export interface BuildOptions {
  /** path of course.json, or the parsed course */
  course: string | CourseSpec;
  outDir: string;
  /** where the master notebooks live (default: this package's notebooks/) */
  notebooksDir?: string;
}

export interface BuildResult {
  files: string[];
  teams: Array<{ team: string; members: string[]; dir: string }>;
}

/** notebooks/ next to this package (src/cli → ../../notebooks; dist/src/cli → ../../../notebooks). */
export function defaultNotebooksDir(): string {
  let d = __dirname;
  for (let i = 0; i < 5; i++) {
    const cand = path.join(d, "notebooks");
    if (fs.existsSync(path.join(cand, "00-setup.ipynb"))) return cand;
    d = path.dirname(d);
  }
  throw new Error("cannot find the workshop notebooks (notebooks/00-setup.ipynb) next to the tunelab package");
}

/** One distributed copy of `nb`. */
export function distributeNotebook(nb: Notebook, settings: NotebookSettings, saltSeed: (cellIndex: number, q: number) => string): Notebook {
  if (nb.nbformat !== 4) throw new Error(`expected nbformat 4, got ${nb.nbformat}`);
  let sawSettings = false;
  const cells: Cell[] = [];
  nb.cells.forEach((c, idx) => {
    const tags = cellTags(c);
    if (tags.includes(SOLUTION_TAG)) return;
    const out: Cell = { ...c, metadata: { ...c.metadata } };
    delete out.metadata.execution;
    delete out.metadata.collapsed;
    delete out.metadata.scrolled;
    if (c.cell_type === "code") {
      out.outputs = [];
      out.execution_count = null;
    }
    if (tags.includes(SETTINGS_TAG)) {
      out.source = settingsCellSource(settings);
      sawSettings = true;
    }
    if (tags.includes(QUIZ_TAG)) {
      const q = parseQuizCell(cellText(c));
      out.source = quizCellSource(hashQuiz(q.items, (i) => saltSeed(idx, i)), q.pre, q.post);
    }
    cells.push(out);
  });
  if (!sawSettings && nb.cells.some((c) => c.cell_type === "code")) throw new Error("notebook has no cell tagged `settings`");
  const metadata: Record<string, any> = { ...nb.metadata, kernelspec: { ...KERNELSPEC } };
  delete metadata.widgets;
  return { ...nb, metadata, cells };
}

/**
 * Build per-team, per-member copies: OUT/<team>/<member>/<notebook>.ipynb,
 * plus OUT/<team>/README.md naming the team folder. Returns the files written.
 */
export function buildNotebooks(opts: BuildOptions): BuildResult;
export function buildNotebooks(coursePath: string, outDir: string): BuildResult;
export function buildNotebooks(a: BuildOptions | string, outDir?: string): BuildResult {
  const opts: BuildOptions = typeof a === "string" ? { course: a, outDir: outDir ?? "" } : a;
  if (!opts.outDir) throw new Error("buildNotebooks: outDir is required");
  const course = typeof opts.course === "string" ? readCourse(opts.course) : parseCourse(opts.course, "course");
  const srcDir = opts.notebooksDir ?? defaultNotebooksDir();
  const names = course.notebooks ?? fs.readdirSync(srcDir).filter((f) => /^\d\d-.*\.ipynb$/.test(f)).sort();
  const masters = names.map((n) => {
    const p = path.join(srcDir, n);
    if (!fs.existsSync(p)) throw new CourseError([`notebooks: ${n} does not exist in ${srcDir}`], "course");
    return [n, JSON.parse(fs.readFileSync(p, "utf8")) as Notebook] as const;
  });
  const secret = course.secret ?? randomBytes(16).toString("hex");
  const files: string[] = [];
  const teams: BuildResult["teams"] = [];
  for (const team of course.teams) {
    const teamDir = path.join(opts.outDir, team.name);
    for (const member of team.members) {
      const dir = path.join(teamDir, member);
      fs.mkdirSync(dir, { recursive: true });
      const settings = settingsFor(course, team, member);
      for (const [n, nb] of masters) {
        const salt = (cell: number, q: number) =>
          createHmac("sha256", secret).update(`${team.name}/${member}/${n}/${cell}/${q}`).digest("hex").slice(0, 16);
        const copy = distributeNotebook(nb, settings, salt);
        const f = path.join(dir, n);
        fs.writeFileSync(f, JSON.stringify(copy, null, 1) + "\n");
        files.push(f);
      }
    }
    const folder = typeof team.teamFolder === "string" ? team.teamFolder : `${team.teamFolder.cluster} (on the cluster)`;
    const readme = path.join(teamDir, "README.md");
    fs.writeFileSync(readme, `# ${course.course}: team ${team.name}\n\nMembers: ${team.members.join(", ")}.\nEach member opens the notebooks in their own folder; every notebook saves its comparison row to the team folder \`${folder}\`, and 05-comparison merges them.\n`);
    files.push(readme);
    teams.push({ team: team.name, members: [...team.members], dir: teamDir });
  }
  return { files, teams };
}
