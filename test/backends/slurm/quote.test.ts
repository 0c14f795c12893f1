/** shq, path confinement, #SBATCH value checks, known_hosts parsing, poll-output framing. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { insideDir, pathComponent, sbatchValue, shq, shqArgv } from "../../../src/backends/slurm/quote";
import { knownHostKeys, parseEndpoint } from "../../../src/backends/slurm/ssh";
import { expandArrayKey, parsePollOutput, renderPollScript } from "../../../src/backends/slurm/poll";
import { renderRunScript, renderTrialJson, sbatchHeader } from "../../../src/backends/slurm/jobscript";
import { fromSacct, gpusFromTres } from "../../../src/backends/slurm/accounting";
import { workerJobIdLine } from "../../../src/backends/slurm/workers";

const HOSTILE = [
  "x; rm -rf ~",
  "a b  c",
  "it's",
  `"double" and 'single'`,
  "line1\nline2\n",
  "$(touch CANARY)",
  "`touch CANARY`",
  "${HOME}",
  "; touch CANARY #",
  "\\",
  "-n",
  "",
  "ünïcödé ✓",
  "'",
  "''",
  "\t\r",
];

describe("shq (shell quoting)", () => {
  it("every hostile string reaches bash as exactly one literal word, executing nothing", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tl-shq-"));
    try {
      for (const s of HOSTILE) {
        const r = spawnSync("bash", ["-c", `cd ${shq(dir)} && printf '%s\\0' ${shq(s)} | base64 -w0; echo; for a in ${shqArgv([s, s])}; do :; done`], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(Buffer.from(r.stdout.trim(), "base64").toString("utf8"), s + "\0", JSON.stringify(s));
        assert.ok(!fs.existsSync(path.join(dir, "CANARY")), `canary after ${JSON.stringify(s)}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses NUL bytes", () => {
    assert.throws(() => shq("a\0b"), /NUL/);
  });
});

describe("remote paths stay inside remoteDir", () => {
  it("insideDir refuses .. escapes and absolute paths", () => {
    assert.equal(insideDir("/r/exp", "trials", "t1"), "/r/exp/trials/t1");
    assert.equal(insideDir("/r/exp", "a/../b"), "/r/exp/b");
    assert.throws(() => insideDir("/r/exp", "../../etc/passwd"), /leaves remoteDir/);
    assert.throws(() => insideDir("/r/exp", "/etc/passwd"), /relative/);
    assert.throws(() => insideDir("/r/exp", "..", "exp2"), /leaves remoteDir/);
  });

  it("pathComponent maps any name to one safe, deterministic component", () => {
    for (const s of HOSTILE.concat([".", "..", "a/b", "../.."])) {
      const p = pathComponent(s);
      assert.match(p, /^[A-Za-z0-9._-]+$/);
      assert.ok(p !== "." && p !== "..");
      assert.equal(pathComponent(s), p);
    }
    assert.notEqual(pathComponent("a b"), pathComponent("a_b"));
  });

  it("#SBATCH values with spaces, quotes or newlines are refused naming the field", () => {
    assert.equal(sbatchValue("partition", "gpu"), "gpu");
    assert.equal(sbatchValue("time", "1-02:00:00"), "1-02:00:00");
    for (const s of ["gpu\ntouch x", "a b", "a'b", 'a"b', "$(x)", "a;b"]) assert.throws(() => sbatchValue("partition", s), /backend\.partition/);
  });
});

describe("job script rendering", () => {
  it("header carries gres, signal, requeue; run.sh quotes env, argv and never the setup lines", () => {
    const h = sbatchHeader({ jobName: "x; rm -rf ~", gpus: 2, partition: "gpu", signalGrace: 90, time: "00:10:00", cpusPerTrial: 4, memPerTrial: "8G" }, "/r/t/slurm-%j.out", "0-7%4");
    assert.match(h, /#SBATCH --job-name=x__rm_-rf__\n/);
    assert.match(h, /#SBATCH --gres=gpu:2\n/);
    assert.match(h, /#SBATCH --signal=B:USR1@90\n/);
    assert.match(h, /#SBATCH --requeue\n/);
    assert.match(h, /#SBATCH --array=0-7%4\n/);
    assert.match(h, /#SBATCH --cpus-per-task=4\n#SBATCH --mem=8G\n/);
    const trial = { trial_id: "t1", experiment: "e", config: { lr: 0.1 }, max_t: 3, start_t: 0, restore_from: null, seed: 1, metric: "m", mode: "min" as const };
    const run = renderRunScript({ dir: "/r/t", setup: ["module load cuda/12"], launch: { trialId: "t1", trial, command: ["python3", "train.py", "--x", "a b"], env: { A: "$(x)" }, gpus: 1 } });
    assert.match(run, /export A='\$\(x\)'/);
    assert.match(run, /^module load cuda\/12$/m);
    assert.match(run, /python3 train.py --x 'a b' &/);
    assert.throws(() => renderRunScript({ dir: "/r/t", setup: [], launch: { trialId: "t1", trial, command: ["x"], env: { "A;B": "1" }, gpus: 1 } }), /not allowed/);
    const tj = renderTrialJson(trial);
    assert.deepEqual(JSON.parse(tj), trial);
    assert.match(tj, /^ "restore_from": null,$/m);
    assert.match(tj, /^ "start_t": 0,$/m);
  });
});

describe("known_hosts", () => {
  it("plain, [host]:port, wildcard and hashed entries", () => {
    const salt = randomBytes(20);
    const hash = createHmac("sha1", salt).update("[10.0.0.5]:2222").digest("base64");
    const text = [
      "# comment",
      "login.example.org,192.0.2.1 ssh-ed25519 AAAAplain",
      "[127.0.0.1]:2200 ssh-ed25519 AAAAport",
      "*.cluster.local ssh-ed25519 AAAAwild",
      `|1|${salt.toString("base64")}|${hash} ssh-ed25519 AAAAhashed`,
      "@revoked login.example.org ssh-ed25519 AAAArevoked",
    ].join("\n");
    assert.deepEqual(knownHostKeys(text, "login.example.org", 22), ["AAAAplain"]);
    assert.deepEqual(knownHostKeys(text, "127.0.0.1", 2200), ["AAAAport"]);
    assert.deepEqual(knownHostKeys(text, "127.0.0.1", 22), []);
    assert.deepEqual(knownHostKeys(text, "n1.cluster.local", 22), ["AAAAwild"]);
    assert.deepEqual(knownHostKeys(text, "10.0.0.5", 2222), ["AAAAhashed"]);
  });
  it("jump endpoints", () => {
    assert.deepEqual(parseEndpoint("alice@bastion.org:2222", "me"), { user: "alice", host: "bastion.org", port: 2222 });
    assert.deepEqual(parseEndpoint("bastion.org", "me"), { user: "me", host: "bastion.org", port: 22 });
    assert.throws(() => parseEndpoint("a b", "me"), /backend\.jump/);
  });
});

describe("poll command", () => {
  it("one script for any number of trials; framed output parsed byte-exactly", () => {
    const script = renderPollScript({
      decisions: [{ dir: "/r/t 1", t: 2, action: "stop" }],
      jobIds: ["12"],
      trials: Array.from({ length: 3 }, (_, i) => ({ idx: i, dir: `/r/t${i}`, offset: 10 * i, jobKey: `12_${i}` })),
      sacctIds: [],
    });
    assert.match(script, /D '\/r\/t 1' 2 '\{"action":"stop"\}'/);
    assert.equal((script.match(/squeue/g) ?? []).length, 1);
    const metric = Buffer.from('{"t":1,"x":"@@TL END\\n"}\n{"t":2');
    const out = Buffer.concat([
      Buffer.from("motd noise\n@@TL SQ 0\n12_0|RUNNING|None|2026-01-01T00:00:00|2026-01-01T00:00:01|N/A|gres/gpu:1\n12_[1-2%2]|PENDING|JobArrayTaskLimit|||||\n@@TL SQEND\n"),
      Buffer.from(`@@TL M 0 ${metric.length}\n`),
      metric,
      Buffer.from("\n@@TL X 1 FAILED 3\n" + Buffer.from("boom\n").toString("base64") + "\n@@TL END\n"),
    ]);
    const r = parsePollOutput(out);
    assert.ok(r.complete && r.squeueOk);
    assert.equal(r.jobs.get("12_0")!.state, "RUNNING");
    assert.equal(r.jobs.get("12_2")!.state, "PENDING");
    assert.deepEqual(r.metrics.get(0), metric);
    assert.deepEqual(r.exits.get(1), { exitCode: 3, tail: "boom\n", state: "FAILED" });
    assert.deepEqual(expandArrayKey("7_[0-2,5]"), ["7_0", "7_1", "7_2", "7_5"]);
  });

  it("a warm worker's trial that ends between the metrics stat and the exit check is not reported ended with its last report unread (bash runs the script)", () => {
    // the race CI hit: the trainer wrote t=2 and the worker its exitcode just after the poll took
    // the file sizes; reported ended then, the trial looked cut short at t=1 and was run again
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tl-poll-race-"));
    const tdir = path.join(dir, "q2");
    const bin = path.join(dir, "bin");
    fs.mkdirSync(tdir);
    fs.mkdirSync(bin);
    const line1 = '{"t":1,"eval_loss":3.5}\n';
    fs.writeFileSync(path.join(tdir, "metrics.jsonl"), line1);
    // `stat` answers with the sizes of now, then the trial finishes (t=2, exitcode) before the script goes on
    fs.writeFileSync(path.join(bin, "stat"), `#!/bin/bash\n/usr/bin/stat "$@"\nprintf '%s\\n' '{"t":2,"eval_loss":3.0}' >> ${shq(tdir + "/metrics.jsonl")}\necho 0 > ${shq(tdir + "/exitcode")}\n`, { mode: 0o755 });
    const script = renderPollScript({ decisions: [], jobIds: [], trials: [{ idx: 0, dir: tdir, offset: 0, jobKey: "7", worker: true }], sacctIds: [] });
    const run = () => {
      const r = spawnSync("bash", ["-c", script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
      assert.equal(r.status, 0, r.stderr.toString());
      return parsePollOutput(Buffer.concat([r.stdout, Buffer.from("@@TL END\n")]));
    };
    const first = run();
    assert.equal(first.metrics.get(0)?.toString(), line1, "the bytes up to the stat");
    assert.equal(first.exits.has(0), false, "not ended in the poll whose stat came before its exitcode");
    // next poll: exitcode was there before the stat, so the rest of the metrics come with the end
    fs.writeFileSync(path.join(bin, "stat"), `#!/bin/bash\nexec /usr/bin/stat "$@"\n`, { mode: 0o755 });
    const second = renderPollScript({ decisions: [], jobIds: [], trials: [{ idx: 0, dir: tdir, offset: Buffer.byteLength(line1), jobKey: "7", worker: true }], sacctIds: [] });
    const r2 = spawnSync("bash", ["-c", second], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    const p2 = parsePollOutput(Buffer.concat([r2.stdout, Buffer.from("@@TL END\n")]));
    assert.equal(p2.metrics.get(0)?.toString(), '{"t":2,"eval_loss":3.0}\n');
    assert.equal(p2.exits.get(0)?.exitCode, 0);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("accounting: gres/gpu × ElapsedRaw, summed over requeued runs", () => {
    assert.equal(gpusFromTres("billing=2,cpu=2,gres/gpu=2,mem=1G,node=1"), 2);
    assert.equal(gpusFromTres("gres/gpu:1"), 1);
    const a = fromSacct(
      [
        { jobId: "5", state: "REQUEUED", exitCode: "0:0", elapsed: 10, start: "2026-01-01T00:00:05", end: "2026-01-01T00:00:15", submit: "2026-01-01T00:00:00", allocTres: "cpu=1,gres/gpu=2" },
        { jobId: "5", state: "COMPLETED", exitCode: "0:0", elapsed: 20, start: "2026-01-01T00:00:20", end: "2026-01-01T00:00:40", submit: "2026-01-01T00:00:16", allocTres: "cpu=1,gres/gpu=2" },
      ],
      1,
    );
    assert.deepEqual(a, { gpuSeconds: 60, runSeconds: 30, queueSeconds: 5, gpus: 2, source: "sacct" });
  });
});

describe("worker.json with the job id", () => {
  it("is valid JSON naming the worker dir exactly, whatever the dir holds, and is not written without a job id", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "tl-wj-"));
    try {
      const trialDir = path.join(root, "t");
      fs.mkdirSync(trialDir);
      for (const s of HOSTILE.filter((x) => x !== "")) {
        const dir = `/r/${s}/workers/w1`;
        fs.writeFileSync(path.join(trialDir, "jobid"), "4242\n");
        const r = spawnSync("bash", ["-c", `cd ${shq(root)} && ${workerJobIdLine({ dir, seq: 3 }, trialDir)}`], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(JSON.parse(fs.readFileSync(path.join(trialDir, "worker.json"), "utf8")), { dir, jobid: "4242", seq: 3 }, JSON.stringify(s));
        assert.ok(!fs.existsSync(path.join(root, "CANARY")), `canary after ${JSON.stringify(s)}`);
      }
      fs.rmSync(path.join(trialDir, "worker.json"));
      fs.writeFileSync(path.join(trialDir, "jobid"), "");
      const r = spawnSync("bash", ["-c", workerJobIdLine({ dir: "/r/w", seq: 1 }, trialDir)], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(!fs.existsSync(path.join(trialDir, "worker.json")));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
