#!/usr/bin/env python3
"""An exec scorer for the tests: NDJSON on stdin and stdout. Scores 1 when
the case's expected text is in the output, else 0; a case whose input is
"scorer-error" gets {"id", "error"}. Each answer's reason names the pid, so
a test can tell a cached verdict from a fresh one."""
import json
import os
import sys

for line in sys.stdin:
    req = json.loads(line)
    text = req.get("input") or ""
    if text == "scorer-error":
        sys.stderr.write("scorer: refusing %s\n" % text)
        sys.stderr.flush()
        reply = {"id": req["id"], "error": "cannot score this"}
    else:
        hit = (req.get("expected") or "") in req["output"]
        reply = {"id": req["id"], "score": 1 if hit else 0,
                 "reason": "expected %s (pid %d)" % ("found" if hit else "missing", os.getpid())}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
