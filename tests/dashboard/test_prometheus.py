"""A real Prometheus (Debian's, started here on loopback) scraping a real gunicorn with two
workers: its PromQL answers equal the plain reading of the lines per node, user and
direction; every expression of grafana/sftpgo-dashboard.json and grafana/alerts.yml
evaluates, the transfer panels draw, and the alert rules load and fire; promtool accepts a
real answer and the rules file. One Prometheus and one gunicorn for the whole module."""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

import db
from tests.support.metrics import (HOSTILE, OTHER, activity_lines, expected, folded, ingest,
                                   write_log)

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "grafana" / "sftpgo-dashboard.json"
RULES = ROOT / "grafana" / "alerts.yml"
AUTH = ("prom", 'pa"ss:wörd')
BOUND = 45
CONTRACT = {"sftpgo_dash_transfers_total", "sftpgo_dash_transfer_bytes_total",
            "sftpgo_dash_transfer_failures_total", "sftpgo_dash_file_operations_total",
            "sftpgo_dash_logins_total", "sftpgo_dash_login_failures_total",
            "sftpgo_dash_bans_total", "sftpgo_dash_users_seen",
            "sftpgo_dash_newest_event_timestamp_seconds",
            "sftpgo_dash_ingest_last_pass_timestamp_seconds", "sftpgo_dash_ingest_bytes_pending",
            "sftpgo_dash_ingest_bytes_lost_total", "sftpgo_dash_malformed_lines_total",
            "sftpgo_dash_alerts_firing"}
# Grafana's variables, as a dashboard with every node and user picked would send them
VARIABLES = {"node": ".*", "user": ".*", "top": "10", "__rate_interval": "5m",
             "__range": "1h", "__interval": "1m"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, auth=None, timeout: float = 30) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _wait(what: str, check, seconds: float = 90):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except (OSError, ValueError, KeyError) as exc:
            last = exc
        time.sleep(0.25)
    raise AssertionError(f"waited {seconds} s for {what}; last: {str(last)[:500]}")


class Stack:
    """The running gunicorn and Prometheus, and what was written to the logs."""

    def __init__(self, base: Path):
        self.base = base
        self.db_url = f"sqlite:///{base / 'dash.db'}"
        self.app_port, self.prom_port = _free_port(), _free_port()
        self.lines: dict[str, list[bytes]] = {}
        self.procs: list[subprocess.Popen] = []

    def query(self, expr: str) -> list[dict]:
        """Returns the result of an instant PromQL query (raises on an error answer)."""
        url = (f"http://127.0.0.1:{self.prom_port}/api/v1/query?"
               + urllib.parse.urlencode({"query": expr}))
        status, body = _get(url)
        answer = json.loads(body)
        if status != 200 or answer.get("status") != "success":
            raise AssertionError(f"{expr!r}: {status} {body[:500]!r}")
        return answer["data"]["result"]

    def values(self, expr: str, *labels: str) -> dict[tuple, float]:
        """Returns {label values: value} of an instant vector query."""
        return {tuple(r["metric"].get(k, "") for k in labels): float(r["value"][1])
                for r in self.query(expr)}

    def given(self) -> set[str]:
        engine = db.make_engine(self.db_url)
        with engine.connect() as conn:
            return set(conn.execute(sa.text("SELECT username FROM metrics_users")).scalars())

    def start(self) -> None:
        env = {**os.environ, "DATABASE_URL": self.db_url, "SFTPGO_NODE": "n1",
               "SFTPGO_LOG_DIR": str(self.base / "n1"), "DASHBOARD_INTERVAL": "1",
               "DASHBOARD_USER": AUTH[0], "DASHBOARD_PASSWORD": AUTH[1],
               "METRICS_MAX_USERS": str(BOUND)}
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        with open(self.base / "gunicorn.log", "wb") as log:
            self.procs.append(subprocess.Popen(
                [gunicorn, "-c", "gunicorn.conf.py", "-w", "2", "-b",
                 f"127.0.0.1:{self.app_port}", "app:wsgi()"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log))
        _wait("gunicorn", lambda: _get(f"http://127.0.0.1:{self.app_port}/metrics",
                                       AUTH)[0] == 200)
        config = self.base / "prometheus.yml"
        config.write_text(json.dumps({      # YAML is a superset of JSON
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [{
                "job_name": "sftpgo-dash", "metrics_path": "/metrics",
                "basic_auth": {"username": AUTH[0], "password": AUTH[1]},
                "static_configs": [{"targets": [f"127.0.0.1:{self.app_port}"]}]}]}))
        with open(self.base / "prometheus.log", "wb") as log:
            self.procs.append(subprocess.Popen(
                ["prometheus", f"--config.file={config}",
                 f"--storage.tsdb.path={self.base / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{self.prom_port}", "--log.level=warn"],
                stdout=subprocess.DEVNULL, stderr=log))
        _wait("Prometheus ready", lambda: _get(
            f"http://127.0.0.1:{self.prom_port}/-/ready")[0] == 200)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        db.dispose_engines(self.db_url)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Two nodes' logs ingested, gunicorn and Prometheus started; then more lines for n1
    (a burst of failed logins among them), which gunicorn's own passes ingest while
    Prometheus scrapes, waited for until PromQL shows them all."""
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        pytest.fail("Debian's prometheus package is not installed (./test.sh installs it)")
    s = Stack(tmp_path_factory.mktemp("prometheus"))
    engine = db.make_engine(s.db_url)
    db.migrate(engine, "n1")
    s.lines = {"n1": activity_lines(list(HOSTILE) + [f"user{i:02d}" for i in range(40)] + [""],
                                    seed=11),                  # the hostile names the busiest
               "n2": activity_lines([f"user{i:02d}" for i in range(30, 42)], seed=12)}
    for node, lines in s.lines.items():
        write_log(s.base / node, lines)
        ingest(engine, s.base / node, node)
    with engine.begin() as conn:       # n2's ingester stopped an hour ago: a stale node
        conn.execute(sa.text("UPDATE node_status SET last_pass_epoch = last_pass_epoch - 3600"
                             " WHERE node = 'n2'"))
    db.dispose_engines(s.db_url)
    try:
        s.start()
        _wait("a first scrape", lambda: s.query('up{job="sftpgo-dash"} == 1')
              and s.query("sftpgo_dash_transfers_total"))
        more = activity_lines([f"user{i:02d}" for i in range(0, 40, 3)] + ["late-comer"],
                              seed=13, t0=datetime(2024, 9, 25))
        more += [json.dumps({"level": "debug", "time": f"2024-09-26T10:00:{i % 60:02d}.{i:03d}",
                             "sender": "connection_failed", "client_ip": "203.0.113.66",
                             "username": "root", "login_type": "password", "protocol": "SSH",
                             "error": "invalid credentials"}).encode() + b"\n"
                 for i in range(150)]
        write_log(s.base / "n1", more, append=True)
        s.lines["n1"] = s.lines["n1"] + more
        want = sum(expected(s.lines)["transfers"].values())
        _wait("the new lines in Prometheus", lambda: s.values(
            "sum(sftpgo_dash_transfers_total)") == {(): want})
        yield s
    finally:
        s.stop()


def test_promtool_accepts_a_real_answer(stack):
    status, body = _get(f"http://127.0.0.1:{stack.app_port}/metrics", AUTH)
    assert status == 200 and b"sftpgo_dash_transfers_total{" in body
    check = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                           timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert _get(f"http://127.0.0.1:{stack.app_port}/metrics")[0] == 401    # no credentials


def test_promql_equals_the_lines_per_node_user_and_direction(stack):
    want = expected(stack.lines)
    given = stack.given()
    assert len(given) == BOUND
    for metric, key in (("sftpgo_dash_transfers_total", "transfers"),
                        ("sftpgo_dash_transfer_bytes_total", "bytes"),
                        ("sftpgo_dash_transfer_failures_total", "failures")):
        got = stack.values(f"{metric} > 0", "node", "user", "direction")
        assert got == folded(want[key], given), metric
        assert stack.values(f"sum({metric})") == {(): sum(want[key].values())}
    for metric, key in (("sftpgo_dash_file_operations_total", "file_ops"),
                        ("sftpgo_dash_logins_total", "logins")):
        assert stack.values(f"{metric} > 0", "node", "user") == folded(want[key], given), metric
    failures = {}
    for (node, _protocol, _method), n in want["login_failures"].items():
        failures[(node,)] = failures.get((node,), 0) + n
    assert stack.values("sum by (node) (sftpgo_dash_login_failures_total)", "node") == failures
    assert stack.values("sftpgo_dash_bans_total", "node") == {(n,): v for n, v in
                                                              want["bans"].items()}
    assert stack.values("sftpgo_dash_users_seen", "node") == {(n,): v for n, v in
                                                              want["users_seen"].items()}
    users = stack.values('count by (node) (sftpgo_dash_transfers_total{direction="upload"})',
                         "node")
    assert users[("n1",)] == len({u for n, u, _d in folded(want["transfers"], given)
                                  if n == "n1"})
    assert ("n1", OTHER, "upload") in folded(want["transfers"], given)
    assert "late-comer" not in given            # the bound was full before it came


PROMQL_WORDS = {"sum", "by", "rate", "increase", "topk", "time", "vector", "and", "or",
                "node", "user", "direction", "protocol", "method", "reason", "rule"}


def _metric_names(expr: str) -> set[str]:
    """Returns the metric names an expression reads: its words, less PromQL's and the
    labels', after its strings, ranges and variables are taken out."""
    bare = re.sub(r'"[^"]*"|\[[^\]]*\]|\$\w+', " ", expr)
    names = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", bare)) - PROMQL_WORDS
    assert names, expr
    return names


def _promql_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)      # Go's escapes: \" \\ \n \t \u0000


def test_a_hostile_username_is_a_label_prometheus_keeps_as_it_is(stack):
    given = stack.given()
    assert set(HOSTILE) <= given
    want = folded(expected(stack.lines)["bytes"], given)
    for name in HOSTILE:
        got = stack.query(f"sftpgo_dash_transfer_bytes_total{{user={_promql_string(name)},"
                          'direction="upload"}')
        assert [r["metric"]["user"] for r in got] == [name]
        assert float(got[0]["value"][1]) == want.get(("n1", name, "upload"), 0)


def _substitute(expr: str) -> str:
    for name, value in sorted(VARIABLES.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(f"${{{name}}}", value).replace(f"${name}", value)
    assert "$" not in expr, expr
    return expr


def _panels(dashboard: dict) -> list[dict]:
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def test_the_grafana_dashboard_is_an_importable_dashboard_of_these_metrics():
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    assert dashboard["__inputs"][0]["pluginId"] == "prometheus"
    assert dashboard["id"] is None and dashboard["uid"] and dashboard["title"]
    panels = _panels(dashboard)
    assert len({p["id"] for p in panels}) == len(panels)
    for p in panels:
        if p["type"] == "row":
            continue
        assert p["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, p["title"]
        assert p["targets"] and all(t["datasource"]["uid"] == "${DS_PROMETHEUS}"
                                    for t in p["targets"]), p["title"]
        assert {"x", "y", "w", "h"} <= set(p["gridPos"]) and p["gridPos"]["x"] + \
            p["gridPos"]["w"] <= 24, p["title"]
        for t in p["targets"]:
            assert _metric_names(t["expr"]) <= CONTRACT, (p["title"], t["expr"])
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            assert var["datasource"]["uid"] == "${DS_PROMETHEUS}"
    titles = {p["title"] for p in panels}
    assert {"User transfers", "User total bytes transferred", "User average bytes per transfer",
            "Activities", "Failed logins by protocol", "Failed logins by method", "Bans",
            "Ingestion lag", "Bytes pending", "Bytes lost", "Firing alerts"} <= titles


def test_every_dashboard_expression_evaluates_and_the_transfer_panels_draw(stack):
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            m = re.fullmatch(r"label_values\((.*), (\w+)\)", var["definition"])
            assert m, var["definition"]
            series = stack.query(_substitute(m.group(1)))
            assert {r["metric"][m.group(2)] for r in series}, var["name"]
    drawn = {}
    for panel in _panels(dashboard):
        for target in panel.get("targets", []):
            result = stack.query(_substitute(target["expr"]))      # raises on an error
            drawn[panel["title"]] = drawn.get(panel["title"], 0) + len(result)
    transfer_panels = [p["title"] for p in _panels(dashboard) if p["type"] != "row"
                       and any("sftpgo_dash_transfer" in t["expr"] for t in p["targets"])]
    assert len(transfer_panels) >= 8
    assert [t for t in transfer_panels if not drawn[t]] == []
    for title in ("Failed logins by protocol", "Failed logins by method", "Bans",
                  "Ingestion lag", "Bytes pending", "Bytes lost", "Users seen"):
        assert drawn[title], title
    lag = stack.values("time() - sftpgo_dash_newest_event_timestamp_seconds", "node")
    assert set(lag) == {("n1",), ("n2",)} and all(v > 0 for v in lag.values())


def test_the_alert_rules_load_evaluate_and_fire(stack):
    def rules():
        status, body = _get(f"http://127.0.0.1:{stack.prom_port}/api/v1/rules")
        groups = json.loads(body)["data"]["groups"]
        found = [r for g in groups for r in g["rules"]]
        return found if found and all(r["health"] == "ok" for r in found) else None
    found = _wait("the rules evaluated", rules)
    assert {r["name"] for r in found} == {"SftpgoDashNodeStale", "SftpgoDashFailedLoginBurst",
                                          "SftpgoDashDown"}
    for rule in found:
        stack.query(rule["query"])                                    # raises on an error
    _wait("the stale node's alert", lambda: stack.values(
        'ALERTS{alertname="SftpgoDashNodeStale"}', "node") == {("n2",): 1.0})
    _wait("the burst's alert", lambda: ("n1",) in stack.values(
        'ALERTS{alertname="SftpgoDashFailedLoginBurst"}', "node"))
    assert stack.query('ALERTS{alertname="SftpgoDashDown"}') == []


def test_promtool_accepts_the_rules_file():
    check = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 3 rules found" in check.stdout
