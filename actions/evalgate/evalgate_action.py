#!/usr/bin/env python3
"""The logic of the evalgate GitHub Action (action.yml only calls this).

Standard library only, so it runs on GitHub's runners and on Debian as is,
and every step can be run locally with the GITHUB_* variables pointing at
temporary files and a fake API (tests/integration/t_action.sh does).

    evalgate_action.py find-baseline    newest artifact NAME from the base branch -> run-id
    evalgate_action.py import-baseline  `evalgate runs import` what was downloaded
    evalgate_action.py run              run (or merge + gate + report), outputs, annotations
    evalgate_action.py summary          append the Markdown report to $GITHUB_STEP_SUMMARY
    evalgate_action.py comment          create or update the sticky pull-request comment
    evalgate_action.py finish           map the verdict to the step's exit status

Inputs arrive as EG_* environment variables (set by action.yml from the
action's inputs and the run step's outputs), never spliced into code.

The history is evalgate's to read: this script learns about runs only from
the CLI (`run --run-id-file`, `merge -q`, `runs show ID --json`) and the
reports; it never opens the SQLite files, only copies them whole.
"""

import glob
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

MARKER_PREFIX = "<!-- evalgate-report"
COMMENT_MAX = 65536            # characters GitHub accepts in a comment body
SUMMARY_MAX = 1024 * 1024      # bytes shown per step summary
ANNOTATIONS_MAX = 10           # GitHub shows at most 10 of each kind per step

EXIT_VERDICT = {0: "pass", 1: "fail", 2: "error", 3: "error", 130: "interrupted"}


# ------------------------------------------------------------------ workflow commands

def escape_data(s):
    """A workflow command's message: %, CR and LF are escaped."""
    return str(s).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s):
    """A workflow command's property value: also : and , are escaped."""
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def command(kind, message, **props):
    p = ",".join("%s=%s" % (k, escape_property(v)) for k, v in props.items() if v is not None)
    print("::%s%s::%s" % (kind, " " + p if p else "", escape_data(message)), flush=True)


class Annotations:
    """At most ANNOTATIONS_MAX of each kind; the last one says how many more there were."""

    def __init__(self):
        self.items = {}

    def add(self, kind, message, **props):
        self.items.setdefault(kind, []).append((message, props))

    def flush(self):
        for kind, items in self.items.items():
            shown = items if len(items) <= ANNOTATIONS_MAX else items[:ANNOTATIONS_MAX - 1]
            for message, props in shown:
                command(kind, message, **props)
            if len(items) > len(shown):
                command(kind, "%d more; see the step summary and the reports" % (len(items) - len(shown)),
                        title="evalgate")
        self.items = {}


def group(title):
    print("::group::%s" % escape_data(title), flush=True)


def endgroup():
    print("::endgroup::", flush=True)


# ------------------------------------------------------------------ environment

def env(name, default=""):
    v = os.environ.get(name)
    return v if v is not None else default


def env_bool(name, default=False):
    v = env(name).strip().lower()
    if not v:
        return default
    return v in ("1", "true", "yes", "on")


def set_output(name, value):
    """$GITHUB_OUTPUT: k=v, or k<<DELIM ... DELIM when the value has a newline."""
    path = env("GITHUB_OUTPUT")
    value = "" if value is None else str(value)
    if not path:
        print("output %s=%s" % (name, value))
        return
    with open(path, "a", encoding="utf-8") as f:
        if "\n" in value or "\r" in value:
            delim = "EOF_" + secrets.token_hex(8)
            while delim in value:
                delim = "EOF_" + secrets.token_hex(8)
            f.write("%s<<%s\n%s\n%s\n" % (name, delim, value, delim))
        else:
            f.write("%s=%s\n" % (name, value))


def event():
    path = env("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def pull_number(ev):
    pr = ev.get("pull_request")
    if isinstance(pr, dict) and isinstance(pr.get("number"), int):
        return pr["number"]
    return None


def is_fork_pr(ev):
    pr = ev.get("pull_request")
    if not isinstance(pr, dict):
        return False
    head = ((pr.get("head") or {}).get("repo") or {}).get("full_name")
    base = ((pr.get("base") or {}).get("repo") or {}).get("full_name")
    return bool(head and base and head != base)


def read_config(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def split_list(s):
    return [x for x in re.split(r"[\s,]+", s) if x]


def split_args(s):
    """The args input: one or more lines, each split as a shell would (quotes keep
    spaces, nothing is expanded), so `--filter-id "refund .*"` is two arguments."""
    out = []
    for line in s.splitlines():
        out += shlex.split(line, comments=True)
    return out


def gate_detail_text(detail):
    """A gate's detail for people: the regression gate's JSON object as a sentence,
    any other detail as it is."""
    if not detail:
        return ""
    try:
        d = json.loads(detail)
    except ValueError:
        return detail
    if not isinstance(d, dict):
        return detail
    if d.get("error"):
        return d["error"]
    if "pairs" in d:
        text = "%s new failures, %s fixed in %s pairs against %s" % (
            d.get("new_failures", 0), d.get("fixed", 0), d.get("pairs", 0),
            d.get("baseline") or d.get("baseline_ref") or "the baseline")
        if isinstance(d.get("p_value"), (int, float)):
            text += " (McNemar p=%.3g)" % d["p_value"]
        flips = [f.get("case_id") for f in d.get("flips") or [] if isinstance(f, dict) and f.get("to") == "fail" and f.get("case_id")]
        if flips:
            text += "; new failures: " + ", ".join(flips[:5])
        return text
    return "; ".join("%s=%s" % (k, v) for k, v in d.items() if not isinstance(v, (list, dict)))


# ------------------------------------------------------------------ GitHub REST API

class ApiError(Exception):
    def __init__(self, status, message):
        super().__init__("HTTP %s: %s" % (status, message))
        self.status = status


def api(method, url, token, body=None, retries=3):
    """One request; returns (status, headers, parsed JSON or None). 5xx and network errors retry."""
    if not url.startswith("http"):
        url = env("GITHUB_API_URL", "https://api.github.com").rstrip("/") + url
    data = json.dumps(body).encode() if body is not None else None
    headers = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "evalgate-action",
    }
    if token:
        headers["Authorization"] = "Bearer " + token
    if data is not None:
        headers["Content-Type"] = "application/json"
    for attempt in range(retries):
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                return resp.status, resp.headers, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                msg = json.loads(raw).get("message", "")
            except (ValueError, AttributeError):
                msg = raw[:200].decode("utf-8", "replace")
            if e.code >= 500 and attempt + 1 < retries:
                time.sleep(2 ** attempt)
                continue
            raise ApiError(e.code, msg or e.reason)
        except (urllib.error.URLError, OSError) as e:
            if attempt + 1 < retries:
                time.sleep(2 ** attempt)
                continue
            raise ApiError(0, str(getattr(e, "reason", e)))
    raise ApiError(0, "no answer")


def next_link(headers):
    """The rel="next" URL of a Link header, or None."""
    for part in (headers.get("Link") or "").split(","):
        m = re.match(r'\s*<([^>]+)>\s*;\s*rel="?next"?', part)
        if m:
            return m.group(1)
    return None


def paginate(url, token, max_pages=50):
    pages = 0
    while url and pages < max_pages:
        _, headers, data = api("GET", url, token)
        yield data
        url = next_link(headers)
        pages += 1


# ------------------------------------------------------------------ history (through the CLI)

def show_run(evalgate, history, run_id):
    """`evalgate runs show ID --json`: the run with its suites and gate results, or None."""
    if not run_id or not os.path.exists(history):
        return None
    try:
        proc = subprocess.run([evalgate, "runs", "show", run_id, "--json", "--history", history],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode:
        return None
    try:
        run = json.loads(proc.stdout.decode("utf-8", "replace"))
    except ValueError:
        return None
    return run if isinstance(run, dict) else None


def copy_store(src, dst):
    """Copy an SQLite file evalgate wrote and has closed: the file, and its -wal if one was left."""
    for suffix in ("", "-wal", "-shm"):
        try:
            os.unlink(dst + suffix)
        except FileNotFoundError:
            pass
    shutil.copyfile(src, dst)
    if os.path.exists(src + "-wal"):
        shutil.copyfile(src + "-wal", dst + "-wal")


# ------------------------------------------------------------------ find-baseline / import-baseline

def base_branch(ev):
    if env("EG_BASELINE_BRANCH"):
        return env("EG_BASELINE_BRANCH")
    pr = ev.get("pull_request")
    if isinstance(pr, dict) and (pr.get("base") or {}).get("ref"):
        return pr["base"]["ref"]
    mg = ev.get("merge_group")
    if isinstance(mg, dict) and mg.get("base_ref"):
        return re.sub(r"^refs/heads/", "", mg["base_ref"])
    if env("GITHUB_BASE_REF"):
        return env("GITHUB_BASE_REF")
    return (ev.get("repository") or {}).get("default_branch") or "main"


def cmd_find_baseline():
    name = env("EG_BASELINE_ARTIFACT")
    repo = env("GITHUB_REPOSITORY")
    if not name:
        return 0
    branch = base_branch(event())
    url = "/repos/%s/actions/artifacts?name=%s&per_page=100" % (repo, urllib.request.quote(name))
    try:
        for page in paginate(url, env("EG_TOKEN"), max_pages=5):
            for a in (page or {}).get("artifacts") or []:
                wr = a.get("workflow_run") or {}
                if a.get("expired") or wr.get("head_branch") != branch:
                    continue
                print("baseline: artifact %s (id %s) from workflow run %s on %s, %s" % (
                    name, a.get("id"), wr.get("id"), branch, a.get("created_at")))
                set_output("run-id", wr.get("id"))
                set_output("artifact-id", a.get("id"))
                set_output("branch", branch)
                return 0
    except ApiError as e:
        command("warning", "cannot list the artifacts of %s: %s" % (repo, e), title="evalgate baseline")
        return 0
    command("warning", "no artifact %s from branch %s: the run has no baseline to compare with "
            "(the promotion workflow uploads it)" % (name, branch), title="evalgate baseline")
    set_output("run-id", "")
    return 0


def registry_path(config_path):
    cfg = read_config(config_path)
    reg = cfg.get("registry") if isinstance(cfg.get("registry"), str) else "sqlite:.evalgate/registry.db"
    if not reg.startswith("sqlite:"):
        return None
    path = reg[len("sqlite:"):]
    if not os.path.isabs(path):
        path = os.path.join(os.path.dirname(os.path.abspath(config_path)), path)
    return path


def alias_was_set(evalgate, config, name, alias):
    """Whether the registry's audit log has a promotion or bootstrap of name to alias
    (`evalgate registry log NAME --json`); None when the log cannot be read."""
    try:
        proc = subprocess.run([evalgate, "registry", "log", name, "--json", "--config", config],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        entries = json.loads(proc.stdout) if proc.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        entries = None
    if not isinstance(entries, list):
        return None
    return any(isinstance(e, dict) and e.get("alias") == alias and e.get("action") in ("promote", "bootstrap")
               for e in entries)


def cmd_import_baseline():
    d = env("EG_BASELINE_DIR")
    evalgate = env("EG_EVALGATE", "evalgate")
    history = env("EG_HISTORY", ".evalgate/history.db")
    if not d or not os.path.isdir(d):
        set_output("imported", "0")
        return 0
    n = 0
    for f in sorted(glob.glob(os.path.join(d, "**", "*.json"), recursive=True)):
        rc = subprocess.call([evalgate, "runs", "import", f, "--history", history])
        if rc:
            command("error", "evalgate runs import %s failed (exit %d)" % (os.path.basename(f), rc),
                    title="evalgate baseline")
            return rc
        n += 1
    reg = os.path.join(d, "registry.db")
    dst = registry_path(env("EG_CONFIG", "evalgate.json"))
    if os.path.exists(reg) and dst:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        copy_store(reg, dst)
        print("baseline: registry restored to %s" % dst)
    print("baseline: %d run%s imported into %s" % (n, "" if n == 1 else "s", history))
    set_output("imported", str(n))
    return 0


# ------------------------------------------------------------------ run

def run_logged(argv, log, extra_env=None):
    """Run argv with its output in the log; workflow commands in it are not obeyed."""
    e = dict(os.environ)
    e.pop("GITHUB_STEP_SUMMARY", None)   # the summary step appends the report once
    e.pop("GITHUB_OUTPUT", None)         # the step's outputs are this script's to write
    e.update(extra_env or {})
    token = secrets.token_hex(16)
    # the command line too is fenced: its arguments come from inputs and configs
    print("::stop-commands::%s" % token, flush=True)
    print("$ " + " ".join(argv), flush=True)
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=e)
    except OSError as err:
        print("::%s::" % token, flush=True)
        log.append("evalgate: cannot start %s: %s" % (argv[0], err))
        command("error", "cannot start %s: %s" % (argv[0], err), title="evalgate")
        return 2, ""
    out = []
    for raw in proc.stdout:
        line = raw.decode("utf-8", "replace")
        sys.stdout.write(line)
        out.append(line)
        log.append(line.rstrip("\n"))
    rc = proc.wait()
    sys.stdout.flush()
    print("::%s::" % token, flush=True)
    return rc, "".join(out)


def cmd_run():
    ev = event()
    config = env("EG_CONFIG", "evalgate.json")
    evalgate = env("EG_EVALGATE", "evalgate")
    history = env("EG_HISTORY", ".evalgate/history.db")
    shard = env("EG_SHARD").strip()
    merge = env("EG_MERGE").strip()
    out_dir = env("EG_OUT_DIR") or os.path.join(env("RUNNER_TEMP", "."), "evalgate-out")
    os.makedirs(out_dir, exist_ok=True)
    suffix = ""
    if shard:
        m = re.fullmatch(r"(\d+)/(\d+)", shard)
        if not m:
            command("error", "shard '%s': expected I/N, e.g. 2/4" % shard, title="evalgate")
            set_output("verdict", "error")
            set_output("exit-code", "2")
            return 0
        suffix = "-shard-%s-of-%s" % (m.group(1), m.group(2))
    reports = {
        "junit": env("EG_JUNIT") or os.path.join(out_dir, "junit%s.xml" % suffix),
        "markdown": env("EG_MARKDOWN_PATH") or os.path.join(out_dir, "report%s.md" % suffix),
        "html": env("EG_HTML") or os.path.join(out_dir, "report%s.html" % suffix),
    }
    if env("EG_JSON"):
        reports["json"] = env("EG_JSON")
    for p in reports.values():
        if os.path.dirname(p):
            os.makedirs(os.path.dirname(p), exist_ok=True)
    artifact = env("EG_ARTIFACT_NAME") or ("evalgate-reports" + suffix)
    set_output("artifact-name", artifact)
    set_output("out-dir", out_dir)
    set_output("history", history)
    set_output("registry", registry_path(config) or "")
    notes = Annotations()

    # fork pull requests get no secrets: say so and skip the model calls, never pass silently
    key_env = (read_config(config).get("gateway") or {}).get("api_key_env")
    if not merge and key_env and not env(key_env):
        if is_fork_pr(ev) or env("GITHUB_ACTOR") == "dependabot[bot]":
            command("notice", "this pull request comes from a fork (or Dependabot), which gets no "
                    "secrets: %s is empty, so no model was called and nothing was evaluated. "
                    "A maintainer can run the evaluation on a branch of this repository." % key_env,
                    title="evalgate skipped")
            set_output("verdict", "skipped")
            set_output("exit-code", "0")
            set_output("skip-reason", "fork pull request without secrets (%s is empty)" % key_env)
            return 0
        command("error", "%s is not set: pass the gateway key to the step, e.g. env: %s: "
                "${{ secrets.%s }}" % (key_env, key_env, key_env), title="evalgate")
        set_output("verdict", "error")
        set_output("exit-code", "2")
        return 0

    log = []
    run_id = ""
    promoted = bootstrapped = False
    report_flags = ["--junit", reports["junit"], "--markdown", reports["markdown"], "--html", reports["html"]]
    if "json" in reports:
        report_flags += ["--json", reports["json"]]
    try:
        extra = split_args(env("EG_ARGS"))
    except ValueError as e:
        command("error", "the args input cannot be split: %s" % e, title="evalgate")
        set_output("verdict", "error")
        set_output("exit-code", "2")
        return 0
    if merge:
        files = sorted(set(f for pat in split_list(merge) for f in glob.glob(pat)))
        if env("EG_PROMOTE"):
            command("warning", "promote-alias is not applied to a merged run; promote it with "
                    "evalgate registry promote", title="evalgate")
        group("evalgate merge (%d shard histories)" % len(files))
        rc, out = run_logged([evalgate, "merge", "-q", "--history", history] + files, log)
        endgroup()
        if rc == 0:
            run_id = out.strip().splitlines()[-1].strip() if out.strip() else ""
            group("evalgate gate %s" % run_id)
            rc, _ = run_logged([evalgate, "gate", run_id, "--config", config, "--history", history] + extra, log)
            endgroup()
            group("evalgate report %s" % run_id)
            rrc, _ = run_logged([evalgate, "report", run_id, "--history", history] + report_flags, log)
            endgroup()
            if rrc and rc in (0, 1):
                rc = rrc
    else:
        alias = env("EG_PROMOTE")
        target = read_config(config).get("target") or {}
        # the first promotion: an alias never set has no baseline for the regression
        # gates, so the run is promoted with registry promote --bootstrap instead
        bootstrap = bool(alias and not shard and env_bool("EG_BOOTSTRAP") and target.get("name")
                         and target.get("version")
                         and alias_was_set(evalgate, config, target["name"], alias) is False)
        argv = [evalgate, "run", "--config", config, "--history", history] + report_flags
        for s in split_list(env("EG_SUITES")):
            argv += ["--suite", s]
        if env("EG_BASELINE"):
            argv += ["--baseline", env("EG_BASELINE")]
        if alias and not bootstrap:
            argv += ["--promote", alias]
        if shard:
            argv += ["--shard", shard]
        fd, id_file = tempfile.mkstemp(prefix="evalgate-run-id-")
        os.close(fd)
        try:
            group("evalgate run")
            rc, _ = run_logged(argv + ["--run-id-file", id_file] + extra, log)
            endgroup()
            with open(id_file, encoding="utf-8") as f:
                run_id = f.read().strip()
        finally:
            os.unlink(id_file)
        if alias and not bootstrap:
            promoted = rc == 0
        if bootstrap and rc in (0, 1) and run_id:
            group("evalgate registry promote --bootstrap (the first promotion to %s)" % alias)
            prc, _ = run_logged([evalgate, "registry", "promote", target["name"], target["version"],
                                 "--alias", alias, "--bootstrap", "--run", run_id, "--config", config,
                                 "--history", history], log)
            endgroup()
            promoted = bootstrapped = prc == 0
            if bootstrapped:
                notes.add("notice", "the first promotion: %s@%s now holds '%s' on evidence of run %s "
                          "(bootstrap: regression gates without a baseline left out; audited)"
                          % (target["name"], target["version"], alias, run_id), title="evalgate bootstrap")
            elif prc not in (0, 1):
                rc = prc

    verdict = EXIT_VERDICT.get(rc, "error")
    set_output("exit-code", str(rc))
    set_output("verdict", verdict)
    set_output("run-id", run_id)
    set_output("promoted", "true" if promoted else "false")
    set_output("bootstrapped", "true" if bootstrapped else "false")
    rate = ""
    run = show_run(evalgate, history, run_id)
    if run:
        n_pass, n_fail = run.get("pass") or 0, run.get("fail") or 0
        if n_pass + n_fail:
            rate = "%.4f" % (n_pass / (n_pass + n_fail))
        for g in run.get("gates") or []:
            name, metric, value, op, threshold, detail = (
                g.get(k) for k in ("name", "metric", "value", "op", "threshold", "detail"))
            if g.get("pass"):
                continue
            val = "n/a" if value is None else "%.4g" % value
            why = gate_detail_text(detail)
            notes.add("warning" if shard else "error",
                      "%s: %s = %s, needs %s %s%s" % (name or metric, metric, val, op or "", "" if threshold is None
                                                      else "%.4g" % threshold, " (%s)" % why if why else ""),
                      title="evalgate gate failed" + (" (shard %s)" % shard if shard else ""))
    set_output("pass-rate", rate)
    if rc not in (0, 1):
        msgs = [l[len("evalgate: "):] for l in log if l.startswith("evalgate: ") and "progress" not in l]
        for m in msgs[-ANNOTATIONS_MAX:] or ["evalgate exited with status %d; see the log" % rc]:
            notes.add("error", m, title="evalgate (exit %d)" % rc)
    notes.flush()

    # every report, and a shard's history for the merge job, in one directory for upload
    for kind, p in reports.items():
        if os.path.exists(p) and os.path.abspath(os.path.dirname(p)) != os.path.abspath(out_dir):
            shutil.copy(p, os.path.join(out_dir, os.path.basename(p)))
        set_output(kind, p if os.path.exists(p) else "")
    if shard and os.path.exists(history):
        dst = os.path.join(out_dir, "history%s.db" % suffix)
        copy_store(history, dst)
        set_output("shard-history", dst)
    print("evalgate: verdict %s, exit %d%s" % (verdict, rc, ", run " + run_id if run_id else ""))
    return 0


# ------------------------------------------------------------------ summary and comment

def fit(text, limit, measure, note):
    """text cut at a line boundary so that measure(result) <= limit, with note appended when cut."""
    if measure(text) <= limit:
        return text
    budget = limit - measure(note)
    lo, hi = 0, len(text)
    while lo < hi:                      # longest prefix that fits
        mid = (lo + hi + 1) // 2
        if measure(text[:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    cut = text[:lo]
    nl = cut.rfind("\n")
    if nl > 0:
        cut = cut[:nl + 1]
    return cut + note


def utf16_len(s):
    return len(s.encode("utf-16-le")) // 2


def comment_len(s):
    # GitHub counts characters; count both ways so neither reading overflows
    return max(len(s), utf16_len(s))


def report_text(skip_note=True):
    """The Markdown report, or a short text when there is none (skipped, or failed before reporting)."""
    verdict = env("EG_VERDICT")
    if verdict == "skipped":
        return ("## evalgate: skipped\n\n%s. No model was called and nothing was evaluated; "
                "this check does not pass on its own.\n" % (env("EG_SKIP_REASON") or "the evaluation was skipped"))
    path = env("EG_MARKDOWN_PATH")
    if path and os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        if env_bool("EG_BOOTSTRAPPED"):
            text = ("> **First promotion (bootstrap):** no baseline existed yet, so the regression "
                    "gates were left out and this run was promoted; the audit log records it.\n\n" + text)
        return text
    return ("## evalgate: %s\n\nNo report was written (exit status %s); see the job log.\n"
            % (verdict or "error", env("EG_EXIT_CODE") or "?"))


def run_url():
    server = env("GITHUB_SERVER_URL", "https://github.com")
    if env("GITHUB_REPOSITORY") and env("GITHUB_RUN_ID"):
        return "%s/%s/actions/runs/%s" % (server, env("GITHUB_REPOSITORY"), env("GITHUB_RUN_ID"))
    return ""


def cmd_summary():
    path = env("GITHUB_STEP_SUMMARY")
    if not path:
        return 0
    try:
        used = os.path.getsize(path)
    except OSError:
        used = 0
    text = report_text()
    if not text.endswith("\n"):
        text += "\n"
    note = "\n_The report was cut to fit the step summary; the full report is in the artifact %s._\n" % (
        env("EG_ARTIFACT_NAME") or "evalgate-reports")
    limit = SUMMARY_MAX - used - 1024          # leave room for what other steps append
    if limit < 4096:
        command("warning", "the step summary is nearly full; the evalgate report is not added", title="evalgate")
        return 0
    text = fit(text, limit, lambda s: len(s.encode("utf-8")), note)
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)
    return 0


def comment_body(marker):
    footer = "\n\n---\n<sub>evalgate verdict **%s**%s%s</sub>\n" % (
        env("EG_VERDICT") or "?", " · run " + env("EG_RUN_ID") if env("EG_RUN_ID") else "",
        " · [workflow run](%s)" % run_url() if run_url() else "")
    note = "\n\n_Cut to fit a comment; the full report is in the step summary and the %s artifact._" % (
        env("EG_ARTIFACT_NAME") or "evalgate-reports")
    head = marker + "\n"
    text = fit(report_text(), COMMENT_MAX - comment_len(head) - comment_len(footer), comment_len, note)
    return head + text + footer


def cmd_comment():
    ev = event()
    number = pull_number(ev)
    token = env("EG_TOKEN")
    repo = env("GITHUB_REPOSITORY")
    if not env_bool("EG_COMMENT", True):
        return 0
    if number is None:
        print("evalgate: not a pull request: no comment")
        return 0
    if not token:
        command("warning", "no github-token: the pull-request comment is not written", title="evalgate")
        return 0
    key = env("EG_COMMENT_KEY") or "default"
    marker = "%s %s -->" % (MARKER_PREFIX, re.sub(r"[^A-Za-z0-9_.-]", "-", key))
    body = comment_body(marker)
    found = None
    try:
        for page in paginate("/repos/%s/issues/%d/comments?per_page=100" % (repo, number), token):
            for c in page or []:
                if isinstance(c, dict) and marker in (c.get("body") or ""):
                    found = c
                    break
            if found:
                break
        if found:
            _, _, data = api("PATCH", "/repos/%s/issues/comments/%d" % (repo, found["id"]), token, {"body": body})
            action = "updated"
        else:
            _, _, data = api("POST", "/repos/%s/issues/%d/comments" % (repo, number), token, {"body": body})
            action = "created"
    except ApiError as e:
        hint = " (a fork's token is read-only)" if e.status in (403, 404) and is_fork_pr(ev) else ""
        command("warning", "cannot write the pull-request comment: %s%s" % (e, hint), title="evalgate")
        return 0
    data = data or {}
    print("evalgate: %s comment %s %s" % (action, data.get("id", ""), data.get("html_url", "")))
    set_output("comment-id", data.get("id", ""))
    set_output("comment-url", data.get("html_url", ""))
    return 0


# ------------------------------------------------------------------ finish

def cmd_finish():
    verdict = env("EG_VERDICT")
    try:
        rc = int(env("EG_EXIT_CODE") or "2")
    except ValueError:
        rc = 2
    if verdict == "skipped":
        if env_bool("EG_ALLOW_SKIP"):
            command("notice", "evalgate was skipped (allow-skip is set): this check passes without "
                    "an evaluation", title="evalgate")
            return 0
        command("error", "evalgate was skipped: %s. The check fails rather than pass without an "
                "evaluation (set allow-skip: true to accept skipped runs)"
                % (env("EG_SKIP_REASON") or "no evaluation"), title="evalgate")
        return 1
    if rc == 0:
        return 0
    if rc == 1:
        if env_bool("EG_BOOTSTRAPPED"):
            command("notice", "the run failed only regression gates without a baseline and was "
                    "promoted as the first (bootstrap) promotion", title="evalgate")
            return 0
        if env("EG_SHARD"):
            command("notice", "shard %s failed a gate on its own cases; the merged run is gated "
                    "by the merge job" % env("EG_SHARD"), title="evalgate")
            return 0
        if not env_bool("EG_FAIL_ON_GATE", True):
            command("warning", "a gate failed (fail-on-gate is off)", title="evalgate")
            return 0
        command("error", "a gate failed: the verdict is fail", title="evalgate")
        return 1
    what = {2: "a usage, config or suite error", 3: "the gateway could not be used",
            130: "the run was interrupted"}.get(rc, "an unexpected exit status")
    command("error", "evalgate exited %d: %s" % (rc, what), title="evalgate")
    return rc if 0 < rc < 256 else 1


COMMANDS = {
    "find-baseline": cmd_find_baseline,
    "import-baseline": cmd_import_baseline,
    "run": cmd_run,
    "summary": cmd_summary,
    "comment": cmd_comment,
    "finish": cmd_finish,
}


def main(argv):
    if len(argv) != 2 or argv[1] not in COMMANDS:
        sys.stderr.write("usage: evalgate_action.py %s\n" % "|".join(COMMANDS))
        return 2
    return COMMANDS[argv[1]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
