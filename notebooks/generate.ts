/**
 * Writes the workshop notebooks (notebooks/*.ipynb) from the cell texts
 * below, so that their prose, code and quizzes are reviewed as one
 * TypeScript file and the .ipynb files stay consistent (ids, tags, metadata).
 *
 *   node --import tsx notebooks/generate.ts          # rewrite the notebooks
 *   node --import tsx notebooks/generate.ts --check  # exit 1 if they are stale
 *
 * Conventions the instructor build relies on (src/cli/notebooks.ts):
 * the settings cell is tagged `settings`, quiz cells `quiz` (`quiz([...JSON...])`),
 * instructor-only cells `solution`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  DEFAULT_SETTINGS, KERNELSPEC, quizCellSource, settingsCellSource,
  type Cell, type Notebook, type QuizItem,
} from "../src/cli/notebooks";
import { methodPlan } from "../src/experiment/describe";
import type { ExperimentInput, MethodSpec, MethodKind } from "../src/config/types";

type CellSpec = { kind: "md" | "code"; text: string; tags?: string[] };
const md = (text: string, tags?: string[]): CellSpec => ({ kind: "md", text: text.trim(), tags });
const code = (text: string, tags?: string[]): CellSpec => ({ kind: "code", text: text.trim(), tags });
const quizCell = (items: QuizItem[]): CellSpec => code(quizCellSource(items), ["quiz"]);
const settingsCell = (): CellSpec => code(settingsCellSource(DEFAULT_SETTINGS), ["settings"]);

/**
 * The method objects of the experiment cells: defined once here, rendered
 * into the cell and used (with the default settings the settings cell
 * renders) for every number a quiz states, so text and run cannot disagree.
 */
type MethodInput = Partial<MethodSpec> & { kind: MethodKind };
const ASHA_METHOD: MethodInput = { kind: "asha", gracePeriod: 1, reductionFactor: 2 };
const PBT_METHOD: MethodInput = { kind: "pbt", perturbationInterval: 1, quantileFraction: 0.25, resampleProbability: 0.25, synch: true };
const BOHB_METHOD: MethodInput = { kind: "bohb", reductionFactor: 3 };
/**
 * BOHB's trial count, as its cell computes it from the settings: its model
 * fits only after 2(d+1) results at one budget (8 for the 3 default
 * hyperparameters), which the default 8 samples never give; twice the
 * samples with η=3 lets the model propose the later trials.
 */
const bohbSamples = (samples: number) => samples * 2;
/** PBT's population, as its cell computes it from the settings. */
const pbtPopulation = (samples: number) => Math.max(4, Math.floor(samples / 2));

/** The experiment a method cell builds with the default settings (the plan of the quizzes). */
function defaultConfig(method: MethodInput, samples = DEFAULT_SETTINGS.samples): ExperimentInput {
  return { name: "generate", space: DEFAULT_SETTINGS.ranges as ExperimentInput["space"], method, samples, trainer: DEFAULT_SETTINGS.trainer as ExperimentInput["trainer"] };
}
const js = (x: unknown) => JSON.stringify(x).replace(/"(\w+)":/g, "$1: ").replace(/,(?=\S)/g, ", ").replace(/^\{/, "{ ").replace(/\}$/, " }");

/** The name and seed every experiment of this member uses: computed from team and member. */
const NAME_CELL = (method: string) => `const runName = memberRunName(settings, "${method}");
const seed = memberSeed(settings, "${method}");
const folder = results.teamFolder(settings.teamFolder, { member: settings.member, backend: settings.backend });
console.log(\`experiment \${runName}, seed \${seed}; backend \${settings.backend.kind}; team folder \${folder.location}\`);`;

/** The imports of a method notebook (the settings cell imported workshopSettings). */
const IMPORTS = `import { experiment, results, quiz, memberRunName, memberSeed, methodPlan, describePlan, planPicture } from "tunelab";`;

/** The plan of the experiment just built, printed (and drawn where there is a picture). */
const PLAN_CELL = `const plan = methodPlan(exp.config);
const gridTrialEpochs = Object.values(settings.grid).reduce((n, values) => n * values.length, 1) * exp.maxT;
console.log(describePlan(plan, { gridTrialEpochs }));`;

const REFUSED_CELL = `// The ranges are validated before anything runs. A refused range, and the reason:
try {
  experiment({ name: "refused-example", space: { lr: { loguniform: [0, 1e-2] } }, method: { kind: "random" } });
} catch (e) {
  console.log(\`\${(e as Error).name}: \${(e as Error).message}\`);
}`;

function nb(cells: CellSpec[], name: string): Notebook {
  const out: Cell[] = cells.map((c, i) => {
    const metadata: Record<string, unknown> = c.tags?.length ? { tags: c.tags } : {};
    const id = `${name.replace(/\W/g, "")}-${String(i).padStart(2, "0")}`;
    return c.kind === "md"
      ? { cell_type: "markdown", id, metadata, source: c.text }
      : { cell_type: "code", id, metadata, source: c.text, outputs: [], execution_count: null };
  });
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { ...KERNELSPEC },
      language_info: { name: "typescript", file_extension: ".ts", mimetype: "text/typescript" },
    },
    cells: out,
  };
}

// ------------------------------------------------------------------ 00-setup
const setup = nb([
  md(`# 00 · Setup: kernel, widgets, cluster, team

This workshop tunes the hyperparameters of a language model four ways: a manual grid (01), ASHA (02), PBT (03) and BOHB (04); 05 compares them as a team. Each notebook runs real training trials, on this machine (the embedded default: a small byte-level transformer on CPU, a few minutes) or on a SLURM cluster.

Run this notebook first. It checks, in order: the TypeScript kernel, the interactive widgets, the cluster (when one is configured), and your team folder.`),
  md(`## Your team's settings

The next cell is the **only** cell you edit, in every notebook. If your instructor handed you these notebooks, it is already filled in for your team: your name, the team folder where everyone's results meet, the backend (local machine or cluster) and the search ranges.`),
  settingsCell(),
  code(`import { results, quiz, kernelInfo, waitForWidgetFrontend, clusterCheck, formatCheckReport } from "tunelab";`),
  md(`## 1. The kernel

You are in the \`tunelab\` kernel if the line below names it. In another TypeScript kernel (stock tslab) the notebooks still compute, but without live widgets.`),
  code(`const k = kernelInfo();
// a JupyterLab 4 / Notebook 7 widget manager announces itself when the page connects; give a slow page 2 s
const w = await waitForWidgetFrontend(2000);
console.log(\`Node \${k.node} on \${k.platform}; \${k.kernel ? \`kernel: \${k.kernel}\` : "not the tunelab kernel"}\`);
console.log(\`interactive widgets here: \${w.description}\`);`),
  md(`## 2. Widgets

Below is a one-question quiz. Widgets are working if it shows **radio buttons and a "check" button** that answers when clicked.

If you only see the question as plain text, your front-end lacks the widget manager (for example the classic Notebook 6 from Debian). Install JupyterLab 4 with the widget and anywidget front-ends, then reopen this notebook in it:

\`\`\`
pip install jupyterlab jupyterlab_widgets anywidget
jupyter lab
\`\`\`

Everything else still works without widgets: live plots fall back to pictures that refresh while an experiment runs.`),
  quizCell([{
    question: "Can you see buttons under this question and get an answer when you click check?",
    options: ["yes, the check button answers", "no, I only see text"],
    answer: "yes, the check button answers",
    explanation: "Widgets work in this front-end.",
  }]),
  md(`## 3. The cluster

With a SLURM backend in the settings, the next cell runs \`tunelab cluster check\`: can we log in, submit a job, and see GPUs. With the local backend there is nothing to check.`),
  code(`if (settings.backend.kind === "slurm") {
  // what \`tunelab cluster check\` does, with this notebook's backend settings
  console.log(formatCheckReport(await clusterCheck(settings.backend)));
} else {
  const os = require("os");
  console.log(\`backend "\${settings.backend.kind}": no cluster to check. This machine: \${os.cpus().length} CPU cores, \${Math.round(os.totalmem() / 2 ** 30)} GiB memory.\`);
}`),
  md(`## 4. The team folder

Every method notebook saves one *comparison row* there (best loss, runtime, device-minutes: GPU-minutes for trials on GPUs, CPU-minutes for trials on the CPU), in a file of its own per member and method, so teammates saving at the same moment never overwrite each other. 05-comparison reads them all.`),
  code(`const folder = results.teamFolder(settings.teamFolder, { member: settings.member, backend: settings.backend });
const { rows, problems } = await folder.read();
console.log(\`team folder \${folder.location}: \${rows.length} row(s) so far\${rows.length ? " from " + [...new Set(rows.map((r) => r.member))].join(", ") : ""}\${problems.length ? \`; unreadable: \${problems.map((p) => p.file).join(", ")}\` : ""}\`);`),
  md(`Next: **01-manual**.`),
], "00-setup");

// ------------------------------------------------------------------ 01-manual
const manual = nb([
  md(`# 01 · The manual grid

The original workshop tried **12 configurations**: learning rate ∈ {1e-5, 2e-4, 5e-6} × batch size ∈ {1, 2} × weight decay ∈ {0, 0.01}, each trained for the full 5 epochs, one after the other. That is the baseline every other method is measured against: its GPU-minutes define a cost ratio of 1 (here, where the small model trains on the CPU, its CPU-minutes do).

Here we run the same kind of grid on your backend, over the \`grid\` values in the settings (the cell below prints how many configurations that makes). On SLURM the trials go in as **one job array**; locally they run \`maxConcurrent\` at a time.`),
  settingsCell(),
  code(`import { experiment, results, memberRunName, memberSeed } from "tunelab";`),
  code(NAME_CELL("manual")),
  code(`const gridSpace = Object.fromEntries(Object.entries(settings.grid).map(([k, values]) => [k, { grid: values }]));
const exp = experiment({
  name: runName,
  metric: "eval_loss",
  mode: "min",
  seed: seed,  // (tslab: no shorthand for variables of other cells)
  space: gridSpace,
  method: { kind: "grid" },
  maxConcurrent: settings.maxConcurrent,
  trainer: settings.trainer,
  backend: settings.backend,
});
console.log(\`\${exp.config.samples} configurations (\${Object.entries(settings.grid).map(([k, v]) => \`\${v.length} \${k}\`).join(" × ")}), \${exp.maxT} epochs each\`);`),
  md(`The live view: one learning curve per configuration, and the trial table (you can cancel a trial from it).`),
  code(`exp.show()`),
  code(`const summary = await exp.run();
console.log(\`finished: \${JSON.stringify(summary.states)}; best \${summary.best ? summary.best.value.toFixed(4) + " with " + results.formatConfig(summary.best.config) : "none"}\`);`),
  md(`Every configuration, best first. Which hyperparameter mattered most? Did weight decay change anything (in the workshop it did not, to 4 decimals)?`),
  code(`results.outcomesTable(exp.history(), "eval_loss")`),
  md(`## The workshop's own logs

On the cluster, the workshop's script printed one line per run, a Python dict:
\`saved: {'tag': 'lr1e-05_bs1_wd0.0', 'lr': 1e-05, 'bs': 1, 'wd': 0.0, 'eval_loss': 9.72, 'runtime_s': 993.66}\`, once per GPU rank, plus \`===== JOB <id> START/FINISH =====\` stamps. \`results.parseManualLog\` reads such logs (drops the duplicate rank lines, reports broken ones) into rows, a DataFrame or CSV. Point \`results.parseManualLogFiles([...])\` at your own \`.out\` files.`),
  code(`const log = [
  "===== JOB 39567495 START: Tue Oct 14 09:00:00 UTC 2025 =====",
  "saved: {'tag': 'lr1e-05_bs1_wd0.0', 'lr': 1e-05, 'bs': 1, 'wd': 0.0, 'eval_loss': 9.720812797546387, 'runtime_s': 993.66}",
  "saved: {'tag': 'lr1e-05_bs1_wd0.0', 'lr': 1e-05, 'bs': 1, 'wd': 0.0, 'eval_loss': 9.720812797546387, 'runtime_s': 993.66}",
  "saved: {'tag': 'lr5e-06_bs1_wd0.0', 'lr': 5e-06, 'bs': 1, 'wd': 0.0, 'eval_loss': 9.334712982177734, 'runtime_s': 1031.78}",
  "===== JOB 39567495 FINISH: Tue Oct 14 11:57:00 UTC 2025 =====",
].join("\\n");
const parsed = results.parseManualLog(log, "example.out");
console.log(\`\${parsed.runs.length} runs (\${parsed.duplicates} duplicate rank lines dropped, \${parsed.skipped.length} unreadable)\`);
console.log(results.manualRunsCsv(parsed.runs));`),
  md(`## Pre-run results

Grids are expensive, so an instructor may run the grid before the session. With \`preRun\` set in the settings, its run directory is loaded instead of re-running. The workshop's published grid ships with tunelab (\`data/reference/\`): 12 runs on 2 V100s, 177 minutes of wall time, **354 GPU-minutes**.`),
  code(`const reference = results.loadReference();
const refRow = results.referenceManualRow();
console.log(results.manualRunsCsv(reference));
// the unit of a row's device time: GPU-minutes, or CPU-minutes for a run on the CPU
const minutesOf = (r: results.ComparisonRow) => \`\${results.rowDeviceMinutes(r).toFixed(1)} \${results.deviceWords(results.rowDevice(r)).unit}\`;
console.log(\`workshop manual grid: best \${results.formatLoss(refRow.bestValue)} with \${results.formatConfig(refRow.bestConfig)}, \${minutesOf(refRow)}\`);
const preRunRow = settings.preRun ? results.loadRunDir(settings.preRun) : null;
if (preRunRow) console.log(\`pre-run grid \${settings.preRun}: best \${results.formatLoss(preRunRow.bestValue)}, \${minutesOf(preRunRow)}\`);`),
  md(`## Save the manual row

For the grid, "runtime to find the best" is the whole grid's wall time: you only know which configuration won once the last one finished.`),
  code(`const row = { ...(preRunRow ?? exp.summaryRow()), method: "manual", runtimeMinutes: preRunRow ? preRunRow.runtimeMinutes : summary.wall_seconds / 60 };
const savedTo = await folder.save(row);
console.log(\`saved to \${savedTo}\`);
results.compare([row])`),
  md(`*Instructor:* expected outcome on the small model: the middle learning rate wins; the largest batch with the smallest lr is clearly worst; weight decay changes little. Discuss why a grid spends most of its budget on configurations that were obviously bad after one epoch (motivation for 02-asha).`, ["solution"]),
], "01-manual");

// ------------------------------------------------------------------ 02-asha
const ashaPlan = methodPlan(defaultConfig(ASHA_METHOD)).asha!;
const ashaMaxT = DEFAULT_SETTINGS.trainer.epochs as number;
/** Wrong answers for the rungs question, computed from the same plan: max_t counted as a rung, the rungs shifted, every epoch. */
const rungOptions = (() => {
  const right = ashaPlan.rungs.join(", ");
  const opts = [[...ashaPlan.rungs, ashaMaxT].join(", "), right, ashaPlan.rungs.map((t) => t * ashaPlan.reductionFactor).join(", "), Array.from({ length: ashaMaxT }, (_, i) => i + 1).join(", ")];
  return { right, options: [...new Set(opts)] };
})();

const asha = nb([
  md(`# 02 · ASHA: stop the losers early

**What ASHA decides:** only *when to stop a trial*. Trials start with sampled configurations and report their loss after every epoch. At fixed checkpoints called **rungs** (the grace period g, then g·η, g·η², … below the full budget max_t, where η is the reduction factor) a trial is compared with every trial that reached the same rung before it: if it is not in the best 1/η of them, it stops there.

**When:** asynchronously, as soon as a trial reaches a rung; nobody waits for a full batch of trials. That keeps every GPU busy, which is why ASHA scales to hundreds of workers.

**When to use it:** the loss after a few epochs predicts the loss at the end reasonably well, and you have more configurations to try than budget to train them all fully.`),
  settingsCell(),
  code(IMPORTS),
  code(NAME_CELL("asha")),
  md(`## Your ranges

The search space comes from \`settings.ranges\`. Invalid ranges are refused before anything runs, with the reason:`),
  code(REFUSED_CELL),
  code(`const exp = experiment({
  name: runName,
  metric: "eval_loss",
  mode: "min",
  seed: seed,  // (tslab: no shorthand for variables of other cells)
  space: settings.ranges,
  method: ${js(ASHA_METHOD)},
  samples: settings.samples,
  maxConcurrent: settings.maxConcurrent,
  trainer: settings.trainer,
  backend: settings.backend,
});`),
  md(`What ASHA will do with this experiment, read from the scheduler it runs: the rungs, how many trials keep training if exactly 1/η continue at each, and what that costs next to your manual grid:`),
  code(PLAN_CELL),
  code(`await results.figure(planPicture(plan)!)`),
  md(`## Run it

Watch the live view: stopped trials turn grey at the rung where they were cut.`),
  code(`exp.show()`),
  code(`const summary = await exp.run();
console.log(\`\${JSON.stringify(summary.states)}; \${(summary.device_seconds / 60).toFixed(1)} \${results.deviceWords(summary.device).unit} on \${summary.devices} \${results.deviceWords(summary.device).per}\`);`),
  md(`## What happened

Which trials were cut, at which rung, with which loss:`),
  code(`results.cutsTable(exp.history(), "eval_loss", exp.maxT)`),
  code(`console.log(\`rungs the trials waited at in this run: \${exp.rungs.join(", ")}\`);
const funnel = results.rungFunnel(exp.history(), exp.rungs, "eval_loss", exp.maxT);
new results.Table("trials that reached each rung (and were cut there)", ["t", "reached", "cut"], funnel.map((f) => [f.t, f.reached, f.cut]))`),
  md(`Best at the **full budget** versus best at **any** budget: a trial stopped at the first rung may show a lower loss than any finished trial, but that value is not comparable with a full-budget loss. In the workshop the published "best" ASHA trial had stopped at epoch 2.`),
  code(`const best = exp.best();
const bestAny = exp.bestAny();
console.log(\`best at full budget: \${best ? best.value.toFixed(4) + " (t=" + best.t + ") " + results.formatConfig(best.config) : "none reached it"}\`);
console.log(\`best at any budget:  \${bestAny ? bestAny.value.toFixed(4) + " (t=" + bestAny.t + ") " + results.formatConfig(bestAny.config) : "none"}\`);`),
  md(`## Quiz`),
  quizCell([
    {
      question: "What does ASHA decide for a trial that reaches a rung?",
      options: ["its next hyperparameters", "whether it keeps training or stops there", "how many GPUs it gets", "which trial it copies weights from"],
      answer: "whether it keeps training or stops there",
      explanation: "ASHA is a scheduler: it never proposes configurations, it only cuts trials that are not in the top 1/η at a rung.",
    },
    {
      question: `With grace period ${ashaPlan.gracePeriod}, reduction factor ${ashaPlan.reductionFactor} and max_t ${ashaMaxT} (this notebook's method with the embedded default settings), at which epochs can ASHA cut a trial?`,
      options: rungOptions.options,
      answer: rungOptions.right,
      explanation: `Rungs sit at g·η^k below max_t: ${rungOptions.right}. Epoch ${ashaMaxT} is the end of training, not a rung: a trial that reaches it has already spent its budget.`,
    },
    {
      question: "Why does ASHA not wait for all trials before deciding at a rung?",
      options: ["to keep every worker busy instead of idling at a synchronisation point", "because it has no memory of earlier trials", "because rungs are random", "to save disk space"],
      answer: "to keep every worker busy instead of idling at a synchronisation point",
      explanation: "The asynchronous rule compares a trial with those that reached the rung before it; promotions happen without a barrier, so workers never wait.",
    },
    {
      question: "A trial cut at the first rung shows the lowest loss of the whole experiment. What should the comparison table report?",
      options: ["the best loss among trials that trained the full budget", "the first-rung loss, since it is lowest", "the average of both", "nothing: ASHA results cannot be compared"],
      answer: "the best loss among trials that trained the full budget",
      explanation: "Losses at different budgets are different quantities; on the workshop's task the loss even rose with more epochs, so short runs look deceptively good.",
    },
    {
      question: "When is ASHA a poor choice?",
      options: ["when early losses say little about final losses (e.g. a warm-up that hides good settings)", "when you have many GPUs", "when the search space has a log-scaled learning rate", "when trials report every epoch"],
      answer: "when early losses say little about final losses (e.g. a warm-up that hides good settings)",
      explanation: "Early stopping bets that the ranking at a rung predicts the ranking at the end; slow starters get cut if it does not.",
    },
  ]),
  md(`## Save the ASHA row`),
  code(`const row = exp.summaryRow();
console.log(\`saved to \${await folder.save(row)}\`);
results.compare([row])`),
  md(`*Instructor:* compare the plan printed above (cuts per rung if exactly 1/η continue, the expected cost range against the grid) with the funnel the run produced: asynchronous ASHA cuts fewer than the plan, because the first trial to reach a rung always continues. Ask which trials were cut that would have won (usually none on this model; large-batch/low-lr ones are the risk).`, ["solution"]),
], "02-asha");

// ------------------------------------------------------------------ 03-pbt
const pbtPlan = methodPlan(defaultConfig(PBT_METHOD, pbtPopulation(DEFAULT_SETTINGS.samples))).pbt!;
const pbtMaxT = DEFAULT_SETTINGS.trainer.epochs as number;
const pbtPoints = pbtPlan.perturbationPoints;
const pbtRight = `${pbtPoints.length}: perturbation points are only t = ${pbtPoints.join(", ")}`;

const pbt = nb([
  md(`# 03 · PBT: train a population, copy the winners

**What PBT decides:** at every *perturbation interval* each trial is ranked in the population (here synchronously: members wait at each perturbation point until the whole population has reached it; asynchronous PBT ranks each member against the latest results as it arrives). A trial in the bottom quantile **exploits**: it loads the checkpoint (weights and optimizer) of a trial from the top quantile, then **explores**: it perturbs the copied hyperparameters (multiplies each by one of the perturbation factors, or resamples it). Nobody is stopped; the population keeps its size. The cell after the experiment prints the interval, the quantile and the factors this run uses.

**When:** only at perturbation points, where trials save a checkpoint.

**What you get:** not a single configuration but a **schedule**: the hyperparameters change during training (e.g. a learning rate that drops halfway). The result is the trained model of the best member, whose history may pass through several trials.

**When to use it:** long trainings where a good hyperparameter *schedule* matters, with enough parallel workers to hold a population.`),
  settingsCell(),
  code(IMPORTS),
  code(NAME_CELL("pbt")),
  md(`## Your ranges

PBT samples the initial population from \`settings.ranges\` and perturbs within them. Refused ranges show why:`),
  code(REFUSED_CELL),
  code(`const exp = experiment({
  name: runName,
  metric: "eval_loss",
  mode: "min",
  seed: seed,  // (tslab: no shorthand for variables of other cells)
  space: settings.ranges,
  method: ${js(PBT_METHOD)},
  samples: Math.max(4, Math.floor(settings.samples / 2)),
  maxConcurrent: settings.maxConcurrent,
  trainer: settings.trainer,
  backend: settings.backend,
});`),
  md(`What PBT will do with this experiment, read from the scheduler it runs:`),
  code(PLAN_CELL),
  md(`A toy population with the same interval and length (an illustration, not this run): at every perturbation point the worst member jumps to a perturbed copy of the best one's learning rate.`),
  code(`await results.figure(results.pbtPicture({ perturbationInterval: plan.pbt!.perturbationInterval, maxT: plan.maxT }))`),
  md(`## Run it

The live view draws the lineage: an arrow whenever a trial copies another.`),
  code(`exp.show()`),
  code(`const summary = await exp.run();
console.log(\`\${JSON.stringify(summary.states)}; \${(summary.device_seconds / 60).toFixed(1)} \${results.deviceWords(summary.device).unit} on \${summary.devices} \${results.deviceWords(summary.device).per}\`);`),
  md(`## What happened

Every exploit/explore step: who copied whom, at which epoch, and how the hyperparameters were changed.`),
  code(`const steps = results.pbtSteps(exp.history());
console.log(\`\${steps.length} exploit(s) at t = \${[...new Set(steps.map((s) => s.t))].join(", ") || "none"}\`);
results.pbtTable(exp.history())`),
  md(`The best model's **schedule** and **lineage**: the phases of training its final weights went through, and which trial trained each phase.`),
  code(`const best = exp.best() ?? exp.bestAny();
console.log(best ? \`best: \${best.value.toFixed(4)} by \${best.trial_id} at t=\${best.t}\` : "no trial finished");
best ? results.lineageTable(exp.history(), best.trial_id) : null`),
  code(`const row = exp.summaryRow();
console.log(row.schedule ? "schedule: " + row.schedule.map((s) => \`from t=\${s.t}: \${results.formatConfig(s.config)}\`).join("  →  ") : "no schedule (no exploit reached the best trial)");`),
  md(`## Quiz`),
  quizCell([
    {
      question: "What does a bottom-quantile PBT trial do at a perturbation point?",
      options: ["it stops for good", "it loads a top trial's checkpoint and perturbs that trial's hyperparameters", "it restarts from scratch with random hyperparameters", "it doubles its batch size"],
      answer: "it loads a top trial's checkpoint and perturbs that trial's hyperparameters",
      explanation: "Exploit copies weights and optimizer state from a better trial; explore changes the copied hyperparameters so the population keeps searching.",
    },
    {
      question: "The workshop's PBT script never restored the checkpoint after an exploit. What did exploiting actually do there?",
      options: ["it copied only the hyperparameters and restarted training", "it worked as intended", "it crashed", "it stopped the trial"],
      answer: "it copied only the hyperparameters and restarted training",
      explanation: "Without restoring, the 'copy' loses the donor's weights, so PBT degrades to a restart with new hyperparameters. tunelab's trial contract requires the trainer to resume from restore_from.",
    },
    {
      question: "Why is PBT's result a schedule rather than one configuration?",
      options: ["because hyperparameters change at every exploit/explore step along the best model's history", "because it reports several metrics", "because it runs several epochs", "because it uses a grid"],
      answer: "because hyperparameters change at every exploit/explore step along the best model's history",
      explanation: "The best final model was trained with different settings in different phases; reporting only its final config would hide that.",
    },
    {
      question: `With max_t ${pbtMaxT} and perturbation interval ${pbtPlan.perturbationInterval} (this notebook's method with the embedded default settings), how many times can one member exploit another at most?`,
      options: [...new Set([`${pbtMaxT}: once per epoch`, pbtRight, "as often as it likes: PBT decides continuously", `${pbtPoints.length + 1}: at every perturbation point and at the end`])],
      answer: pbtRight,
      explanation: `Decisions happen only at perturbation points below max_t (t = ${pbtPoints.join(", ")} here); the workshop had the same problem (about 2 evaluations per trial), so its PBT could barely act.`,
    },
    {
      question: "Which resource does PBT need more than ASHA?",
      options: ["enough parallel workers to keep the whole population training at once", "a larger search space", "a model-based searcher", "fewer checkpoints"],
      answer: "enough parallel workers to keep the whole population training at once",
      explanation: "Members are compared while they train; a population that trains one member at a time turns PBT into a slow sequential search.",
    },
  ]),
  md(`## Save the PBT row

For PBT the row's best config is the schedule above.`),
  code(`console.log(\`saved to \${await folder.save(row)}\`);
results.compare([row])`),
  md(`*Instructor:* the plan cell prints how many members exploit at each perturbation point; compare it with the exploits listed after the run (fewer when members are paused or the ranking ties). The best trial's lineage usually passes through the trial with the mid-range lr. Point out that GPU-time is population × epochs plus restarts (no early stopping), so PBT is not cheaper than the grid: it buys a schedule, not savings.`, ["solution"]),
], "03-pbt");

// ------------------------------------------------------------------ 04-bohb
const bohbModel = methodPlan(defaultConfig(BOHB_METHOD, bohbSamples(DEFAULT_SETTINGS.samples))).bohbModel!;
// the notebook promises a model that acts with the defaults
if (!bohbModel.canAct) throw new Error(`04-bohb: with the default settings BOHB's model cannot act (${JSON.stringify(bohbModel)})`);

const bohb = nb([
  md(`# 04 · BOHB: a model picks, HyperBand prunes

**What BOHB decides:** two things. *Which configuration to try next*: once enough trials have finished at some budget, BOHB fits two density models (kernel density estimates) — one over the good configurations, one over the rest — and proposes configurations where "good" is much more likely than "bad". Some picks stay random, so it keeps exploring. *When to stop*: trials run in **HyperBand brackets**; each bracket starts many configurations on a small budget and promotes the best 1/η to larger budgets.

**When:** the model is consulted at every new trial; pruning happens at each bracket's rungs.

**When to use it:** the budget is small compared with the space, trials are expensive, and early losses are informative (as for ASHA).`),
  settingsCell(),
  code(IMPORTS),
  code(NAME_CELL("bohb")),
  md(`## Your ranges`),
  code(REFUSED_CELL),
  code(`const exp = experiment({
  name: runName,
  metric: "eval_loss",
  mode: "min",
  seed: seed,  // (tslab: no shorthand for variables of other cells)
  space: settings.ranges,
  method: ${js(BOHB_METHOD)},
  // twice the samples: the model fits only after 2(d+1) results at one budget (the plan cell says whether it gets them)
  samples: settings.samples * 2,
  maxConcurrent: settings.maxConcurrent,
  trainer: settings.trainer,
  backend: settings.backend,
});`),
  md(`What BOHB will do with this experiment, read from its scheduler and searcher: how the trials fill the brackets (each circle is a stage, its size the number of configurations trained to that many epochs), and whether the model gets enough results to propose any of them:`),
  code(PLAN_CELL),
  code(`await results.figure(planPicture(plan)!)`),
  md(`## Run it`),
  code(`exp.show()`),
  code(`const summary = await exp.run();
console.log(\`\${JSON.stringify(summary.states)}; \${(summary.device_seconds / 60).toFixed(1)} \${results.deviceWords(summary.device).unit} on \${summary.devices} \${results.deviceWords(summary.device).per}\`);`),
  md(`## What happened

Which configurations the model proposed and which were random, and how far each got:`),
  code(`results.bohbPicks(exp.history(), "eval_loss")`),
  code(`const added = exp.history().filter((e) => e.type === "trial_added");
const byModel = exp.history().filter((e) => e.type === "trial_added" && e.modelBasedPick === true).length;
const model = plan.bohbModel!;
console.log(byModel > 0
  ? \`\${byModel} of \${added.length} configurations came from the model\`
  : \`none of the \${added.length} configurations came from the model: it fits after \${model.threshold} results at one budget, and this run's brackets give at most \${model.mostAtOneBudget}\${model.canAct ? " (in time for later trials only if results arrive before they are proposed)" : ""}\`);`),
  code(`results.cutsTable(exp.history(), "eval_loss", exp.maxT)`),
  code(`const best = exp.best();
const bestAny = exp.bestAny();
console.log(\`best at full budget: \${best ? best.value.toFixed(4) + " " + results.formatConfig(best.config) : "none reached it"}\`);
console.log(\`best at any budget:  \${bestAny ? bestAny.value.toFixed(4) + " at t=" + bestAny.t : "none"}\`);`),
  md(`## Quiz`),
  quizCell([
    {
      question: "What does BOHB add to HyperBand?",
      options: ["a model that proposes new configurations from the results so far", "asynchronous promotions", "checkpoint copying between trials", "a larger reduction factor"],
      answer: "a model that proposes new configurations from the results so far",
      explanation: "HyperBand samples configurations at random; BOHB replaces most of those samples with picks from its density models.",
    },
    {
      question: "How does BOHB's model choose a configuration?",
      options: ["it prefers points where the density of good results is high relative to the density of poor ones", "it picks the config with the lowest loss so far", "it averages the top configurations", "it walks the grid in order"],
      answer: "it prefers points where the density of good results is high relative to the density of poor ones",
      explanation: "Two kernel density estimates (good vs. the rest) are fitted; candidates are scored by their ratio, as in TPE.",
    },
    {
      question: "Why are some BOHB picks still random?",
      options: ["so the model cannot lock onto a region too early", "because the model fails half the time", "because HyperBand requires it", "to save memory"],
      answer: "so the model cannot lock onto a region too early",
      explanation: "A share of random configurations keeps exploring parts of the space the model has not seen.",
    },
    {
      question: "Before the model has enough results at a budget, where do BOHB's configurations come from?",
      options: ["random sampling", "the manual grid", "the best ASHA trial", "the previous bracket's losers"],
      answer: "random sampling",
      explanation: "Each density model needs more results at one budget than there are hyperparameters (the plan cell above prints how many this searcher needs); until then BOHB samples at random.",
    },
    {
      question: "The workshop's best BOHB trial stopped after its first budget. What is the catch when comparing it with the manual grid?",
      options: ["a short-budget loss is compared with full-budget losses", "BOHB used fewer trials", "BOHB cannot use GPUs", "there is no catch"],
      answer: "a short-budget loss is compared with full-budget losses",
      explanation: "Compare values at the same budget; tunelab reports the best at the full budget separately from the best at any budget.",
    },
  ]),
  md(`## Save the BOHB row`),
  code(`const row = exp.summaryRow();
console.log(\`saved to \${await folder.save(row)}\`);
results.compare([row])`),
  md(`*Instructor:* the plan cell says whether the model can act in this run and why not. With the embedded default settings (${bohbSamples(DEFAULT_SETTINGS.samples)} trials, η=${(BOHB_METHOD as { reductionFactor: number }).reductionFactor}) the model fits after ${bohbModel.threshold} results at one budget and the brackets give at most ${bohbModel.mostAtOneBudget} (at ${bohbModel.budget} epoch(s)), so only the last trials can come from it and the first ones are always random. Ask the team to check which picks came from the model and whether they beat the random ones, and what they would change (more trials, a larger η) for the model to get its results earlier.`, ["solution"]),
], "04-bohb");

// ------------------------------------------------------------------ 05-comparison
const comparison = nb([
  md(`# 05 · Team comparison

Everyone's rows from the team folder, in the workshop's table: **Run Type | Eval Loss | Runtime to find best HP (min) | # GPUs | GPU Minutes | Cost Ratio**, where

* GPU minutes = the GPU time the method used (for the grid: wall time × GPUs),
* cost ratio = the method's GPU-minutes / the manual grid's GPU-minutes.

Trials that ran on the CPU (the embedded default's small model) are accounted in **CPU slots** and **CPU minutes** instead: a CPU-minute is not a GPU-minute, so the table names the unit its rows were measured in (the next cell prints it), and a cost ratio is computed only against a manual grid on the same kind of device.

Eval loss is the best value **at the full budget**: a trial stopped early does not count here.`),
  settingsCell(),
  code(`import { results } from "tunelab";`),
  code(`const folder = results.teamFolder(settings.teamFolder, { member: settings.member, backend: settings.backend });
const { rows, problems } = await folder.read();
for (const p of problems) console.log(\`unreadable: \${p.file}: \${p.error}\`);
console.log(\`\${rows.length} row(s) in \${folder.location}: \${rows.map((r) => \`\${r.member}/\${r.method}\`).join(", ")}\`);
const units = [...new Set(rows.map((r) => results.deviceWords(results.rowDevice(r)).minutes))];
console.log(\`device time in \${units.join(" and ") || "(no rows)"}\`);
if (!rows.some((r) => r.method === "manual")) {
  const reference = results.referenceManualRow();
  console.log(\`no manual-grid row yet: using the workshop's published grid (\${reference.gpuMinutes} GPU-minutes) as the cost reference; run 01-manual for your own.\`);
  rows.unshift(reference);
}`),
  code(`const cmp = results.compare(rows, { baseline: "manual" });
cmp`),
  md(`## A teammate who used Ray Tune

A Ray Tune experiment directory (\`~/ray_results/<name>/\`) becomes a row with \`results.importRay(dir, { member })\`; save it to the team folder like any other row (\`await folder.save(row)\`) and rerun the cells above. Here, the example that ships with tunelab: the original workshop's ASHA run (Ray's on-disk layout, rebuilt from the workshop's published records), compared with the workshop's own manual grid — same model and task, so its cost ratio means something. It is not added to your team's table: its GPUs and model are not yours.`),
  code(`const path = require("path");
const rayDir = path.join(path.dirname(results.referenceDir()), "ray-example", "bloom_fsdp_tune");
const rayRow = results.importRay(rayDir, { member: "ray-example" });
console.log(\`\${rayRow.label}: best \${results.formatLoss(rayRow.bestValue)} at the full budget (\${rayRow.maxT} epochs), \${results.rowDeviceMinutes(rayRow).toFixed(1)} \${results.deviceWords(results.rowDevice(rayRow)).unit}\`);
results.compare([results.referenceManualRow(), rayRow], { baseline: "manual" })`),
  code(`await results.figure(cmp.chartSpec())`),
  md(`## Export the group summary

The Markdown table, the CSV and a discussion prefilled with the facts computed from the rows. Edit the discussion before you hand it in.`),
  code(`const fs = require("fs");
const outDir = path.resolve("exports");
fs.mkdirSync(outDir, { recursive: true });
const base = path.join(outDir, \`\${settings.team.replace(/[^A-Za-z0-9_.-]/g, "_")}-summary\`);
fs.writeFileSync(base + ".md", \`# Group summary: \${settings.team}\\n\\n\${cmp.markdown()}\\n## Discussion\\n\\n\${cmp.discussion()}\`);
fs.writeFileSync(base + ".csv", cmp.csv());
console.log(\`wrote \${base}.md and \${base}.csv\`);`),
  code(`new results.Table("", ["discussion (edit in the exported file)"], cmp.discussion().trim().split("\\n").map((l) => [l.replace(/^- /, "")]))`),
  md(`## Talk about it

* Which method found the best configuration, and at what cost ratio?
* Which were the cheapest and the fastest? Are those the same method?
* Would the ranking change if you compared best-at-any-budget values? Why should you not?
* The workshop's PBT and BOHB ran on A100s while its grid ran on V100s: what does that do to a cost ratio?`),
], "05-comparison");

export const NOTEBOOKS: Record<string, Notebook> = {
  "00-setup.ipynb": setup,
  "01-manual.ipynb": manual,
  "02-asha.ipynb": asha,
  "03-pbt.ipynb": pbt,
  "04-bohb.ipynb": bohb,
  "05-comparison.ipynb": comparison,
};

export function serialize(n: Notebook): string {
  return JSON.stringify(n, null, 1) + "\n";
}

if (require.main === module) {
  const check = process.argv.includes("--check");
  let stale = 0;
  for (const [file, n] of Object.entries(NOTEBOOKS)) {
    const p = path.join(__dirname, file);
    const text = serialize(n);
    if (check) {
      if (!fs.existsSync(p) || fs.readFileSync(p, "utf8") !== text) { console.error(`stale: ${p}`); stale++; }
    } else {
      fs.writeFileSync(p, text);
      console.log(`wrote ${p}`);
    }
  }
  process.exit(stale ? 1 : 0);
}
