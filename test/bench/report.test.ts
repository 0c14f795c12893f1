import { test } from "node:test";
import * as assert from "node:assert/strict";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { build, replaceSections, parse } = require("../../bench/report.js") as {
  build(h: string, s: { file: string; text: string }[]): string;
  replaceSections(e: string, h: string, s: { file: string; text: string }[]): string;
  parse(r: string): { kind: string; file?: string; text: string }[];
};

const FULL =
  "# tunelab benchmark report\n\n- date: D1\n\n" +
  "<!-- bench:a.ts begin -->\n## A\n\nold a\n<!-- bench:a.ts end -->\n\n" +
  "<!-- bench:schedulers.ts begin -->\n## Schedulers\n\nold table\n\n**Verdict: old.**\n<!-- bench:schedulers.ts end -->\n\n" +
  "<!-- bench:slurm.ts begin -->\n## SLURM\n\nold slurm\n<!-- bench:slurm.ts end -->\n";

test("a full run writes the header and every section between markers, in order", () => {
  assert.equal(
    build("# tunelab benchmark report\n\n- date: D1\n", [
      { file: "a.ts", text: "## A\n\nold a\n" },
      { file: "schedulers.ts", text: "\n## Schedulers\n\nold table\n\n**Verdict: old.**\n\n" },
      { file: "slurm.ts", text: "## SLURM\n\nold slurm" },
    ]),
    FULL,
  );
});

test("replacing one section keeps the header and every other section byte for byte", () => {
  const out = replaceSections(FULL, "# tunelab benchmark report\n\n- date: D2\n", [{ file: "schedulers.ts", text: "## Schedulers\n\nnew table\n\n**Verdict: new.**\n" }]);
  assert.equal(
    out,
    "# tunelab benchmark report\n\n- date: D1\n\n" +
      "<!-- bench:a.ts begin -->\n## A\n\nold a\n<!-- bench:a.ts end -->\n\n" +
      "<!-- bench:schedulers.ts begin -->\n## Schedulers\n\nnew table\n\n**Verdict: new.**\n<!-- bench:schedulers.ts end -->\n\n" +
      "<!-- bench:slurm.ts begin -->\n## SLURM\n\nold slurm\n<!-- bench:slurm.ts end -->\n",
  );
  // and again: idempotent
  assert.equal(replaceSections(out, "ignored", [{ file: "schedulers.ts", text: "## Schedulers\n\nnew table\n\n**Verdict: new.**\n" }]), out);
});

test("a section not yet in the report goes where a full run would put it; text outside markers is kept", () => {
  const withNote = FULL.replace("\n<!-- bench:slurm.ts", "\nHand note.\n\n<!-- bench:slurm.ts");
  assert.equal(
    replaceSections(withNote, "h", [{ file: "m.ts", text: "## M\n\nm" }, { file: "z.ts", text: "## Z" }]),
    "# tunelab benchmark report\n\n- date: D1\n\n" +
      "<!-- bench:a.ts begin -->\n## A\n\nold a\n<!-- bench:a.ts end -->\n\n" +
      "<!-- bench:m.ts begin -->\n## M\n\nm\n<!-- bench:m.ts end -->\n\n" +
      "<!-- bench:schedulers.ts begin -->\n## Schedulers\n\nold table\n\n**Verdict: old.**\n<!-- bench:schedulers.ts end -->\n\n" +
      "Hand note.\n\n" +
      "<!-- bench:slurm.ts begin -->\n## SLURM\n\nold slurm\n<!-- bench:slurm.ts end -->\n\n" +
      "<!-- bench:z.ts begin -->\n## Z\n<!-- bench:z.ts end -->\n",
  );
  assert.equal(replaceSections("", "# H\n", [{ file: "a.ts", text: "## A" }]), "# H\n\n<!-- bench:a.ts begin -->\n## A\n<!-- bench:a.ts end -->\n");
});

test("broken markers are errors that name the section", () => {
  assert.throws(() => parse("<!-- bench:a.ts begin -->\nx\n"), /section a\.ts has no end marker "<!-- bench:a\.ts end -->"/);
  assert.throws(() => parse("x\n<!-- bench:a.ts end -->\n"), /marker "<!-- bench:a\.ts end -->" without its begin marker/);
  assert.throws(() => parse("<!-- bench:a.ts begin -->\n<!-- bench:b.ts begin -->\n"), /inside the open section of a\.ts/);
  const twice = "<!-- bench:a.ts begin -->\n<!-- bench:a.ts end -->\n<!-- bench:a.ts begin -->\n<!-- bench:a.ts end -->\n";
  assert.throws(() => replaceSections(twice, "h", []), /section a\.ts appears twice/);
});
