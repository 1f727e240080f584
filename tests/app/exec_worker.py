#!/usr/bin/env python3
"""An exec target worker for the tests and the benchmark: NDJSON on stdin and
stdout (docs/targets.md). It answers "echo: <input>" with a retrieved passage,
and misbehaves on purpose by --mode or by input:

  --mode echo      answer each request as it comes (the default)
  --mode reverse   answer the requests read together in reverse order
  --mode crash     exit with status 3 (and a message on stderr) after the
                   5th request, once per marker file ($EXEC_CRASH_MARKER)
  --mode garbage   print stray lines (not JSON, JSON without an id, an
                   unknown id) before each reply
  --mode bench     the least work: {"id", "output"} only

  input "slow"      sleep 30 s before answering (the call times out)
  input "fail"      write a line to stderr and reply {"id", "error"}
  input "nooutput"  reply without "output"
  input "agent: X"  an agent's reply: a "trajectory" calling lookup_order
                    {"order_id": X} (result "SHIPPED"), then the answer
"""
import json
import os
import sys
import time


def answer(req):
    text = req.get("input")
    if text is None:
        text = req["messages"][-1]["content"]
    if text == "slow":
        time.sleep(30)
    if text == "fail":
        sys.stderr.write("worker: cannot answer 'fail' (token %s)\n" % os.environ.get("EXEC_TOKEN", "-"))
        sys.stderr.flush()
        return {"id": req["id"], "error": {"message": "bad input: fail"}}
    if text == "nooutput":
        return {"id": req["id"], "context": []}
    if text.startswith("agent: "):
        order = text[len("agent: "):]
        answer_text = "Order %s has shipped." % order
        return {"id": req["id"], "output": answer_text,
                "trajectory": [
                    {"content": "", "tool_calls": [
                        {"id": "call_1", "type": "function",
                         "function": {"name": "lookup_order",
                                      "arguments": json.dumps({"order_id": order})}}],
                     "tool_results": [{"content": "SHIPPED"}]},
                    {"content": answer_text}]}
    return {"id": req["id"], "output": "echo: " + text,
            "context": ["passage about " + text], "context_ids": ["doc-" + text],
            "usage": {"prompt_tokens": len(text), "completion_tokens": 2},
            "metadata": {"pid": os.getpid(), "vars": req.get("vars")}}


def main():
    mode = "echo"
    if "--mode" in sys.argv:
        mode = sys.argv[sys.argv.index("--mode") + 1]
    out = sys.stdout
    if mode == "bench":
        w = out.write
        for line in sys.stdin:
            req = json.loads(line)
            w('{"id":%d,"output":"ok"}\n' % req["id"])
            out.flush()
        return
    if mode == "reverse":
        fd = sys.stdin.fileno()
        buf = b""
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in reversed([l for l in lines if l]):
                out.write(json.dumps(answer(json.loads(line))) + "\n")
            out.flush()
    seen = 0
    for line in sys.stdin:
        req = json.loads(line)
        seen += 1
        if mode == "crash" and seen == 5:
            marker = os.environ.get("EXEC_CRASH_MARKER")
            if marker and not os.path.exists(marker):
                open(marker, "w").close()
                sys.stderr.write("worker: crashing on purpose\n")
                sys.stderr.flush()
                os._exit(3)
        if mode == "garbage":
            out.write("loading the model...\n")
            out.write('{"note": "no id here"}\n')
            out.write('{"id": 999999999, "output": "for nobody"}\n')
        out.write(json.dumps(answer(req)) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
