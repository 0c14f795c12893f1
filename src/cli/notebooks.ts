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
import { getKernelBridge } from "../../widgets/kernel-bridge";
import { ConfigError, parseExperiment } from "../config/schema";
import type { BackendSpec, ExperimentInput, SpaceSpec, TrainerSpec } from "../config/types";

/** A backend as a user writes it (fields optional until validated). */
export type BackendInput = NonNullable<ExperimentInput["backend"]>;

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
 * The embedded default: the local backend with the small trainer, which
 * trains on the CPU (src/trainer/small_lm.py never moves to CUDA). No GPU
 * ids: the run is accounted in CPU slots (maxConcurrent) and CPU-minutes
 * (results/device.ts), and the settings cell does not suggest GPUs the
 * machine may not have. A GPU model adds `gpus` to the backend.
 */
export const DEFAULT_SETTINGS: NotebookSettings = {
  team: "demo-team",
  member: "me",
  teamFolder: "team-folder",
  backend: { kind: "local" },
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

/**
 * The settings cell: a literal object handed to `workshopSettings`, which
 * applies the environment overrides (TUNELAB_BACKEND, TUNELAB_TEAM_FOLDER,
 * TUNELAB_TRAINER) and validates them, so the cell holds no parsing code.
 */
export function settingsCellSource(s: NotebookSettings): string {
  return [
    "// Team settings: the only cell you edit. `tunelab notebooks build` prefills it for your team.",
    "// teamFolder: a local path, or {\"cluster\": \"/path/on/cluster\"} with a slurm backend.",
    "// backend: {\"kind\": \"local\"} (this machine), {\"kind\": \"slurm\", \"host\": ..., \"remoteDir\": ...}, or {\"kind\": \"replay\", \"curves\": \"../data/curves/<file>.csv\"}.",
    "// The environment may override backend, team folder and trainer (npm run workshop sets TUNELAB_BACKEND=local).",
    "import { workshopSettings } from \"tunelab\";",
    `const settings = workshopSettings({\n${Object.entries(s).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(",\n")}\n});`,
    "console.log(`team ${settings.team}, member ${settings.member}, backend ${settings.backend.kind}, team folder ${JSON.stringify(settings.teamFolder)}`);",
  ].join("\n");
}

// ---------------------------------------------------------------- 00-setup's kernel check

/** What 00-setup says about the kernel and the widgets. */
export interface KernelInfo {
  node: string;
  platform: string;
  /** "<implementation> <version>" of the tunelab kernel, or null in another kernel */
  kernel: string | null;
  /** one sentence on where widgets render */
  widgets: string;
}

/**
 * The kernel this cell runs in, and what to expect of widgets. The kernel
 * cannot see which front-end draws its output, so it says where widgets
 * render rather than claiming they do.
 */
export function kernelInfo(): KernelInfo {
  const bridge = getKernelBridge();
  return {
    node: process.version,
    platform: process.platform,
    kernel: bridge ? `${bridge.info.implementation} ${bridge.info.version}` : null,
    widgets: bridge
      ? "widgets render in JupyterLab 4 / Notebook 7 (with jupyterlab_widgets and anywidget); classic Notebook 6 shows pictures instead"
      : "not the tunelab kernel: no widgets, outputs fall back to pictures",
  };
}

// ---------------------------------------------------------------- environment overrides

/** The backend kinds TUNELAB_BACKEND accepts as a bare word. */
export const BACKEND_KINDS: readonly BackendSpec["kind"][] = ["local", "slurm", "replay"];

/** A bad TUNELAB_* value (or settings object): the message names the variable, the value and what is accepted. */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SettingsError";
  }
}

const BACKEND_ACCEPTED = `expected a backend kind (${BACKEND_KINDS.join(", ")}) or a JSON object such as {"kind":"replay","curves":"data/curves/small-cpu.csv"}`;

/** The package's shipped file `rel` (data/...), found next to this module in src/ or dist/src/. */
function packageFile(rel: string): string {
  let d = __dirname;
  for (let i = 0; i < 6; i++) {
    const cand = path.join(d, rel);
    if (fs.existsSync(cand)) return cand;
    d = path.dirname(d);
  }
  throw new Error(`${rel} not found next to the tunelab package`);
}

/** The recorded curves a bare TUNELAB_BACKEND=replay replays: the small model's, shipped with tunelab. */
export function defaultReplayCurves(): string {
  return packageFile(path.join("data", "curves", "small-cpu.csv"));
}

/**
 * The backend named by TUNELAB_BACKEND (or any such string): either a bare
 * kind — `local`, `replay`, `slurm` — or a JSON object with a `kind`.
 * A bare kind equal to `current`'s kind keeps `current`'s options (so
 * `local` keeps the cell's GPU slots); a bare `replay` replays the shipped
 * small-model curves; a bare `slurm` needs a slurm `current` (the cluster's
 * address cannot be guessed). The result is validated as an experiment's
 * backend. Throws SettingsError naming `variable`, the value and what is accepted.
 */
export function parseBackendEnv(value: string, current?: BackendInput, variable = "TUNELAB_BACKEND"): BackendSpec {
  const v = value.trim();
  const shown = JSON.stringify(value);
  let backend: Record<string, unknown>;
  if (v.startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch (e) {
      throw new SettingsError(`${variable}: got ${shown}, which is not valid JSON (${(e as Error).message}); ${BACKEND_ACCEPTED}`);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new SettingsError(`${variable}: got ${shown}; ${BACKEND_ACCEPTED}`);
    backend = parsed as Record<string, unknown>;
    if (!BACKEND_KINDS.includes(backend.kind as BackendSpec["kind"])) {
      throw new SettingsError(`${variable}: got kind ${JSON.stringify(backend.kind ?? null)} in ${shown}; expected "kind" to be one of ${BACKEND_KINDS.join(", ")}`);
    }
  } else if (BACKEND_KINDS.includes(v as BackendSpec["kind"])) {
    if (current && current.kind === v) backend = { ...current };
    else if (v === "replay") backend = { kind: "replay", curves: defaultReplayCurves() };
    else if (v === "slurm") throw new SettingsError(`${variable}: got ${shown}, but the settings' backend is ${JSON.stringify(current?.kind ?? null)}: a slurm backend needs at least remoteDir (and host, unless sbatch runs here); give it as a JSON object, e.g. {"kind":"slurm","host":"login.example.org","remoteDir":"/scratch/me/tunelab"}`);
    else backend = { kind: v };
  } else {
    throw new SettingsError(`${variable}: got ${shown}; ${BACKEND_ACCEPTED}`);
  }
  return validateBackend(backend, `${variable}=${shown}`);
}

/** `backend` checked with the experiment schema (defaults filled); errors say where it came from. */
function validateBackend(backend: Record<string, unknown>, where: string): BackendSpec {
  try {
    return parseExperiment({ name: "settings", space: { x: { choice: [0] } }, backend }).backend;
  } catch (e) {
    if (e instanceof ConfigError) throw new SettingsError(`${where}: invalid backend:\n  ${e.issues.join("\n  ")}`);
    throw e;
  }
}

/** TUNELAB_TEAM_FOLDER: a path, or a JSON object {"cluster": "/path"}. */
export function parseTeamFolderEnv(value: string, variable = "TUNELAB_TEAM_FOLDER"): string | { cluster: string } {
  const v = value.trim();
  if (!v) throw new SettingsError(`${variable}: got ""; expected a folder path or a JSON object {"cluster": "/path/on/cluster"}`);
  if (!v.startsWith("{")) return v;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch (e) {
    throw new SettingsError(`${variable}: got ${JSON.stringify(value)}, which is not valid JSON (${(e as Error).message}); expected a folder path or a JSON object {"cluster": "/path/on/cluster"}`);
  }
  const c = (parsed as { cluster?: unknown } | null)?.cluster;
  if (typeof c !== "string" || !c || Object.keys(parsed as object).length !== 1) {
    throw new SettingsError(`${variable}: got ${JSON.stringify(value)}; expected a folder path or a JSON object {"cluster": "/path/on/cluster"}`);
  }
  return { cluster: c };
}

/** TUNELAB_TRAINER: a JSON object merged over the settings' trainer (e.g. {"epochs": 2}). */
export function parseTrainerEnv(value: string, variable = "TUNELAB_TRAINER"): Partial<TrainerSpec> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (e) {
    throw new SettingsError(`${variable}: got ${JSON.stringify(value)}, which is not valid JSON (${(e as Error).message}); expected a JSON object of trainer fields, e.g. {"epochs": 2}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new SettingsError(`${variable}: got ${JSON.stringify(value)}; expected a JSON object of trainer fields, e.g. {"epochs": 2}`);
  return parsed as Partial<TrainerSpec>;
}

/** What a settings cell writes (the literal object handed to workshopSettings). */
export interface WorkshopSettingsInput {
  team: string;
  member: string;
  teamFolder: string | { cluster: string };
  backend: BackendInput;
  trainer: Partial<TrainerSpec>;
  ranges: SpaceSpec;
  grid: Record<string, Array<number | string | boolean>>;
  samples: number;
  maxConcurrent: number;
  preRun?: string | null;
}

/** The settings every notebook cell uses: the cell's values with the environment's overrides, backend validated. */
export interface WorkshopSettings {
  team: string;
  member: string;
  teamFolder: string | { cluster: string };
  backend: BackendSpec;
  trainer: Partial<TrainerSpec>;
  ranges: SpaceSpec;
  grid: Record<string, Array<number | string | boolean>>;
  samples: number;
  maxConcurrent: number;
  preRun: string | null;
}

/**
 * The settings cell's function: `input` with TUNELAB_BACKEND (bare kind or
 * JSON, parseBackendEnv), TUNELAB_TEAM_FOLDER (path or {"cluster": ...}) and
 * TUNELAB_TRAINER (JSON merged over the trainer) applied from `env`.
 */
export function workshopSettings(input: WorkshopSettingsInput, env: Record<string, string | undefined> = process.env): WorkshopSettings {
  const backend = env.TUNELAB_BACKEND
    ? parseBackendEnv(env.TUNELAB_BACKEND, input.backend)
    : validateBackend(input.backend as Record<string, unknown>, "settings.backend");
  return {
    team: input.team,
    member: input.member,
    teamFolder: env.TUNELAB_TEAM_FOLDER ? parseTeamFolderEnv(env.TUNELAB_TEAM_FOLDER) : input.teamFolder,
    backend,
    trainer: env.TUNELAB_TRAINER ? { ...input.trainer, ...parseTrainerEnv(env.TUNELAB_TRAINER) } : { ...input.trainer },
    ranges: input.ranges,
    grid: input.grid,
    samples: input.samples,
    maxConcurrent: input.maxConcurrent,
    preRun: input.preRun ?? null,
  };
}

/**
 * The seed of one member's run of one method: FNV-1a (32 bit) of
 * "team/member/method", so teammates' rows are not copies of each other and
 * a member's rerun repeats itself.
 */
export function memberSeed(who: { team: string; member: string }, method: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(`${who.team}/${who.member}/${method}`, "utf8")) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The experiment name of a member's run of a method: team-member-method, safe for run directories. */
export function memberRunName(who: { team: string; member: string }, method: string): string {
  return `${who.team}-${who.member}-${method}`.replace(/[^A-Za-z0-9_-]/g, "_");
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
      // the copy's settings cell must run: check its backend now, with the course's field path
      try {
        workshopSettings(settings as unknown as WorkshopSettingsInput, {});
      } catch (e) {
        if (!(e instanceof SettingsError)) throw e;
        const where = team.backend ? `teams[${course.teams.indexOf(team)}].backend` : "defaults.backend";
        throw new CourseError([`${where}: ${e.message.replace(/^settings\.backend: /, "")}`], typeof opts.course === "string" ? opts.course : "course");
      }
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
