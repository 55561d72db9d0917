"""/api/alerts and /alerts from a real gunicorn ('app:wsgi()'), on SQLite and MariaDB: the
contract's shape, newest first, filters, 400s, and no secret anywhere in the answer."""
from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timedelta

import pytest

from ingestion.run import Ingester
from settings import Settings
from tests.support.dashboard import ROOT, closed_port, fetch, server_command, wait_until_serving

from tests.support.alerts import (BRUTE_FORCE_AND_BAN, EPOCH, ban_line, failed_line, rules_file,
                                  write)

SECRET_HOOK = "http://127.0.0.1:9/services/T000/B000/XXXXsecretpath?token=s3cret"
RULES = f"""
{BRUTE_FORCE_AND_BAN}
[[rule]]
name = "acme-feed"
when = "quiet"
users = ["ghost"]
for = "1h"

[[notify]]
webhook = "{SECRET_HOOK}"

[[notify]]
email = "ops@example.com"
"""
SMTP = "smtp://alerts:hunter2@127.0.0.1:9?starttls=1"


@pytest.fixture
def server(db_url, engine, log_dir, tmp_path):
    """Alerts stored by an ingester (brute force, two bans, a firing quiet), then gunicorn
    serving that database with the same rules, channels and a password in SMTP_URL."""
    rules = rules_file(tmp_path / "rules.toml", RULES)
    now = (datetime.now() - EPOCH) // timedelta(milliseconds=1)
    lines = [failed_line(now - 7_200_000 + 1000 * i, "203.0.113.9", "root") for i in range(20)]
    lines += [ban_line(now - 3_600_000, "203.0.113.9"), ban_line(now - 60_000, "198.51.100.4")]
    write(log_dir / "sftpgo.log", lines)
    cfg = Settings(log_dir=str(log_dir), db_url=db_url, alert_rules=rules, smtp_url=SMTP,
                   smtp_from="d@example.com")
    ing = Ingester(engine, cfg)
    ing.alerts.enabled = False             # judged once here; nothing is sent in this test
    ing.run_until_done()
    ing.alerts.evaluator.run()
    ing.close()
    port = closed_port()
    env = {**os.environ, "DATABASE_URL": db_url, "SFTPGO_LOG_DIR": str(log_dir),
           "ALERT_RULES": rules, "SMTP_URL": SMTP, "SMTP_FROM": "d@example.com",
           "DASHBOARD_INTERVAL": "3600"}
    with (tmp_path / "server.log").open("wb") as output:
        proc = subprocess.Popen(server_command("gunicorn", port, db_url, log_dir), cwd=ROOT,
                                env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(proc, port)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def get(port: int, path: str) -> tuple[int, dict]:
    status, headers, body = fetch(port, path)
    assert headers["content-type"].startswith("application/json")
    return status, json.loads(body)


def test_the_answer_has_the_contracts_shape_newest_first(server):
    status, body = get(server, "/api/alerts")
    assert status == 200
    assert body["firing"] == 1
    assert [r["name"] for r in body["rules"]] == ["brute-force", "ban", "acme-feed"]
    assert body["rules"][0] == {"name": "brute-force", "when": "login_failures", "per": "ip",
                                "over": 20, "within_s": 600}
    alerts = body["alerts"]
    assert [a["rule"] for a in alerts] == ["acme-feed", "ban", "ban", "brute-force"]
    assert [a["at"] for a in alerts] == sorted((a["at"] for a in alerts), reverse=True)
    bf = alerts[-1]
    assert set(bf) == {"id", "rule", "when", "state", "key", "at", "count", "summary",
                       "resolved_at", "delivery", "within_s"}
    assert (bf["when"], bf["state"], bf["key"], bf["count"]) == \
        ("login_failures", "fired", {"ip": "203.0.113.9"}, 20)
    assert len(bf["id"]) == 32 and bf["resolved_at"] is None
    assert bf["delivery"] == {"webhook:http://127.0.0.1:9/…": "skipped_old",
                              "email:ops@example.com": "skipped_old"}
    assert alerts[1]["delivery"] == {"webhook:http://127.0.0.1:9/…": "pending",
                                     "email:ops@example.com": "pending"}
    assert alerts[0]["state"] == "firing" and alerts[0]["key"] == {"user": "ghost"}


def test_no_secret_in_the_answer_or_the_page(server):
    for path in ("/api/alerts", "/api/alerts?state=firing", "/alerts",
                 "/_dash-layout", "/api/status"):
        status, _h, body = fetch(server, path)
        assert status == 200, path
        text = body.decode()
        for secret in ("s3cret", "hunter2", "XXXXsecretpath", "services/T000", "token="):
            assert secret not in text, (path, secret)


def test_filters(server):
    _s, body = get(server, "/api/alerts?rule=ban")
    assert [a["rule"] for a in body["alerts"]] == ["ban", "ban"]
    _s, body = get(server, "/api/alerts?state=firing")
    assert [a["rule"] for a in body["alerts"]] == ["acme-feed"]
    _s, body = get(server, "/api/alerts?limit=1")
    assert len(body["alerts"]) == 1 and body["alerts"][0]["rule"] == "acme-feed"
    _s, body = get(server, "/api/alerts?start=2001-01-01&end=2001-01-02")
    assert body["alerts"] == [] and body["firing"] == 1


@pytest.mark.parametrize("query,words", [
    ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=ten", "limit"),
    ("state=burning", "state"), ("rule=Not%20A%20Rule", "rule"), ("start=2024-13-01", "start"),
    ("start=2024-02-01&end=2024-01-01", "after end")])
def test_bad_parameters_answer_400_json(server, query, words):
    status, body = get(server, f"/api/alerts?{query}")
    assert status == 400 and words in body["error"]


def test_post_is_405(server):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    try:
        conn.request("POST", "/api/alerts", body=b"{}")
        answer = conn.getresponse()
        assert answer.status == 405 and "GET" in json.loads(answer.read())["error"]
    finally:
        conn.close()
