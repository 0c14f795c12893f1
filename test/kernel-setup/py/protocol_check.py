"""Drives the tunelab kernel through Debian's jupyter_client and prints one
JSON line per check: {"check": name, "ok": bool, "detail": ...}.

Usage: /usr/bin/python3 protocol_check.py <kernel cwd> <stderr log path>
JUPYTER_PATH must point at a data dir holding kernels/tunelab (the node test
sets it to a temp dir).
"""
import contextlib
import json
import os
import signal
import sys
import time
import traceback
import uuid

from jupyter_client import KernelManager
from jupyter_client.session import Session

CWD = sys.argv[1]
LOG = sys.argv[2]
BRIDGE = 'const B = (globalThis as any)[Symbol.for("tunelab.kernel.bridge")];'


def report(name, ok, detail=None):
    print(json.dumps({"check": name, "ok": bool(ok), "detail": detail}, default=str), flush=True)


class Driver:
    def __init__(self, km, kc):
        self.km = km
        self.kc = kc
        self.iopub = []
        self.shell = []

    def pull(self, timeout=0.05):
        try:
            while True:
                self.iopub.append(self.kc.get_iopub_msg(timeout=timeout))
                timeout = 0.001
        except Exception:
            pass

    def for_parent(self, msg_id):
        return [m for m in self.iopub if m["parent_header"].get("msg_id") == msg_id]

    def wait_iopub(self, pred, timeout=20.0):
        end = time.time() + timeout
        while True:
            for m in self.iopub:
                if pred(m):
                    return m
            if time.time() > end:
                return None
            self.pull(0.1)

    def wait_idle(self, msg_id, timeout=30.0):
        return self.wait_iopub(
            lambda m: m["parent_header"].get("msg_id") == msg_id
            and m["msg_type"] == "status"
            and m["content"]["execution_state"] == "idle",
            timeout,
        )

    def wait_shell(self, msg_id, timeout=30.0):
        end = time.time() + timeout
        while True:
            for m in self.shell:
                if m["parent_header"].get("msg_id") == msg_id:
                    return m
            left = end - time.time()
            if left <= 0:
                return None
            try:
                self.shell.append(self.kc.get_shell_msg(timeout=min(left, 0.5)))
            except Exception:
                pass

    def execute(self, code, timeout=60.0, **kw):
        msg_id = self.kc.execute(code, **kw)
        reply = self.wait_shell(msg_id, timeout)
        self.wait_idle(msg_id, 10.0 if reply else 0.1)
        return msg_id, reply, self.for_parent(msg_id)

    def send_shell(self, msg_type, content, buffers=None):
        msg = self.kc.session.msg(msg_type, content)
        self.kc.session.send(self.kc.shell_channel.socket, msg, buffers=buffers)
        return msg["header"]["msg_id"]


def types(msgs):
    return [m["msg_type"] for m in msgs]


def result_text(msgs):
    for m in msgs:
        if m["msg_type"] == "execute_result":
            return m["content"]["data"].get("text/plain")
    return None


def stream_text(msgs, name="stdout"):
    return "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "stream" and m["content"]["name"] == name)


def checks(d):
    kc, km = d.kc, d.km
    yield "kernel_info"
    reply = kc.kernel_info(reply=True, timeout=30)
    c = reply["content"]
    li = c["language_info"]
    report("kernel_info", reply["msg_type"] == "kernel_info_reply" and li["name"] == "typescript"
           and li["file_extension"] == ".ts" and li["mimetype"] == "text/typescript"
           and "typescript" in json.dumps(li["codemirror_mode"]) and c["protocol_version"] == "5.3"
           and c["implementation"] == "tunelab", c)

    yield "kernel_info_on_control"
    m = kc.session.msg("kernel_info_request", {})
    kc.control_channel.send(m)
    rep = None
    end = time.time() + 20
    while rep is None and time.time() < end:
        try:
            x = kc.get_control_msg(timeout=1)
            if x["parent_header"].get("msg_id") == m["header"]["msg_id"]:
                rep = x
        except Exception:
            pass
    report("kernel_info_on_control", rep is not None and rep["msg_type"] == "kernel_info_reply"
           and rep["content"]["language_info"]["name"] == "typescript", rep and rep["msg_type"])

    yield "execute_result"
    msg_id, reply, msgs = d.execute("1+2")
    t = types(msgs)
    ok = (reply and reply["content"]["status"] == "ok" and result_text(msgs) == "3"
          and t[0] == "status" and msgs[0]["content"]["execution_state"] == "busy"
          and "execute_input" in t and t[-1] == "status"
          and [m for m in msgs if m["msg_type"] == "execute_input"][0]["content"]["code"] == "1+2")
    count1 = reply["content"]["execution_count"] if reply else None
    report("execute_result", ok, {"types": t, "reply": reply and reply["content"]})

    yield "execution_count"
    _, reply, msgs = d.execute("'a' + 'b'")
    count2 = reply["content"]["execution_count"]
    er = [m for m in msgs if m["msg_type"] == "execute_result"]
    report("execution_count", count2 == count1 + 1 and er and er[0]["content"]["execution_count"] == count2
           and result_text(msgs) == "'ab'", {"counts": [count1, count2], "text": result_text(msgs)})

    yield "silent"
    _, reply, msgs = d.execute("5", silent=True)
    report("silent", reply["content"]["status"] == "ok" and "execute_input" not in types(msgs)
           and "execute_result" not in types(msgs), types(msgs))

    yield "stream_stdout"
    _, reply, msgs = d.execute('console.log("hello", 42); console.error("oops")')
    report("stream_stdout", stream_text(msgs) == "hello 42\n" and stream_text(msgs, "stderr") == "oops\n", types(msgs))

    yield "error_throw"
    _, reply, msgs = d.execute('function f() { throw new RangeError("boom") }\nf()')
    c = reply["content"]
    errs = [m for m in msgs if m["msg_type"] == "error"]
    report("error_throw", c["status"] == "error" and c["ename"] == "RangeError" and c["evalue"] == "boom"
           and len(c["traceback"]) >= 1 and "boom" in c["traceback"][0] and errs
           and errs[0]["content"]["ename"] == "RangeError", c)

    yield "error_compile"
    _, reply, msgs = d.execute('let n: number = "a";')
    c = reply["content"]
    tb = "\n".join(c.get("traceback", []))
    report("error_compile", c["status"] == "error" and "TS2322" in c["evalue"] and "1:5" in tb
           and 'let n: number = "a";' in tb, c)

    yield "stop_on_error_aborts_queue"
    a = kc.execute('await new Promise((r) => setTimeout(r, 500));\nthrow new Error("first")')
    b = kc.execute("99")
    ra, rb = d.wait_shell(a), d.wait_shell(b)
    d.wait_idle(b)
    report("stop_on_error_aborts_queue", ra["content"]["status"] == "error" and rb["content"]["status"] == "aborted",
           [ra["content"]["status"], rb["content"]["status"]])

    yield "rich_display_last_expression"
    _, reply, msgs = d.execute('({ [Symbol.for("Jupyter.display")]() { return { "text/html": "<b>hi</b>", "text/plain": "hi" }; } })')
    er = [m for m in msgs if m["msg_type"] == "execute_result"]
    report("rich_display_last_expression", er and er[0]["content"]["data"].get("text/html") == "<b>hi</b>",
           er and er[0]["content"])

    yield "last_expression_with_display_id"
    # an object that updates itself later (widgets): shown as display_data with its id, then updatable
    _, reply, msgs = d.execute('const selfUpdating = { [Symbol.for("Jupyter.display")]() { return { "text/plain": "v1" }; }, [Symbol.for("tunelab.displayId")]: "own-1" };\nselfUpdating')
    dd = [m for m in msgs if m["msg_type"] == "display_data"]
    er = [m for m in msgs if m["msg_type"] == "execute_result"]
    _, reply2, msgs2 = d.execute(BRIDGE + '\nB.display({"text/plain": "v2"}, {displayId: "own-1", update: true});')
    ud = [m for m in msgs2 if m["msg_type"] == "update_display_data"]
    report("last_expression_with_display_id", not er and len(dd) == 1 and dd[0]["content"]["transient"] == {"display_id": "own-1"}
           and dd[0]["content"]["data"] == {"text/plain": "v1"} and ud and ud[0]["content"]["transient"]["display_id"] == "own-1",
           [types(msgs), types(msgs2)])

    yield "stdin_input_request"
    # input() asks the front-end on stdin, parented to the cell; the reply resolves the cell's await
    msg_id = kc.execute(BRIDGE + '\nconst code = await B.input("Verification code: ", { password: true });\n`got ${code.length} chars`', allow_stdin=True)
    req = None
    try:
        req = kc.get_stdin_msg(timeout=20)
    except Exception as e:
        req = {"error": repr(e)}
    if isinstance(req, dict) and req.get("msg_type") == "input_request":
        kc.input("123456")
    reply = d.wait_shell(msg_id, 30)
    d.wait_idle(msg_id, 10)
    got = result_text(d.for_parent(msg_id))
    report("stdin_input_request", isinstance(req, dict) and req.get("msg_type") == "input_request"
           and req["content"] == {"prompt": "Verification code: ", "password": True}
           and req["parent_header"].get("msg_id") == msg_id and reply and reply["content"]["status"] == "ok"
           and got == "'got 6 chars'", [req, got, reply and reply["content"].get("status")])

    yield "stdin_not_allowed"
    _, reply, msgs = d.execute(BRIDGE + '\nawait B.input("code: ")', allow_stdin=False)
    err = [m for m in msgs if m["msg_type"] == "error"]
    report("stdin_not_allowed", reply and reply["content"]["status"] == "error" and err
           and "allow_stdin is false" in " ".join(err[0]["content"]["traceback"]) + err[0]["content"]["evalue"],
           err and err[0]["content"])

    yield "display_and_update"
    _, reply, msgs = d.execute(BRIDGE + '\nB.display({"text/plain": "v1"}, {displayId: "d1"});\nB.display({"text/plain": "v2"}, {displayId: "d1", update: true});')
    dd = [m for m in msgs if m["msg_type"] == "display_data"]
    ud = [m for m in msgs if m["msg_type"] == "update_display_data"]
    report("display_and_update", dd and ud and dd[0]["content"]["transient"]["display_id"] == "d1"
           and ud[0]["content"]["transient"]["display_id"] == "d1" and ud[0]["content"]["data"]["text/plain"] == "v2",
           types(msgs))

    yield "tslab_display"
    _, reply, msgs = d.execute('import * as tslab from "tslab";\ntslab.display.html("<i>x</i>")')
    dd = [m for m in msgs if m["msg_type"] == "display_data"]
    report("tslab_display", dd and dd[0]["content"]["data"].get("text/html") == "<i>x</i>", types(msgs))

    yield "comm_open_from_kernel_with_buffers"
    mid, reply, msgs = d.execute(BRIDGE + '\nconst kc1 = B.comms.open("test.target", {x: 1}, {m: 2}, [new Uint8Array([1, 2, 3])]);\nkc1.send({y: 2}, {}, [new Float32Array([1.5])]);\nkc1.commId')
    op = [m for m in msgs if m["msg_type"] == "comm_open"]
    cm = [m for m in msgs if m["msg_type"] == "comm_msg"]
    kernel_comm_id = op[0]["content"]["comm_id"] if op else None
    report("comm_open_from_kernel_with_buffers",
           op and op[0]["content"]["target_name"] == "test.target" and op[0]["content"]["data"] == {"x": 1}
           and op[0]["metadata"] == {"m": 2} and [bytes(b) for b in op[0]["buffers"]] == [b"\x01\x02\x03"]
           and cm and cm[0]["content"]["data"] == {"y": 2} and bytes(cm[0]["buffers"][0]) == bytes.fromhex("0000c03f")
           and op[0]["parent_header"]["msg_id"] == mid,
           {"types": types(msgs)})

    yield "comm_info_reply"
    msg_id = d.send_shell("comm_info_request", {"target_name": "test.target"})
    r1 = d.wait_shell(msg_id)
    msg_id2 = d.send_shell("comm_info_request", {"target_name": "other"})
    r2 = d.wait_shell(msg_id2)
    msg_id3 = d.send_shell("comm_info_request", {})
    r3 = d.wait_shell(msg_id3)
    report("comm_info_reply", r1["msg_type"] == "comm_info_reply" and r1["content"]["status"] == "ok"
           and r1["content"]["comms"] == {kernel_comm_id: {"target_name": "test.target"}}
           and r2["content"]["comms"] == {} and kernel_comm_id in r3["content"]["comms"],
           [r1["msg_type"], r1["content"], r2["content"]])

    yield "comm_frontend_buffer_echo"
    d.execute(BRIDGE + '''
let got: any[] = [];
B.comms.registerTarget("echo", (comm: any, open: any) => {
  got.push(open.data);
  comm.onMsg((m: any) => {
    const bytes = m.buffers.map((dv: DataView) => new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength).map((x) => x + 1));
    comm.send({ echo: m.data, n: m.buffers.length }, {}, bytes);
  });
  comm.onClose((m: any) => got.push({ closed: m.data }));
});''')
    comm_id = uuid.uuid4().hex
    open_id = d.send_shell("comm_open", {"comm_id": comm_id, "target_name": "echo", "data": {"hello": 1}})
    d.wait_idle(open_id)
    msg_id = d.send_shell("comm_msg", {"comm_id": comm_id, "data": {"method": "ping"}}, buffers=[b"\x01\x02\x03", b"\xff\x00"])
    d.wait_idle(msg_id)
    around = d.for_parent(msg_id)
    echo = [m for m in around if m["msg_type"] == "comm_msg"]
    st = [m["content"]["execution_state"] for m in around if m["msg_type"] == "status"]
    report("comm_frontend_buffer_echo", echo and echo[0]["content"]["data"] == {"echo": {"method": "ping"}, "n": 2}
           and [bytes(b) for b in echo[0]["buffers"]] == [b"\x02\x03\x04", b"\x00\x01"] and st == ["busy", "idle"],
           {"types": types(around), "states": st})

    yield "comm_busy_idle_parent"
    st_open = [m["content"]["execution_state"] for m in d.for_parent(open_id) if m["msg_type"] == "status"]
    report("comm_busy_idle_parent", st_open == ["busy", "idle"] and st == ["busy", "idle"], [st_open, st])

    yield "comm_close_from_frontend"
    close_id = d.send_shell("comm_close", {"comm_id": comm_id, "data": {"bye": True}})
    d.wait_idle(close_id)
    _, reply, msgs = d.execute(f'JSON.stringify([got, B.comms.get("{comm_id}") === undefined])')
    report("comm_close_from_frontend", result_text(msgs) == "'" + json.dumps([[{"hello": 1}, {"closed": {"bye": True}}], True], separators=(",", ":")) + "'",
           result_text(msgs))

    yield "comm_while_cell_runs"
    mid = kc.execute(BRIDGE + '\nconst woke = await new Promise((resolve) => B.comms.registerTarget("wake", (c: any) => c.onMsg((m: any) => resolve(m.data.v))));\n"woke " + woke')
    time.sleep(1.0)
    wake_id = uuid.uuid4().hex
    d.send_shell("comm_open", {"comm_id": wake_id, "target_name": "wake", "data": {}})
    d.send_shell("comm_msg", {"comm_id": wake_id, "data": {"v": 5}})
    r = d.wait_shell(mid, 20)
    d.wait_idle(mid)
    report("comm_while_cell_runs", r is not None and r["content"]["status"] == "ok" and result_text(d.for_parent(mid)) == "'woke 5'",
           r and r["content"])

    yield "comm_unknown_target"
    bad_id = uuid.uuid4().hex
    mid = d.send_shell("comm_open", {"comm_id": bad_id, "target_name": "no.such.target", "data": {}})
    d.wait_idle(mid)
    cl = [m for m in d.for_parent(mid) if m["msg_type"] == "comm_close"]
    report("comm_unknown_target", cl and cl[0]["content"]["comm_id"] == bad_id, types(d.for_parent(mid)))

    yield "update_after_cell_returned"
    a, ra, _ = d.execute(BRIDGE + '\nconst lateComm = B.comms.open("late.target", {});\nsetTimeout(() => { lateComm.send({ late: true }, {}, [new Uint8Array([7])]); console.log("late log"); }, 3000);\n"scheduled"')
    b, rb, _ = d.execute("2")
    late = d.wait_iopub(lambda m: m["msg_type"] == "comm_msg" and m["content"].get("data") == {"late": True}, 15)
    log = d.wait_iopub(lambda m: m["msg_type"] == "stream" and "late log" in m["content"]["text"], 5)
    report("update_after_cell_returned", late is not None and late["parent_header"]["msg_id"] == b
           and bytes(late["buffers"][0]) == b"\x07" and log is not None and log["parent_header"]["msg_id"] == b,
           {"late_parent": late and late["parent_header"].get("msg_id"), "latest": b, "first": a})

    yield "child_process_stdout"
    _, reply, msgs = d.execute('import { spawn } from "child_process";\nconst child = spawn("echo", ["from-child"]);\nchild.stdout.pipe(process.stdout);\nawait new Promise((r) => child.on("close", r));')
    report("child_process_stdout", "from-child" in stream_text(msgs), types(msgs))

    yield "interrupt_blocking"
    mid = kc.execute("while (true) {}")
    time.sleep(3.5)
    beating = kc.hb_channel.is_beating()
    km.interrupt_kernel()
    r = d.wait_shell(mid, 20)
    _, r2, msgs2 = d.execute("40 + 2")
    report("heartbeat_while_blocked", beating, beating)
    report("interrupt_blocking", r is not None and r["content"]["status"] == "error" and r["content"]["ename"] == "Interrupted"
           and result_text(msgs2) == "42", r and r["content"])

    yield "interrupt_await"
    mid = kc.execute("await new Promise(() => {})")
    time.sleep(1.0)
    km.interrupt_kernel()
    r = d.wait_shell(mid, 20)
    _, r2, msgs2 = d.execute("40 + 3")
    report("interrupt_await", r is not None and r["content"]["status"] == "error" and r["content"]["ename"] == "Interrupted"
           and result_text(msgs2) == "43", r and r["content"])

    yield "interrupt_sigint"
    mid = kc.execute("await new Promise(() => {})")
    time.sleep(1.0)
    os.kill(km.provisioner.process.pid if getattr(km, "provisioner", None) else km.kernel.pid, signal.SIGINT)
    r = d.wait_shell(mid, 20)
    _, r2, msgs2 = d.execute("40 + 4")
    report("interrupt_sigint", r is not None and r["content"]["status"] == "error" and result_text(msgs2) == "44", r and r["content"])

    yield "timer_unhandled_rejection"
    mid, r, _ = d.execute('setTimeout(() => { Promise.reject(new Error("late-boom")); }, 200);\nsetTimeout(() => { throw new TypeError("timer-throw"); }, 300);\n1')
    rej = d.wait_iopub(lambda m: m["msg_type"] == "stream" and "late-boom" in m["content"]["text"], 10)
    thr = d.wait_iopub(lambda m: m["msg_type"] == "stream" and "timer-throw" in m["content"]["text"], 10)
    _, r2, msgs2 = d.execute("'alive'")
    report("timer_unhandled_rejection", rej is not None and rej["content"]["name"] == "stderr" and rej["parent_header"]["msg_id"] == mid
           and thr is not None and result_text(msgs2) == "'alive'", {"rej": rej and rej["content"], "thr": thr and thr["content"]})

    yield "bad_signature"
    bad = Session(key=b"not-the-key", username="intruder")
    msg = bad.msg("execute_request", {"code": "globalThis.__hacked = 1", "silent": False, "store_history": True,
                                       "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
    bad.send(kc.shell_channel.socket, msg)
    r = d.wait_shell(msg["header"]["msg_id"], 2.0)
    _, r2, msgs2 = d.execute("typeof (globalThis as any).__hacked")
    time.sleep(0.2)
    with open(LOG) as f:
        log_text = f.read()
    report("bad_signature", r is None and not d.for_parent(msg["header"]["msg_id"]) and result_text(msgs2) == "'undefined'"
           and "invalid signature" in log_text, {"result": result_text(msgs2), "log_has": "invalid signature" in log_text})

    yield "complete"
    d.execute("const myVariable = 1;")
    code = "myVar"
    msg_id = kc.complete(code, len(code))
    r = d.wait_shell(msg_id)
    code2 = "Math.ma"
    r2 = d.wait_shell(kc.complete(code2, len(code2)))
    report("complete", r["msg_type"] == "complete_reply" and "myVariable" in r["content"]["matches"]
           and r["content"]["cursor_start"] == 0 and r["content"]["cursor_end"] == 5 and "max" in r2["content"]["matches"],
           [r["content"], r2["content"]["matches"][:10]])

    yield "inspect"
    r = d.wait_shell(kc.inspect("Math.max", 6))
    report("inspect", r["msg_type"] == "inspect_reply" and r["content"]["found"] and "max" in r["content"]["data"]["text/plain"], r["content"])

    yield "is_complete"
    r1 = d.wait_shell(kc.is_complete("if (x) {"))
    r2 = d.wait_shell(kc.is_complete("1 + 1"))
    report("is_complete", r1["content"]["status"] == "incomplete" and r2["content"]["status"] == "complete", [r1["content"], r2["content"]])

    yield "history"
    r = d.wait_shell(kc.history())
    report("history", r["msg_type"] == "history_reply" and r["content"]["status"] == "ok", r["content"])

    yield "library_import"
    if os.path.exists(os.path.join(CWD, "node_modules", "tunelab")) or os.path.exists(os.path.join(os.path.dirname(CWD), "node_modules", "tunelab")):
        _, r, msgs = d.execute('import { Rng } from "tunelab/dist/src/space/rng";\nconst rr = new Rng(7);\ntypeof rr.next()')
        code = 'import { Rng } from "tunelab/dist/src/space/rng";\nnew Rng(1).un'
        rc = d.wait_shell(kc.complete(code, len(code)))
        _, r2, msgs2 = d.execute('import { display } from "tunelab/dist/widgets/display";\nconst h = display({ "text/html": "<p>lib</p>", "text/plain": "lib" });\nh.update({ "text/plain": "lib2" });')
        dd = [m for m in msgs2 if m["msg_type"] == "display_data"]
        ud = [m for m in msgs2 if m["msg_type"] == "update_display_data"]
        report("library_import", result_text(msgs) == "'number'" and "uniform" in rc["content"]["matches"],
               {"result": result_text(msgs), "reply": r["content"], "matches": rc["content"]["matches"][:10]})
        report("library_display_helper", dd and dd[0]["content"]["data"]["text/html"] == "<p>lib</p>" and ud
               and ud[0]["content"]["transient"]["display_id"] == dd[0]["content"]["transient"]["display_id"],
               {"types": types(msgs2), "reply": r2["content"]})
    else:
        report("library_import", False, "node_modules/tunelab missing")

    yield "restart"
    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=60)
    d.iopub.clear()
    _, r, msgs = d.execute("typeof (globalThis as any).__tunelab_marker")
    report("restart", r["content"]["execution_count"] == 1 and result_text(msgs) == "'undefined'", r["content"])

    yield "shutdown"
    marker = LOG + ".shutdown-hook"
    d.execute(BRIDGE + f'\nB.onShutdown(async () => {{ await new Promise((r) => setTimeout(r, 100)); require("fs").writeFileSync({json.dumps(marker)}, "bye"); }});')
    proc = km.provisioner.process if getattr(km, "provisioner", None) else km.kernel
    msg_id = kc.shutdown(restart=False)
    rep = None
    try:
        end = time.time() + 15
        while time.time() < end and rep is None:
            m = kc.get_control_msg(timeout=1)
            if m["parent_header"].get("msg_id") == msg_id:
                rep = m
    except Exception:
        pass
    code = None
    for _ in range(100):
        code = proc.poll()
        if code is not None:
            break
        time.sleep(0.1)
    report("shutdown", rep is not None and rep["msg_type"] == "shutdown_reply" and code == 0, {"reply": rep and rep["content"], "exit": code})
    report("shutdown_hooks", os.path.exists(marker), marker)


@contextlib.contextmanager
def tunelab_kernel(cwd, log_path):
    """The tunelab kernel started in `cwd` (stderr to `log_path`), ready, with a Driver; shut down on exit."""
    log = open(log_path, "w")
    km = KernelManager(kernel_name="tunelab")
    km.start_kernel(cwd=cwd, stderr=log)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=90)
        yield km, kc, Driver(km, kc)
    finally:
        kc.stop_channels()
        if km.has_kernel:
            try:
                km.shutdown_kernel(now=True)
            except Exception:
                pass
        log.close()


def run_checks(checks_of):
    """Runs the generator `checks_of(driver)` on a fresh kernel in CWD; an exception is reported as a failed check."""
    with tunelab_kernel(CWD, LOG) as (km, kc, d):
        gen = checks_of(d)
        name = None
        while True:
            try:
                name = next(gen)
            except StopIteration:
                break
            except Exception as e:
                report(name or "?", False, "exception: " + traceback.format_exc())
                break


def main():
    run_checks(checks)


if __name__ == "__main__":
    main()
