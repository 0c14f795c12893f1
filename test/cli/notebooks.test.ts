import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import {
  buildNotebooks, parseCourse, readCourse, hashAnswer, parseQuizCell, cellTags, cellText, CourseError,
  type Notebook,
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
