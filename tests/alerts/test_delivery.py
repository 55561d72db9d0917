"""Delivery through real receivers: a webhook (JSON and Slack-style text) on an http.server
thread that can be down and come back, e-mail through aiosmtpd (plain, STARTTLS with AUTH,
TLS from the start); the outbox's states, backoff and give-up; a backfill sends nothing."""
from __future__ import annotations

import time
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from alerts import rules
from alerts.deliver import Delivery
from ingestion.run import Ingester
from settings import Settings

from tests.support.receivers import HttpReceiver, SmtpReceiver, free_port, self_signed
from tests.support.alerts import EPOCH, failed_line, rules_file, stored, write


def _now_ms() -> int:
    return (datetime.now() - EPOCH) // timedelta(milliseconds=1)


def attack(ip: str = "203.0.113.9", n: int = 20, start_ms: int | None = None) -> list[dict]:
    """``n`` failed logins from ``ip``, a second apart, ending about now."""
    t = (_now_ms() - n * 1000) if start_ms is None else start_ms
    return [failed_line(t + 1000 * i, ip, "root") for i in range(n)]


def _rules(tmp_path, hook: str, extra: str = "") -> str:
    return rules_file(tmp_path / "rules.toml", f"""
[[rule]]
name = "brute-force"
when = "login_failures"
over = 20
within = "10m"

[[notify]]
webhook = "{hook}/json?token=s3cret"

[[notify]]
webhook = "{hook}/slack/T000/B000/XXXX"
format = "slack"
{extra}""")


def outbox(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(
            "SELECT item_id, channel, state, status, attempts, last_error, next_epoch"
            " FROM alert_outbox ORDER BY channel")).mappings()]


def test_webhooks_and_email_get_the_alert_once(engine, db_url, log_dir, tmp_path):
    http = HttpReceiver().start()
    smtp = SmtpReceiver().start()
    try:
        path = _rules(tmp_path, http.url, '\n[[notify]]\nemail = "ops@example.com"\n')
        lines = attack()
        write(log_dir / "sftpgo.log", lines)
        cfg = Settings(log_dir=str(log_dir), db_url=db_url, alert_rules=path,
                       smtp_url=f"smtp://127.0.0.1:{smtp.port}", smtp_from="dash@example.com",
                       dashboard_url="https://dash.example.com")
        ing = Ingester(engine, cfg)
        ing.run_until_done()
        ing.alerts.finish(max_seconds=20)
        alert, = stored(engine)
        http.wait_for(2)
        (body,) = http.bodies("/json")
        assert body["id"] == alert["id"] and body["rule"] == "brute-force"
        assert (body["when"], body["state"], body["key"], body["count"], body["within_s"]) == \
            ("login_failures", "fired", {"ip": "203.0.113.9"}, 20, 600)
        assert type(body["within_s"]) is int               # 600, as the contract writes it
        assert body["summary"] == "20 failed logins from 203.0.113.9 within 10 min"
        assert body["at"] == lines[19]["time"]          # the 20th failure fired it
        url = urlsplit(body["url"])
        assert url.netloc == "dash.example.com" and url.path == "/audit"
        q = parse_qs(url.query)
        assert q["ip"] == ["203.0.113.9"] and q["kind"] == ["login_failed"] and "start" in q
        (slack,) = http.bodies("/slack")
        assert slack == {"text": f"{body['summary']} {body['url']}"}
        headers = [h for p, h, _b in http.got if p.startswith("/json")][0]
        assert headers["Content-Type"] == "application/json"
        (mail,) = smtp.messages
        assert mail["Subject"].startswith("[SFTPGo] brute-force: 20 failed logins")
        assert mail["X-Alert-Id"] == alert["id"] and mail["To"] == "ops@example.com"
        text = mail.get_body(("plain",)).get_content()
        page = mail.get_body(("html",)).get_content()
        assert "203.0.113.9" in text and body["url"] in text and "<table>" in page
        assert {r["status"] for r in outbox(engine)} == {"sent"}
        # nothing more: a second pass, a second drain
        ing.run_pass()
        ing.alerts.finish(max_seconds=5)
        assert len(http.got) == 2 and len(smtp.messages) == 1
        ing.close()
    finally:
        http.stop()
        smtp.stop()


class Clock:
    def __init__(self):
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_a_receiver_that_is_down_gets_it_when_it_returns(engine, db_url, log_dir, tmp_path):
    port = free_port()                 # nothing listens there yet: connections are refused
    http = HttpReceiver(port)
    path = _rules(tmp_path, http.url)
    write(log_dir / "sftpgo.log", attack())
    ing = Ingester(engine, Settings(log_dir=str(log_dir), db_url=db_url, alert_rules=path))
    ing.alerts.enabled = False          # judged below, sent by the delivery under test
    ing.run_until_done()
    ing.alerts.evaluator.run()
    clock = Clock()
    delivery = Delivery(engine, rules.load(Settings(alert_rules=path)), epoch=clock)
    assert delivery.run_once() == 0
    rows = outbox(engine)
    assert [(r["status"], r["attempts"]) for r in rows] == [("pending", 1)] * 2
    assert all("unreachable" in r["last_error"] and "s3cret" not in r["last_error"]
               and "XXXX" not in r["last_error"] for r in rows)
    assert all(r["next_epoch"] == clock.now + 30 for r in rows)
    clock.now += 10
    assert delivery.run_once() == 0 and outbox(engine)[0]["attempts"] == 1   # not due yet
    clock.now += 25
    assert delivery.run_once() == 0
    assert outbox(engine)[0]["attempts"] == 2 and outbox(engine)[0]["next_epoch"] == clock.now + 60
    http.start()                        # it comes back
    try:
        clock.now += 61
        assert delivery.run_once() == 2
        assert {r["status"] for r in outbox(engine)} == {"sent"}
        ids = {b["id"] for b in http.bodies("/json")}
        assert ids == {stored(engine)[0]["id"]} and len(http.got) == 2
        # an answer that is an error is retried too, then given up after 24 hours
        http.status = 500
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alert_outbox SET status = 'pending', attempts = 0,"
                                 " next_epoch = 0"))
        assert delivery.run_once() == 0
        assert all("HTTP 500" in r["last_error"] for r in outbox(engine))
        clock.now += 24 * 3600 + 1
        delivery.run_once()
        assert {r["status"] for r in outbox(engine)} == {"failed"}
    finally:
        http.stop()
    ing.close()


def test_a_backfill_stores_alerts_and_sends_nothing(engine, db_url, log_dir, tmp_path):
    http = HttpReceiver().start()
    try:
        path = _rules(tmp_path, http.url, "\n[[rule]]\nname = \"ban\"\nwhen = \"ban\"\n")
        old = _now_ms() - 400 * 86400_000          # a year ago and more
        lines = attack(start_ms=old) + attack("203.0.113.10", start_ms=old + 86400_000)
        write(log_dir / "sftpgo-2020-01-01T00-00-00.000.log", lines)
        ing = Ingester(engine, Settings(log_dir=str(log_dir), db_url=db_url, alert_rules=path))
        ing.run_until_done()
        ing.alerts.finish(max_seconds=5)
        assert len(stored(engine)) == 2
        assert {r["status"] for r in outbox(engine)} == {"skipped_old"}
        assert http.got == []
        # then a live attack now: that one is sent
        write(log_dir / "sftpgo.log", attack("203.0.113.11"))
        ing.run_until_done()
        ing.alerts.finish(max_seconds=10)
        http.wait_for(2)
        assert [b["key"]["ip"] for b in http.bodies("/json")] == ["203.0.113.11"]
        ing.close()
    finally:
        http.stop()


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_email_over_starttls_and_tls_with_credentials_from_the_url(engine, db_url, log_dir,
                                                                  tmp_path, monkeypatch, mode):
    cert = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", cert[0])       # the client trusts this server's cert
    # (aiosmtpd offers AUTH after STARTTLS only: the TLS server takes mail without it)
    login = ("alerts@example.com", "p@ss word") if mode == "starttls" else None
    smtp = SmtpReceiver(mode, login=login, cert=cert).start()
    try:
        path = rules_file(tmp_path / "rules.toml", """
[[rule]]
name = "brute-force"
when = "login_failures"
over = 20
within = "10m"

[[notify]]
email = "ops@example.com"
""")
        url = f"smtps://127.0.0.1:{smtp.port}" if mode == "tls" else \
            f"smtp://alerts%40example.com:p%40ss%20word@127.0.0.1:{smtp.port}?starttls=1"
        write(log_dir / "sftpgo.log", attack())
        ing = Ingester(engine, Settings(log_dir=str(log_dir), db_url=db_url, alert_rules=path,
                                        smtp_url=url, smtp_from="dash@example.com"))
        ing.run_until_done()
        ing.alerts.finish(max_seconds=20)
        (mail,) = smtp.messages
        assert mail["X-Alert-Id"] == stored(engine)[0]["id"]
        assert [r["status"] for r in outbox(engine)] == ["sent"]
        ing.close()
    finally:
        smtp.stop()


def test_a_wrong_smtp_password_is_an_error_without_the_password(engine, db_url, log_dir,
                                                                tmp_path, monkeypatch):
    cert = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", cert[0])
    smtp = SmtpReceiver("starttls", login=("u", "right"), cert=cert).start()
    try:
        path = rules_file(tmp_path / "rules.toml", '[[rule]]\nname = "ban"\nwhen = "ban"\n'
                          '[[notify]]\nemail = "ops@example.com"\n')
        write(log_dir / "sftpgo.log", [{"level": "info", "time": attack()[-1]["time"],
                                        "sender": "defender", "client_ip": "203.0.113.5",
                                        "protocol": "SSH", "event": "banned"}])
        ing = Ingester(engine, Settings(
            log_dir=str(log_dir), db_url=db_url, alert_rules=path, smtp_from="d@example.com",
            smtp_url=f"smtp://u:wrong-hunter2@127.0.0.1:{smtp.port}?starttls=1"))
        ing.run_until_done()
        ing.alerts.finish(max_seconds=10)
        (row,) = outbox(engine)
        assert row["status"] == "pending" and row["attempts"] == 1, row
        assert "535" in row["last_error"] and "hunter2" not in row["last_error"]
        assert smtp.messages == []
        ing.close()
    finally:
        smtp.stop()

