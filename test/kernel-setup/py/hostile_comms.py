"""Hostile comm messages against the real tunelab kernel (issue 14), through
Debian's jupyter_client. Prints one JSON line per check like protocol_check.py.

Usage: /usr/bin/python3 hostile_comms.py <kernel cwd> <stderr log path> <widget module path>
"""
import json
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol_check as pc  # noqa: E402  (its Driver, report and run_checks; main() is guarded)


WIDGET_JS = sys.argv[3]
sys.setrecursionlimit(50000)  # so json.dumps can write the 900-level message


def result(d, code):
    _, reply, msgs = d.execute(code)
    return reply and reply["content"]["status"], pc.result_text(msgs)


def checks(d):
    # a real widget of the library: its update handler is what buffer_paths used to pollute
    _, reply, msgs = d.execute(
        'const { Widget } = require(%s); const w = new Widget({ value: 1, _model_name: "T" }); (globalThis as any).__w = w; w.modelId' % json.dumps(WIDGET_JS)
    )
    wid = json.loads(pc.result_text(msgs).replace("'", '"'))
    hostile = [
        ("buffer_paths___proto__", {"method": "update", "state": {}, "buffer_paths": [["__proto__", "polluted"]]}, [b"\x01"]),
        ("buffer_paths_constructor_prototype", {"method": "update", "state": {}, "buffer_paths": [["constructor", "prototype", "polluted"]]}, [b"\x01"]),
        ("state_key___proto__", {"method": "update", "state": {"__proto__": {"polluted": 1}}, "buffer_paths": []}, []),
        ("nested_state_key_prototype", {"method": "update", "state": {"a": {"b": [{"prototype": {"polluted": 1}}]}}}, []),
        ("buffer_path_negative_index", {"method": "update", "state": {"v": [0]}, "buffer_paths": [["v", -1]]}, [b"\x01"]),
        ("buffer_paths_more_than_buffers", {"method": "update", "state": {}, "buffer_paths": [["a"], ["b"]]}, [b"\x01"]),
        ("buffer_paths_not_a_list", {"method": "update", "state": {}, "buffer_paths": "__proto__"}, []),
    ]
    deep = {}
    cur = deep
    for _ in range(900):
        cur["x"] = {}
        cur = cur["x"]
    hostile.append(("deeply_nested_state", {"method": "update", "state": {"value": deep}}, []))
    for name, data, bufs in hostile:
        yield name
        mid = d.send_shell("comm_msg", {"comm_id": wid, "data": data}, buffers=bufs)
        idle = d.wait_idle(mid)
        status, text = result(d, "[({} as any).polluted === undefined, (Object.prototype as any).polluted === undefined, JSON.stringify((globalThis as any).__w.getState().value)].join(' ')")
        pc.report(name, idle is not None and status == "ok" and text.strip("'\"") == "true true 1", {"status": status, "text": text})

    yield "request_state_after_hostile"
    mid = d.send_shell("comm_msg", {"comm_id": wid, "data": {"method": "request_state"}})
    d.wait_idle(mid)
    upd = [m for m in d.for_parent(mid) if m["msg_type"] == "comm_msg"]
    pc.report("request_state_after_hostile", len(upd) == 1 and upd[0]["content"]["data"]["state"].get("value") == 1,
              [m["content"] for m in upd])

    yield "legit_update_still_applies"
    mid = d.send_shell("comm_msg", {"comm_id": wid, "data": {"method": "update", "state": {"value": 5}, "buffer_paths": []}})
    d.wait_idle(mid)
    status, text = result(d, "(globalThis as any).__w.getState().value")
    pc.report("legit_update_still_applies", status == "ok" and text.strip() == "5", text)

    yield "hostile_comm_open_refused"
    d.execute('const B2 = (globalThis as any)[Symbol.for("tunelab.kernel.bridge")]; (globalThis as any).__opened = 0; B2.comms.registerTarget("h.target", () => { (globalThis as any).__opened++; });')
    cid = uuid.uuid4().hex
    mid = d.send_shell("comm_open", {"comm_id": cid, "target_name": "h.target", "data": {"state": {"constructor": {"prototype": {"polluted": 1}}}, "buffer_paths": []}})
    d.wait_idle(mid)
    closes = [m for m in d.for_parent(mid) if m["msg_type"] == "comm_close" and m["content"]["comm_id"] == cid]
    status, text = result(d, "String((globalThis as any).__opened)")
    pc.report("hostile_comm_open_refused", len(closes) == 1 and text.strip("'\"") == "0", {"closes": len(closes), "opened": text})

    yield "kernel_responsive"
    status, text = result(d, "40 + 2")
    pc.report("kernel_responsive", status == "ok" and text.strip() == "42", text)


def main():
    pc.run_checks(checks)


if __name__ == "__main__":
    main()
