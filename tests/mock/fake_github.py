#!/usr/bin/env python3
"""A fake of the parts of GitHub's REST API the evalgate action uses, for tests.

    fake_github.py --port-file FILE --log FILE [--token T] [--seed-comments N]
                   [--artifacts FILE]

Serves on 127.0.0.1 (a free port, written to --port-file):
  GET   /repos/{o}/{r}/issues/{n}/comments?per_page=&page=   paginated with Link headers
  POST  /repos/{o}/{r}/issues/{n}/comments                   201, the new comment
  PATCH /repos/{o}/{r}/issues/comments/{id}                  200, the updated comment
  GET   /repos/{o}/{r}/actions/artifacts?name=&per_page=&page=  the artifacts of --artifacts
  GET   /_state                                              every comment, for assertions
Issue n starts with --seed-comments unrelated comments, so the action's search
has to follow the pages. A request without "Authorization: Bearer TOKEN" gets
401 like GitHub's. Every request is appended to --log as one JSON line: method,
path, query, whether it was authorised, and for writes the body's length in
characters and in UTF-16 code units and the body itself.
"""

import argparse
import json
import os
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"comments": {}, "next_id": 1000, "artifacts": []}
ARGS = None


def page_of(items, query, base_url):
    per_page = max(1, min(100, int(query.get("per_page", ["30"])[0])))
    page = max(1, int(query.get("page", ["1"])[0]))
    chunk = items[(page - 1) * per_page: page * per_page]
    links = []
    last = max(1, (len(items) + per_page - 1) // per_page)

    def url(p):
        q = {k: v[0] for k, v in query.items()}
        q["page"] = str(p)
        return "%s?%s" % (base_url, urllib.parse.urlencode(q))
    if page < last:
        links.append('<%s>; rel="next"' % url(page + 1))
        links.append('<%s>; rel="last"' % url(last))
    if page > 1:
        links.append('<%s>; rel="prev"' % url(page - 1))
        links.append('<%s>; rel="first"' % url(1))
    return chunk, ", ".join(links)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, status, data, link=None):
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        if link:
            self.send_header("Link", link)
        self.end_headers()
        self.wfile.write(raw)

    def record(self, body=None):
        u = urllib.parse.urlsplit(self.path)
        entry = {"method": self.command, "path": u.path, "query": u.query,
                 "auth": self.headers.get("Authorization") == "Bearer " + ARGS.token,
                 "api_version": self.headers.get("X-GitHub-Api-Version")}
        if body is not None:
            text = body.get("body", "") if isinstance(body, dict) else ""
            entry["chars"] = len(text)
            entry["utf16"] = len(text.encode("utf-16-le")) // 2
            entry["body"] = text
        with LOCK, open(ARGS.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
        return entry

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return None

    def base(self):
        return "http://%s" % self.headers.get("Host")

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        entry = self.record()
        if u.path == "/_state":
            with LOCK:
                return self.send_json(200, STATE["comments"])
        if not entry["auth"]:
            return self.send_json(401, {"message": "Bad credentials"})
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues/(\d+)/comments", u.path)
        if m:
            with LOCK:
                items = [c for c in STATE["comments"].values() if c["issue"] == int(m.group(3))]
            items.sort(key=lambda c: c["id"])
            chunk, link = page_of(items, q, self.base() + u.path)
            return self.send_json(200, [{k: v for k, v in c.items() if k != "issue"} for c in chunk], link)
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/actions/artifacts", u.path)
        if m:
            name = q.get("name", [None])[0]
            items = [a for a in STATE["artifacts"] if name is None or a["name"] == name]
            chunk, link = page_of(items, q, self.base() + u.path)
            return self.send_json(200, {"total_count": len(items), "artifacts": chunk}, link)
        return self.send_json(404, {"message": "Not Found"})

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        body = self.read_body()
        entry = self.record(body)
        if not entry["auth"]:
            return self.send_json(401, {"message": "Bad credentials"})
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues/(\d+)/comments", u.path)
        if not m:
            return self.send_json(404, {"message": "Not Found"})
        if not isinstance(body, dict) or not isinstance(body.get("body"), str):
            return self.send_json(422, {"message": "Validation Failed"})
        if entry["chars"] > 65536:
            return self.send_json(422, {"message": "Validation Failed: body is too long (maximum is 65536 characters)"})
        with LOCK:
            cid = STATE["next_id"]
            STATE["next_id"] += 1
            c = {"id": cid, "issue": int(m.group(3)), "body": body["body"],
                 "html_url": "https://github.test/%s/%s/pull/%s#issuecomment-%d" % (m.group(1), m.group(2), m.group(3), cid),
                 "user": {"login": "github-actions[bot]"}}
            STATE["comments"][str(cid)] = c
        return self.send_json(201, {k: v for k, v in c.items() if k != "issue"})

    def do_PATCH(self):
        u = urllib.parse.urlsplit(self.path)
        body = self.read_body()
        entry = self.record(body)
        if not entry["auth"]:
            return self.send_json(401, {"message": "Bad credentials"})
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues/comments/(\d+)", u.path)
        with LOCK:
            c = STATE["comments"].get(m.group(3)) if m else None
            if c is None:
                return self.send_json(404, {"message": "Not Found"})
            if not isinstance(body, dict) or not isinstance(body.get("body"), str) or entry["chars"] > 65536:
                return self.send_json(422, {"message": "Validation Failed"})
            c["body"] = body["body"]
        return self.send_json(200, {k: v for k, v in c.items() if k != "issue"})


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--token", default="test-token")
    p.add_argument("--issue", type=int, default=7)
    p.add_argument("--seed-comments", type=int, default=0)
    p.add_argument("--artifacts")
    ARGS = p.parse_args()
    for i in range(ARGS.seed_comments):
        cid = STATE["next_id"]
        STATE["next_id"] += 1
        STATE["comments"][str(cid)] = {"id": cid, "issue": ARGS.issue, "body": "unrelated comment %d" % i,
                                       "html_url": "https://github.test/c/%d" % cid, "user": {"login": "someone"}}
    if ARGS.artifacts:
        with open(ARGS.artifacts, encoding="utf-8") as f:
            STATE["artifacts"] = json.load(f)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
