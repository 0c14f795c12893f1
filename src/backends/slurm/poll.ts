/**
 * The single remote command per poll interval, whatever the number of
 * trials: one generated bash script that (1) writes pending decision files
 * atomically, (2) asks squeue for every job's state, (3) prints the new bytes
 * of each watched trial's metrics.jsonl from the offset already consumed,
 * (4) for jobs that ended, prints the exit code and the tail of the output,
 * (5) asks sacct for finished jobs' accounting when the cluster has it.
 * Output is framed with `@@TL` marker lines and byte counts, so login-shell
 * noise and arbitrary metric bytes cannot confuse the parser.
 */
import { shq } from "./quote";

export interface PollTrial {
  idx: number;
  dir: string;
  offset: number;
  /** squeue key: "123" or "123_4" (array task); null before submission */
  jobKey: string | null;
  /** print exit info even if squeue no longer lists the job */
  final?: boolean;
  /** the job was seen running: report whether a requeued run left its exit file */
  ran?: boolean;
  /** run by a warm worker (jobKey is the worker's job): the trial ended when its exitcode exists */
  worker?: boolean;
}

export interface PollRequest {
  decisions: Array<{ dir: string; t: number; action: "continue" | "stop" }>;
  /** base job ids for squeue -j */
  jobIds: string[];
  trials: PollTrial[];
  sacctIds: string[];
  /** cap on bytes read per trial per poll */
  maxBytes?: number;
  /** warm worker directories (reuseProcesses): which are leaving (retire / quit written) */
  workers?: Array<{ idx: number; dir: string }>;
}

export interface JobInfo {
  state: string;
  reason: string;
  submit: string;
  start: string;
  end: string;
  tres: string;
}

export interface SacctRow {
  jobId: string;
  state: string;
  exitCode: string;
  elapsed: number;
  start: string;
  end: string;
  submit: string;
  allocTres: string;
}

export interface PollResult {
  squeueOk: boolean;
  squeueError: string;
  jobs: Map<string, JobInfo>;
  metrics: Map<number, Buffer>;
  shrank: Map<number, number>;
  exits: Map<number, { exitCode: number | null; tail: string; state: string }>;
  /** requeued jobs: the previous run's exit code, or null when it never finished (node lost) */
  requeued: Map<number, number | null>;
  /** trials run by a worker that ended: their TUNELAB START / FINISH stamps (epoch seconds) */
  stamps: Map<number, { start: number | null; end: number | null }>;
  /** worker idx → leaving (retire or quit in its directory) */
  leaving: Map<number, boolean>;
  sacctOk: boolean;
  sacct: SacctRow[];
  complete: boolean;
}

export const TERMINAL = [
  "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY", "SPECIAL_EXIT", "REVOKED",
];

export function renderPollScript(r: PollRequest): string {
  const max = r.maxBytes ?? 4 * 1024 * 1024;
  const L: string[] = [];
  L.push("export LC_ALL=C");
  if (r.decisions.length) {
    L.push('D() { printf \'%s\\n\' "$3" > "$1/.decision-$2.tmp" && mv -f "$1/.decision-$2.tmp" "$1/decision-$2.json"; }');
    for (const d of r.decisions) L.push(`D ${shq(d.dir)} ${Math.floor(d.t)} ${shq(JSON.stringify({ action: d.action }))}`);
  }
  L.push("declare -A ST");
  if (r.jobIds.length) {
    L.push(`SQ=$(squeue -h -t all -j ${shq(r.jobIds.join(","))} -o '%i|%T|%r|%V|%S|%e|%b' 2>&1); RC=$?`);
    L.push('echo "@@TL SQ $RC"; printf \'%s\\n\' "$SQ"; echo "@@TL SQEND"');
    L.push('if [ $RC -eq 0 ]; then while IFS=\'|\' read -r k s _; do [ -n "$k" ] && ST["$k"]=$s; done <<< "$SQ"; fi');
  } else {
    L.push('echo "@@TL SQ 0"; echo "@@TL SQEND"');
  }
  // a worker's trial ended if its exitcode existed BEFORE the metrics sizes were taken: the
  // worker writes exitcode after the trainer's last report, so the bytes read below are then
  // complete (checked after the stat, a report written in between would be missed)
  const warm = r.trials.filter((t) => t.worker);
  L.push("declare -A EX");
  if (warm.length) L.push(`for d in ${warm.map((t) => shq(t.dir)).join(" ")}; do [ -f "$d/exitcode" ] && EX["$d"]=1; done`);
  L.push(
    // sizes of every metrics file from ONE stat call (forks, not bytes, are what a poll costs)
    "declare -A SZ",
    ...(r.trials.length
      ? [
          `while IFS='|' read -r s f; do SZ["$f"]=$s; done < <(stat -c '%s|%n' ${r.trials.map((t) => shq(t.dir + "/metrics.jsonl")).join(" ")} 2>/dev/null)`,
        ]
      : []),
    `M() { local f="$2/metrics.jsonl" sz n st; sz=\${SZ["$f"]:-0}; n=$(( sz - $3 )); [ $n -gt ${max} ] && n=${max};`,
    '  if [ $n -gt 0 ]; then echo "@@TL M $1 $n"; dd if="$f" bs=65536 iflag=skip_bytes,count_bytes skip=$3 count=$n 2>/dev/null; echo; elif [ $n -lt 0 ]; then echo "@@TL SHRANK $1 $sz"; fi',
    '  st=${ST[$4]:-}',
    // a worker's job outlives its trials: the trial's own exitcode says it ended
    `  if [ "$7" = 1 ]; then [ -n "\${EX["$2"]:-}" ] || case "$st" in ${TERMINAL.join("|")}) ;; *) [ "$5" = 1 ] || return 0;; esac`,
    // back in the queue: did the previous run end cleanly (exit file written) or did its node die?
    '  else case "$st" in PENDING|REQUEUED|REQUEUE_HOLD) [ "$6" = 1 ] && echo "@@TL Q $1 $(cat "$2/exitcode" 2>/dev/null || echo -)";; esac',
    `  case "$st" in ${TERMINAL.join("|")}) ;; *) [ "$5" = 1 ] || return 0;; esac; fi`,
    '  echo "@@TL X $1 $st $(cat "$2/exitcode" 2>/dev/null)"; tail -c 3000 "$2/trainer.out" 2>/dev/null | base64 -w0; echo',
    '  [ "$7" = 1 ] && echo "@@TL WS $1 $(grep -a \'^TUNELAB START \' "$2/trainer.out" 2>/dev/null | tail -n 1 | cut -d" " -f3) $(grep -a \'^TUNELAB FINISH \' "$2/trainer.out" 2>/dev/null | tail -n 1 | cut -d" " -f3)"; return 0; }',
  );
  for (const t of r.trials) L.push(`M ${t.idx} ${shq(t.dir)} ${Math.max(0, Math.floor(t.offset))} ${shq(t.jobKey ?? "-")} ${t.final ? 1 : 0} ${t.ran ? 1 : 0} ${t.worker ? 1 : 0}`);
  for (const w of r.workers ?? []) L.push(`if [ -e ${shq(w.dir + "/retire")} ] || [ -e ${shq(w.dir + "/quit")} ]; then echo "@@TL WK ${w.idx} 1"; else echo "@@TL WK ${w.idx} 0"; fi`);
  if (r.sacctIds.length) {
    L.push(
      `SA=$(sacct -X -D -P -n -j ${shq(r.sacctIds.join(","))} --format=JobID,State,ExitCode,ElapsedRaw,Start,End,Submit,AllocTRES 2>&1); echo "@@TL SA $?"; printf '%s\\n' "$SA"; echo "@@TL SAEND"`,
    );
  }
  L.push('echo "@@TL END"');
  return L.join("\n") + "\n";
}

/** Expand "12_[3-5,7%2]" (a pending array range) into task keys. */
export function expandArrayKey(key: string): string[] {
  const m = /^(\d+)_\[([^\]]+)\]$/.exec(key);
  if (!m) return [key];
  const out: string[] = [];
  for (const part of m[2].replace(/%\d+$/, "").split(",")) {
    const r = /^(\d+)(?:-(\d+))?(?::(\d+))?$/.exec(part);
    if (!r) continue;
    const a = Number(r[1]);
    const b = r[2] ? Number(r[2]) : a;
    const step = r[3] ? Number(r[3]) : 1;
    for (let i = a; i <= b && out.length < 100000; i += step) out.push(`${m[1]}_${i}`);
  }
  return out;
}

export function parsePollOutput(buf: Buffer): PollResult {
  const res: PollResult = {
    squeueOk: false, squeueError: "", jobs: new Map(), metrics: new Map(), shrank: new Map(), exits: new Map(), requeued: new Map(), stamps: new Map(), leaving: new Map(),
    sacctOk: false, sacct: [], complete: false,
  };
  let pos = 0;
  const nextLine = (): string | null => {
    if (pos >= buf.length) return null;
    let nl = buf.indexOf(0x0a, pos);
    if (nl < 0) nl = buf.length;
    const s = buf.subarray(pos, nl).toString("utf8");
    pos = nl + 1;
    return s;
  };
  for (let line = nextLine(); line !== null; line = nextLine()) {
    if (!line.startsWith("@@TL ")) continue;
    const f = line.split(" ");
    switch (f[1]) {
      case "SQ": {
        res.squeueOk = f[2] === "0";
        const body: string[] = [];
        for (let l = nextLine(); l !== null && l !== "@@TL SQEND"; l = nextLine()) body.push(l);
        if (!res.squeueOk) res.squeueError = body.join("\n");
        else
          for (const l of body) {
            const [key, state, reason, submit, start, end, tres] = l.split("|");
            if (!key || !state) continue;
            for (const k of expandArrayKey(key)) res.jobs.set(k, { state, reason: reason ?? "", submit: submit ?? "", start: start ?? "", end: end ?? "", tres: tres ?? "" });
          }
        break;
      }
      case "M": {
        const idx = Number(f[2]);
        const n = Number(f[3]);
        const chunk = buf.subarray(pos, Math.min(buf.length, pos + n));
        pos += n + 1; // the bytes and the newline echo adds
        if (chunk.length === n) res.metrics.set(idx, Buffer.from(chunk));
        break;
      }
      case "Q":
        res.requeued.set(Number(f[2]), f[3] === "-" || f[3] === undefined ? null : Number(f[3]));
        break;
      case "WS": {
        const num = (x: string | undefined) => (x !== undefined && x !== "" && Number.isFinite(Number(x)) ? Number(x) : null);
        res.stamps.set(Number(f[2]), { start: num(f[3]), end: num(f[4]) });
        break;
      }
      case "WK":
        res.leaving.set(Number(f[2]), f[3] === "1");
        break;
      case "SHRANK":
        res.shrank.set(Number(f[2]), Number(f[3]));
        break;
      case "X": {
        const idx = Number(f[2]);
        const state = f[3] ?? "";
        const code = f[4] !== undefined && f[4] !== "" ? Number(f[4]) : null;
        const tail = Buffer.from(nextLine() ?? "", "base64").toString("utf8");
        res.exits.set(idx, { exitCode: Number.isFinite(code as number) ? code : null, tail, state });
        break;
      }
      case "SA": {
        res.sacctOk = f[2] === "0";
        for (let l = nextLine(); l !== null && l !== "@@TL SAEND"; l = nextLine()) {
          if (!res.sacctOk) continue;
          const [jobId, state, exitCode, elapsed, start, end, submit, allocTres] = l.split("|");
          if (!jobId || elapsed === undefined) continue;
          res.sacct.push({ jobId, state, exitCode, elapsed: Number(elapsed) || 0, start, end, submit, allocTres: allocTres ?? "" });
        }
        break;
      }
      case "END":
        res.complete = true;
        break;
    }
  }
  return res;
}
