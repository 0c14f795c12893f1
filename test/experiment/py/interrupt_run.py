"""■ Interrupt during `await exp.run()` in the real tunelab kernel, through
Debian's jupyter_client (the client JupyterLab's server uses): runs the setup
cell, starts the run cell, waits until the run has `count` files matching
`glob` (trials training), sends interrupt_kernel() as the toolbar button
does, then runs the follow-up cells. Prints one JSON document.

Usage: /usr/bin/python3 interrupt_run.py <kernel cwd> <stderr log> <plan.json>
plan: {"setup": code, "run": code, "glob": pattern, "count": n, "after": [code, ...], "timeout": s}
"""
import glob
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "kernel-setup", "py"))
sys.argv = [sys.argv[0], sys.argv[1], sys.argv[2], sys.argv[3]]
import protocol_check as pc  # noqa: E402  (its kernel helper and Driver; main() is guarded)


CWD, LOG, PLAN = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
TIMEOUT = PLAN.get("timeout", 180)


def cell(msgs, reply):
    return {
        "status": reply and reply["content"]["status"],
        "ename": reply and reply["content"].get("ename"),
        "evalue": reply and reply["content"].get("evalue"),
        "stdout": pc.stream_text(msgs, "stdout"),
        "stderr": pc.stream_text(msgs, "stderr"),
        "result": pc.result_text(msgs),
    }


def main():
    out = {}
    with pc.tunelab_kernel(CWD, LOG) as (km, kc, d):
        mid, reply, msgs = d.execute(PLAN["setup"], timeout=120)
        out["setup"] = cell(msgs, reply)
        run_id = kc.execute(PLAN["run"])
        end = time.time() + TIMEOUT
        while len(glob.glob(PLAN["glob"])) < PLAN["count"] and time.time() < end:
            d.pull(0.2)
        out["matched_before_interrupt"] = sorted(glob.glob(PLAN["glob"]))
        out["interrupt_at"] = time.time()
        km.interrupt_kernel()
        reply = d.wait_shell(run_id, TIMEOUT)
        d.wait_idle(run_id, 10)
        out["run"] = cell(d.for_parent(run_id), reply)
        out["after"] = []
        for code in PLAN.get("after", []):
            mid, reply, msgs = d.execute(code, timeout=TIMEOUT)
            out["after"].append(cell(msgs, reply))
    print(json.dumps(out, default=str), flush=True)


if __name__ == "__main__":
    main()
