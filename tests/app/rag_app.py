#!/usr/bin/env python3
"""A small retrieval-augmented support assistant, as an application evalgate
tests through an http target (docs/targets.md).

It retrieves passages from the policy documents in docs/ by keyword overlap
and answers by calling an OpenAI-compatible chat/completions endpoint with
them. Python 3 standard library only.

    RAG_GATEWAY_URL=http://127.0.0.1:4000/v1 python3 rag_app.py --port 8080

Endpoints:
  POST /ask  {"question": "...", "top_k": 3, "instructions": "..."}
             (instructions, when given, replace the built-in system prompt:
             the prompt a team edits and evaluates, e.g. a prompt file)
             -> {"answer": "...", "sources": [{"id", "title", "text", "score"}],
                 "usage": {"prompt_tokens", "completion_tokens"}, "model": "..."}
  GET  /ask?q=...&top_k=3   the same
  POST /agent {"question": "...", "top_k": 3}
             the same answer, as an agent's trajectory: a first step calling
             its search_policy tool (arguments {"query", "top_k"}, result
             the ids found), then the answer
             -> {"answer": "...", "trajectory": [{"content": "", "tool_calls":
                 [{"name", "arguments", "result"}]}, {"content": "..."}], ...}
  GET  /health              ok

Environment: RAG_GATEWAY_URL (the chat/completions base URL, required),
RAG_MODEL (default "rag-model"), RAG_API_KEY (sent to the gateway as a
bearer token when set), RAG_APP_TOKEN (when set, requests must carry
"Authorization: Bearer <it>", else 401). x-evalgate-* headers are passed on
to the gateway, so it can attribute each call to its case.

For evalgate's own tests (never needed by a real application) /test/...
answers the way a misbehaving application might: /test/redirect (302 to
/ask), /test/text (a 200 that is not JSON), /test/flaky?fail=N (503 for the
first N requests of each case, then /ask), /test/nested (the /ask answer in
a deeper shape) and /test/partial (the /ask answer without "sources").
"""
import argparse
import http.client
import json
import math
import os
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STOPWORDS = set("""a an and are as at be been but by can could did do does for from had
has have how i if in into is it its my of on or our so that the their then there these
this to was we were what when where which who will with you your yet not no me am
after before still any all get got just also""".split())

SYSTEM = ("You are the Acme Store support assistant. Answer the customer's question "
          "using only the numbered policy excerpts in the message. If the excerpts do "
          "not answer it, say so. Answer in at most three sentences.")


def stem(w):
    for suffix in ("ing", "ed", "es", "s"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            w = w[:-len(suffix)]
            break
    return w[:6]


def words(text):
    """The stems of the words that carry meaning: returned, returns -> return."""
    return {stem(w) for w in re.findall(r"[a-z0-9$]+", text.lower())
            if len(w) > 2 and w not in STOPWORDS}


def load_passages(docs_dir):
    """Every "## Title (§N.M)" section of every document: id, title, text."""
    passages = []
    for name in sorted(os.listdir(docs_dir)):
        if not name.endswith(".md"):
            continue
        with open(os.path.join(docs_dir, name), encoding="utf-8") as f:
            sections = re.split(r"^## ", f.read(), flags=re.M)[1:]
        for sec in sections:
            title, _, body = sec.partition("\n")
            body = " ".join(body.split())
            m = re.search(r"§(\d+\.\d+)", title)
            pid = "%s#%s" % (name[:-3], m.group(1) if m else len(passages))
            text = "%s: %s" % (title.strip(), body)
            passages.append({"id": pid, "title": title.strip(), "text": text,
                             "words": words(text)})
    return passages


class App:
    def __init__(self, passages, gateway, model, api_key, app_token):
        self.passages = passages
        df = {}
        for p in passages:
            for w in p["words"]:
                df[w] = df.get(w, 0) + 1
        self.idf = {w: math.log((1 + len(passages)) / n) for w, n in df.items()}
        self.gateway = urllib.parse.urlsplit(gateway.rstrip("/"))
        self.model = model
        self.api_key = api_key
        self.app_token = app_token
        self.local = threading.local()
        self.flaky = {}
        self.lock = threading.Lock()

    def retrieve(self, question, top_k):
        """The top_k passages by the summed rarity (idf) of the stems they share with q."""
        q = words(question)
        scored = []
        for i, p in enumerate(self.passages):
            score = sum(self.idf[w] for w in q & p["words"])
            if score > 0:
                scored.append((round(score, 3), -i, p))
        scored.sort(reverse=True, key=lambda s: (s[0], s[1]))
        return [(n, p) for n, _, p in scored[:top_k]]

    def connection(self):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            cls = (http.client.HTTPSConnection if self.gateway.scheme == "https"
                   else http.client.HTTPConnection)
            conn = cls(self.gateway.netloc, timeout=60)
            self.local.conn = conn
        return conn

    def chat(self, messages, trace):
        body = json.dumps({"model": self.model, "messages": messages, "temperature": 0})
        headers = {"Content-Type": "application/json"}
        headers.update(trace)
        if self.api_key:
            headers["Authorization"] = "Bearer " + self.api_key
        for attempt in (1, 2):
            conn = self.connection()
            try:
                conn.request("POST", self.gateway.path + "/chat/completions", body, headers)
                resp = conn.getresponse()
                data = resp.read()
                break
            except (OSError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    raise
        if resp.status != 200:
            raise RuntimeError("gateway answered HTTP %d" % resp.status)
        reply = json.loads(data)
        return reply["choices"][0]["message"]["content"], reply.get("usage") or {}

    def ask(self, question, top_k, trace, instructions=None):
        hits = self.retrieve(question, top_k)
        excerpts = "\n".join("[%d] %s" % (i + 1, p["text"]) for i, (_, p) in enumerate(hits))
        user = "Policy excerpts:\n%s\n\nCustomer question: %s" % (excerpts or "(none)", question)
        answer, usage = self.chat([{"role": "system", "content": instructions or SYSTEM},
                                   {"role": "user", "content": user}], trace)
        return {"answer": answer,
                "sources": [{"id": p["id"], "title": p["title"], "text": p["text"],
                             "score": n} for n, p in hits],
                "usage": {"prompt_tokens": usage.get("prompt_tokens"),
                          "completion_tokens": usage.get("completion_tokens")},
                "model": self.model}

    def flaky_count(self, key):
        with self.lock:
            self.flaky[key] = self.flaky.get(key, 0) + 1
            return self.flaky[key]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "rag-app/1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, ctype="application/json", extra=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, status, obj):
        self.send(status, json.dumps(obj))

    def request_args(self):
        """The question and top_k from the query (GET) or the JSON body (POST)."""
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if self.command == "GET":
            return url.path, query, query.get("q"), query.get("top_k", 3)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return url.path, query, None, None
        if not isinstance(body, dict):
            return url.path, query, None, None
        instructions = body.get("instructions")
        self.instructions = instructions if isinstance(instructions, str) and instructions else None
        return url.path, query, body.get("question"), body.get("top_k", 3)

    def handle_any(self):
        app = self.server.app
        self.instructions = None
        path, query, question, top_k = self.request_args()
        if path == "/health":
            return self.send(200, "ok\n", "text/plain")
        if app.app_token and self.headers.get("Authorization") != "Bearer " + app.app_token:
            return self.send_json(401, {"error": "missing or wrong token"})
        case = self.headers.get("x-evalgate-case", "")
        if path == "/test/redirect":
            return self.send(302, "", "text/plain", {"Location": "/ask"})
        if path == "/test/text":
            return self.send(200, "the answer is 42, as plain text\n", "text/plain")
        if path == "/test/flaky" and app.flaky_count(case) <= int(query.get("fail", 2)):
            return self.send_json(503, {"error": "warming up"})
        if path not in ("/ask", "/agent", "/test/flaky", "/test/nested", "/test/partial"):
            return self.send_json(404, {"error": "no such endpoint"})
        if not isinstance(question, str) or not question.strip():
            return self.send_json(400, {"error": "question: expected a non-empty string"})
        try:
            k = max(1, min(int(top_k), 10))
        except (TypeError, ValueError):
            return self.send_json(400, {"error": "top_k: expected a number"})
        trace = {h: v for h, v in self.headers.items() if h.lower().startswith("x-evalgate-")}
        try:
            out = app.ask(question, k, trace, self.instructions)
        except Exception as e:  # the gateway failed: tell the caller, stay up
            return self.send_json(502, {"error": "cannot answer: %s" % e})
        if path == "/test/nested":
            out = {"data": {"result": {"answer": {"text": out["answer"]}},
                            "retrieval": {"hits": [{"doc": {"id": s["id"], "body": s["text"]}}
                                                   for s in out["sources"]]}},
                   "meta": {"usage": out["usage"]}}
        elif path == "/test/partial":
            del out["sources"]
        elif path == "/agent":
            out["trajectory"] = [
                {"content": "", "tool_calls": [
                    {"id": "call_search", "name": "search_policy",
                     "arguments": {"query": question, "top_k": k},
                     "result": [s["id"] for s in out["sources"]]}]},
                {"content": out["answer"]}]
        return self.send_json(200, out)

    do_GET = handle_any
    do_POST = handle_any


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--docs", default=os.path.join(here, "docs"))
    args = ap.parse_args()
    gateway = os.environ.get("RAG_GATEWAY_URL")
    if not gateway:
        sys.exit("rag_app: set RAG_GATEWAY_URL to the chat/completions base URL")
    app = App(load_passages(args.docs), gateway, os.environ.get("RAG_MODEL", "rag-model"),
              os.environ.get("RAG_API_KEY"), os.environ.get("RAG_APP_TOKEN"))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.app = app
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    print("listening on 127.0.0.1:%d" % port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
