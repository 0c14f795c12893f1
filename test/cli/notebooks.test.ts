import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import {
  buildNotebooks, parseCourse, readCourse, hashAnswer, parseQuizCell, cellTags, cellText, CourseError,
  parseBackendEnv, parseTeamFolderEnv, parseTrainerEnv, workshopSettings, memberSeed, memberRunName, defaultReplayCurves,
  settingsCellSource, DEFAULT_SETTINGS, SettingsError, type Notebook, type WorkshopSettingsInput,
} from "../../src/cli/notebooks";
import { checkAnswer, openExplanation } from "../../widgets/quiz";

const root = path.resolve(__dirname, "../..");
const example = path.join(root, "notebooks/course.example.json");

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-build-"));
}
function validateWithNbformat(files: string[]): void {
  const r = spawnSync("/usr/bin/python3", ["-c", "import sys, nbformat\nfor f in sys.argv[1:]:\n  nbformat.validate(nbformat.read(f, as_version=4))\nprint('ok', len(sys.argv) - 1)", ...files], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), `ok ${files.length}`);
}

test("the master notebooks are valid nbformat 4 with the tunelab kernelspec, one settings cell and ≥5 quiz questions per method", () => {
  const files = fs.readdirSync(path.join(root, "notebooks")).filter((f) => f.endsWith(".ipynb")).sort();
  assert.deepEqual(files, ["00-setup.ipynb", "01-manual.ipynb", "02-asha.ipynb", "03-pbt.ipynb", "04-bohb.ipynb", "05-comparison.ipynb"]);
  validateWithNbformat(files.map((f) => path.join(root, "notebooks", f)));
  for (const f of files) {
    const nb: Notebook = JSON.parse(fs.readFileSync(path.join(root, "notebooks", f), "utf8"));
    assert.deepEqual(nb.metadata.kernelspec, { name: "tunelab", display_name: "TypeScript (tunelab)", language: "typescript" }, f);
    assert.equal(nb.cells.filter((c) => cellTags(c).includes("settings")).length, 1, f);
    if (/0[234]-/.test(f)) {
      const quizzes = nb.cells.filter((c) => cellTags(c).includes("quiz")).flatMap((c) => parseQuizCell(cellText(c)).items);
      assert.ok(quizzes.length >= 5, `${f}: ${quizzes.length} questions`);
      for (const q of quizzes) assert.ok(typeof q.answer === "string" && q.options.includes(q.answer) && q.explanation, q.question);
      assert.ok(nb.cells.some((c) => cellTags(c).includes("solution")), `${f} has an instructor cell`);
      assert.match(nb.cells.map(cellText).join("\n"), /folder\.save\(row\)/, `${f} saves its row`);
    }
  }
});

test("the notebooks are what notebooks/generate.ts writes (not edited by hand)", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "notebooks/generate.ts"), "--check"], { encoding: "utf8", cwd: root });
  assert.equal(r.status, 0, r.stderr);
});

test("instructor build round trip: team settings in, solutions out, answers only hashed, outputs cleared, valid nbformat", () => {
  const out = tmp();
  try {
    const res = buildNotebooks({ course: example, outDir: out });
    const course = readCourse(example);
    assert.deepEqual(res.teams.map((t) => [t.team, t.members]), [["team-a", ["ana", "ben"]], ["team-b", ["chen", "dana", "eli"]]]);
    const ipynbs = res.files.filter((f) => f.endsWith(".ipynb"));
    assert.equal(ipynbs.length, 5 * 6);
    validateWithNbformat(ipynbs);
    const masters = new Map(fs.readdirSync(path.join(root, "notebooks")).filter((f) => f.endsWith(".ipynb"))
      .map((f) => [f, JSON.parse(fs.readFileSync(path.join(root, "notebooks", f), "utf8")) as Notebook]));
    for (const f of ipynbs) {
      const [team, member, name] = f.split(path.sep).slice(-3);
      const text = fs.readFileSync(f, "utf8");
      const nb: Notebook = JSON.parse(text);
      const settingsCell = nb.cells.find((c) => cellTags(c).includes("settings"))!;
      const src = cellText(settingsCell);
      assert.match(src, new RegExp(`"team": "${team}"`));
      assert.match(src, new RegExp(`"member": "${member}"`));
      if (team === "team-b") {
        assert.match(src, /"cluster": ?"\/scratch\/hpo-workshop\/team-b"/);
        assert.match(src, /"kind": ?"slurm"/);
        assert.match(src, /"host": ?"login.cluster.example.org"/);
        assert.match(src, /"bigscience\/bloomz-560m"/);
      } else {
        assert.match(src, /"teamFolder": "..\/..\/shared\/team-a"/);
        assert.match(src, /"kind": ?"local"/);
      }
      assert.ok(!nb.cells.some((c) => cellTags(c).includes("solution")), `${f}: solution cell left`);
      assert.ok(!text.includes("Instructor:"), `${f}: instructor text left`);
      assert.ok(!text.includes(course.secret!), `${f}: course secret leaked`);
      for (const c of nb.cells) {
        if (c.cell_type === "code") {
          assert.deepEqual(c.outputs, []);
          assert.equal(c.execution_count, null);
        }
      }
      // quizzes: no plain answers; each hash verifies only the right option (widgets/quiz.ts checkAnswer)
      const master = masters.get(name)!;
      const masterQs = master.cells.filter((c) => cellTags(c).includes("quiz")).flatMap((c) => parseQuizCell(cellText(c)).items);
      const builtQs = nb.cells.filter((c) => cellTags(c).includes("quiz")).flatMap((c) => parseQuizCell(cellText(c)).items);
      assert.equal(builtQs.length, masterQs.length);
      builtQs.forEach((q, i) => {
        assert.equal(q.answer, undefined);
        assert.ok(!text.includes(`"answer":`));
        assert.match(q.answerHash!, /^[0-9a-f]{64}$/);
        assert.equal(q.answerHash, hashAnswer(String(masterQs[i].answer), q.salt!));
        const right = q.options.filter((o) => checkAnswer(q as any, o));
        assert.deepEqual(right, [masterQs[i].answer]);
        // the explanation names the answer: sealed, and only the right option opens it
        assert.equal(q.explanation, undefined);
        assert.ok(!text.includes(String(masterQs[i].explanation).slice(0, 40)), "explanation text not in the copy");
        assert.deepEqual(q.options.map((o) => openExplanation(q.explanationSealed!, o, q.salt!)), q.options.map((o) => (o === masterQs[i].answer ? masterQs[i].explanation : null)));
      });
      // the rest of the code is unchanged
      const codeOf = (n: Notebook) => n.cells.filter((c) => !["settings", "quiz", "solution"].some((t) => cellTags(c).includes(t))).map(cellText);
      assert.deepEqual(codeOf(nb), codeOf(master));
    }
    // salts differ between members: a hash copied from a teammate's notebook does not give the answer away by comparison
    const q = (m: string) => parseQuizCell(cellText(JSON.parse(fs.readFileSync(path.join(out, "team-a", m, "02-asha.ipynb"), "utf8")).cells.find((c: any) => cellTags(c).includes("quiz")))).items[0];
    assert.notEqual(q("ana").salt, q("ben").salt);
    assert.match(fs.readFileSync(path.join(out, "team-a", "README.md"), "utf8"), /team folder `..\/..\/shared\/team-a`/);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test("buildNotebooks(coursePath, outDir) form works too", () => {
  const out = tmp();
  try {
    const r = buildNotebooks(example, out);
    assert.equal(r.files.filter((f) => f.endsWith(".ipynb")).length, 30);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test("course.json errors name the field", () => {
  const base = JSON.parse(fs.readFileSync(example, "utf8"));
  const bad = (mut: (c: any) => void): string => {
    const c = structuredClone(base);
    mut(c);
    try {
      parseCourse(c, "course.json");
    } catch (e) {
      assert.ok(e instanceof CourseError);
      return (e as Error).message;
    }
    assert.fail("accepted an invalid course");
  };
  assert.match(bad((c) => { c.teams[0].name = "../evil"; }), /teams\[0\]\.name: team name/);
  assert.match(bad((c) => { c.teams[1].members[1] = "chen"; }), /teams\[1\]\.members\[1\]: duplicate member "chen"/);
  assert.match(bad((c) => { c.teams[0].teamFolder = { cluster: "/x" }; }), /teams\[0\]\.teamFolder: a team folder on the cluster needs backend.kind "slurm"/);
  assert.match(bad((c) => { c.teams = []; }), /teams: teams: at least one team/);
  assert.match(bad((c) => { c.defaults.backend = { kind: "ray" }; }), /defaults\.backend: backend\.kind: expected/);
  assert.match(bad((c) => { c.teams[0].colour = "red"; }), /teams\[0\]: .*colour/i);
  assert.match(bad((c) => { c.teams[1].ranges.lr = { loguniform: [1] }; }), /teams\[1\]\.ranges\.lr/);
  assert.match(bad((c) => { c.teams.push({ ...c.teams[0] }); }), /teams\[2\]\.name: duplicate team name "team-a"/);
});

// ---------------------------------------------------------------- the settings cell's environment

const ACCEPTED = 'expected a backend kind (local, slurm, replay) or a JSON object such as {"kind":"replay","curves":"data/curves/small-cpu.csv"}';
function settingsError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof SettingsError, String(e));
    return (e as Error).message;
  }
  assert.fail("accepted a bad value");
}

test("TUNELAB_BACKEND: a bare kind (what npm run workshop sets) keeps the settings' options of that kind", () => {
  assert.deepEqual(parseBackendEnv("local", { kind: "local", gpus: [0, 1] }), { kind: "local", gpus: [0, 1] });
  assert.deepEqual(parseBackendEnv(" local\n"), { kind: "local" });
  const slurm = { kind: "slurm" as const, host: "login.example.org", remoteDir: "/scratch/x" };
  assert.deepEqual(parseBackendEnv("local", slurm), { kind: "local" });
  assert.deepEqual(parseBackendEnv("slurm", slurm), slurm);
  assert.deepEqual(parseBackendEnv("replay"), { kind: "replay", curves: path.join(root, "data/curves/small-cpu.csv") });
  assert.equal(defaultReplayCurves(), path.join(root, "data/curves/small-cpu.csv"));
});

test("TUNELAB_BACKEND: a JSON object is validated as a backend", () => {
  assert.deepEqual(parseBackendEnv('{"kind":"replay","curves":"/x.csv","timeScale":0}', { kind: "local" }), { kind: "replay", curves: "/x.csv", timeScale: 0 });
  assert.deepEqual(parseBackendEnv('  {"kind": "local", "maxConcurrent": 3}'), { kind: "local", maxConcurrent: 3 });
});

test("TUNELAB_BACKEND: bad values name the variable, the value and what is accepted (exact messages)", () => {
  assert.equal(settingsError(() => parseBackendEnv("lokal")), `TUNELAB_BACKEND: got "lokal"; ${ACCEPTED}`);
  assert.equal(settingsError(() => parseBackendEnv("")), `TUNELAB_BACKEND: got ""; ${ACCEPTED}`);
  assert.equal(settingsError(() => parseBackendEnv("{kind:local}")), `TUNELAB_BACKEND: got "{kind:local}", which is not valid JSON (Expected property name or '}' in JSON at position 1); ${ACCEPTED}`);
  assert.equal(settingsError(() => parseBackendEnv('["local"]')), `TUNELAB_BACKEND: got "[\\"local\\"]"; ${ACCEPTED}`);
  assert.equal(settingsError(() => parseBackendEnv('{"kind":"ray"}')), 'TUNELAB_BACKEND: got kind "ray" in "{\\"kind\\":\\"ray\\"}"; expected "kind" to be one of local, slurm, replay');
  assert.equal(settingsError(() => parseBackendEnv('{"curves":"x.csv"}')), 'TUNELAB_BACKEND: got kind null in "{\\"curves\\":\\"x.csv\\"}"; expected "kind" to be one of local, slurm, replay');
  assert.equal(settingsError(() => parseBackendEnv('{"kind":"replay"}')), 'TUNELAB_BACKEND="{\\"kind\\":\\"replay\\"}": invalid backend:\n  backend.curves: missing; expected a string');
  assert.equal(settingsError(() => parseBackendEnv('{"kind":"local","gpu":[0]}')), 'TUNELAB_BACKEND="{\\"kind\\":\\"local\\",\\"gpu\\":[0]}": invalid backend:\n  backend.gpu: unknown key; accepted keys: kind, maxConcurrent, gpus, slotsPerGpu, reuseProcesses');
  assert.equal(settingsError(() => parseBackendEnv("slurm", { kind: "local" })), 'TUNELAB_BACKEND: got "slurm", but the settings\' backend is "local": a slurm backend needs at least remoteDir (and host, unless sbatch runs here); give it as a JSON object, e.g. {"kind":"slurm","host":"login.example.org","remoteDir":"/scratch/me/tunelab"}');
});

test("TUNELAB_TEAM_FOLDER and TUNELAB_TRAINER: accepted forms and exact errors", () => {
  assert.equal(parseTeamFolderEnv("/srv/team-a"), "/srv/team-a");
  assert.deepEqual(parseTeamFolderEnv('{"cluster": "/scratch/t"}'), { cluster: "/scratch/t" });
  assert.equal(settingsError(() => parseTeamFolderEnv('{"cluster": 3}')), 'TUNELAB_TEAM_FOLDER: got "{\\"cluster\\": 3}"; expected a folder path or a JSON object {"cluster": "/path/on/cluster"}');
  assert.equal(settingsError(() => parseTeamFolderEnv("  ")), 'TUNELAB_TEAM_FOLDER: got ""; expected a folder path or a JSON object {"cluster": "/path/on/cluster"}');
  assert.deepEqual(parseTrainerEnv('{"epochs": 2}'), { epochs: 2 });
  assert.equal(settingsError(() => parseTrainerEnv("2")), 'TUNELAB_TRAINER: got "2"; expected a JSON object of trainer fields, e.g. {"epochs": 2}');
});

test("workshopSettings: the environment overrides backend, team folder and trainer; without it the cell's backend is validated", () => {
  const input = DEFAULT_SETTINGS as unknown as WorkshopSettingsInput;
  assert.deepEqual(workshopSettings(input, {}), { ...DEFAULT_SETTINGS, trainer: { ...DEFAULT_SETTINGS.trainer } });
  const s = workshopSettings(input, { TUNELAB_BACKEND: "local", TUNELAB_TEAM_FOLDER: "/srv/t", TUNELAB_TRAINER: '{"epochs": 2}' });
  assert.deepEqual(s.backend, DEFAULT_SETTINGS.backend);
  assert.equal(s.teamFolder, "/srv/t");
  assert.deepEqual(s.trainer, { ...DEFAULT_SETTINGS.trainer, epochs: 2 });
  assert.equal(settingsError(() => workshopSettings({ ...input, backend: { kind: "local", gpus: [-1] } }, {})), "settings.backend: invalid backend:\n  backend.gpus[0]: got -1; must be >= 0");
});

test("memberSeed: one 32-bit seed per team, member and method; stable", () => {
  assert.equal(memberSeed({ team: "demo-team", member: "me" }, "asha"), memberSeed({ team: "demo-team", member: "me" }, "asha"));
  const seeds = new Set<number>();
  for (const team of ["team-a", "team-b"]) for (const member of ["ana", "ben", "chen"]) for (const m of ["manual", "asha", "pbt", "bohb"]) seeds.add(memberSeed({ team, member }, m));
  assert.equal(seeds.size, 24);
  for (const x of seeds) assert.ok(Number.isInteger(x) && x >= 0 && x <= 0xffffffff);
  // FNV-1a 32 of "a/b/c", computed independently (Python): the seed is specified, not any hash
  assert.equal(memberSeed({ team: "a", member: "b" }, "c"), 0x477dfb6b);
  assert.equal(memberRunName({ team: "team a", member: "zoë" }, "asha"), "team_a-zo_-asha");
});

/** The literal object of a settings cell (rendered JSON, one key per line). */
function cellSettings(src: string): any {
  const m = /workshopSettings\((\{[\s\S]*?\n\})\);/.exec(src);
  assert.ok(m, src);
  return JSON.parse(m[1]);
}

test("tunelab notebooks build: each member's settings cell is filled, and the notebooks seed every experiment per member", () => {
  const out = tmp();
  try {
    buildNotebooks({ course: example, outDir: out });
    const course = readCourse(example);
    const seedsOf = new Map<string, number[]>();
    for (const team of course.teams) for (const member of team.members) {
      for (const name of ["01-manual", "02-asha", "03-pbt", "04-bohb"]) {
        const nb: Notebook = JSON.parse(fs.readFileSync(path.join(out, team.name, member, `${name}.ipynb`), "utf8"));
        const settings = cellSettings(cellText(nb.cells.find((c) => cellTags(c).includes("settings"))!));
        assert.equal(settings.team, team.name);
        assert.equal(settings.member, member);
        assert.deepEqual(settings.teamFolder, team.teamFolder);
        assert.deepEqual(settings.backend, team.backend ?? course.defaults!.backend);
        assert.equal(settings.samples, team.samples ?? course.defaults!.samples);
        // the settings validate as they stand (the cell would run)
        workshopSettings(settings, {});
        const method = name.slice(3);
        const code = nb.cells.map(cellText).join("\n");
        assert.ok(code.includes(`const seed = memberSeed(settings, "${method}");`), `${name} derives its seed from the member`);
        assert.match(code, /seed: seed,/);
        assert.doesNotMatch(code, /seed: \d/, `${name}: no typed seed`);
        seedsOf.set(`${team.name}/${member}/${method}`, [memberSeed(settings, method)]);
      }
    }
    const all = [...seedsOf.values()].flat();
    assert.equal(new Set(all).size, all.length, "no two members (or methods) share a seed");
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test("the settings cell holds no parsing code: it hands a literal to workshopSettings", () => {
  const src = settingsCellSource(DEFAULT_SETTINGS);
  assert.doesNotMatch(src, /JSON\.parse|process\.env|as any|: any/);
  assert.deepEqual(cellSettings(src), JSON.parse(JSON.stringify(DEFAULT_SETTINGS)));
});

test("student-facing cells: no `as any`, no private global symbols, no shelling out, no trailing run cells", () => {
  for (const f of fs.readdirSync(path.join(root, "notebooks")).filter((x) => x.endsWith(".ipynb"))) {
    const nb: Notebook = JSON.parse(fs.readFileSync(path.join(root, "notebooks", f), "utf8"));
    for (const c of nb.cells.filter((x) => x.cell_type === "code")) {
      const src = cellText(c);
      assert.doesNotMatch(src, /as any|Symbol\.for|globalThis|execFileSync|child_process|mkdtemp/, `${f}: ${src.slice(0, 80)}`);
    }
    const last = nb.cells.filter((x) => x.cell_type === "code").pop()!;
    assert.doesNotMatch(cellText(last), /^await exp\.run\(\);\s*console\.log\("done"\);?$/, f);
  }
});

test("tunelab notebooks build refuses a team backend the settings cell could not run, naming the course field", () => {
  const course = JSON.parse(fs.readFileSync(example, "utf8"));
  course.teams[1].backend.partiton = "gpu";
  const out = tmp();
  try {
    assert.throws(() => buildNotebooks({ course, outDir: out }), (e: unknown) => {
      assert.ok(e instanceof CourseError);
      assert.equal((e as Error).message, "invalid course file course:\n  teams[1].backend: invalid backend:\n  backend.partiton: unknown key; accepted keys: kind, host, port, user, identityFile, hostKey, knownHosts, jump, partition, account, qos, reservation, time, cpusPerTrial, memPerTrial, constraint, remoteDir, setup, accounting, pollInterval, signalGrace, python, reuseProcesses");
      return true;
    });
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test("`tunelab notebooks build --course C --out D` (the command): settings filled per member, each member's seeds differ", () => {
  const out = tmp();
  try {
    const r = spawnSync(process.execPath, ["--import", "tsx", "-e", `require(${JSON.stringify(path.join(root, "src/cli/main.ts"))}).main(["notebooks", "build", "--course", ${JSON.stringify(example)}, "--out", ${JSON.stringify(out)}])`], { encoding: "utf8", cwd: root });
    assert.equal(r.status, 0, r.stderr);
    const settingsOf = (team: string, member: string) => cellSettings(cellText((JSON.parse(fs.readFileSync(path.join(out, team, member, "02-asha.ipynb"), "utf8")) as Notebook).cells.find((c) => cellTags(c).includes("settings"))!));
    const ana = settingsOf("team-a", "ana"), ben = settingsOf("team-a", "ben");
    assert.deepEqual([ana.team, ana.member, ben.member], ["team-a", "ana", "ben"]);
    assert.deepEqual({ ...ana, member: "ben" }, ben, "teammates' settings differ only in the member");
    assert.notEqual(memberSeed(ana, "asha"), memberSeed(ben, "asha"));
    assert.equal(fs.readdirSync(path.join(out, "team-b")).sort().join(","), "README.md,chen,dana,eli");
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
