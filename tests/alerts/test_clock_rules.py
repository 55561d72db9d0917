"""Clock rules and digests: quiet (lines with the clock's own times, a `for` of seconds),
stale_node (a node that stops passing), digests once per ended period; on SQLite and MariaDB."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from alerts import digest, rules
from alerts.deliver import Delivery
from alerts.evaluate import Evaluator
from ingestion.run import Ingester
from settings import Settings
from tests.support.dashboard import add_file, set_ingest_status

from tests.support.receivers import HttpReceiver, SmtpReceiver
from tests.support.alerts import (EPOCH, ban_line, failed_line, login_line, rules_file, stored,
                                  transfer_line, write)


def now_ms() -> int:
    return (datetime.now() - EPOCH) // timedelta(milliseconds=1)


QUIET = """
[[rule]]
name = "acme-feed"
when = "quiet"
users = ["acme", "ghost"]
kind = "upload"
min = 1
for = "2s"

[[notify]]
webhook = "{hook}/q"
"""


def test_quiet_fires_when_a_feed_stops_and_resolves_when_it_comes_back(engine, db_url, log_dir,
                                                                       tmp_path):
    http = HttpReceiver().start()
    try:
        path = rules_file(tmp_path / "rules.toml", QUIET.format(hook=http.url))
        # a year-old backfill with a long gap first: no alert for that old gap
        old = now_ms() - 365 * 86400_000
        write(log_dir / "sftpgo-2020-01-01T00-00-00.000.log",
              [transfer_line(old + d * 86400_000, "acme", 100) for d in (0, 1, 40, 41)])
        write(log_dir / "sftpgo.log", [transfer_line(now_ms(), "acme", 100)])
        ing = Ingester(engine, Settings(log_dir=str(log_dir), db_url=db_url, alert_rules=path))
        ing.alerts.enabled = False
        ing.run_until_done()
        ev = ing.alerts.evaluator
        ev.run()
        # ghost has never uploaded: quiet from now; acme uploaded just now: not quiet
        assert [(r["key"], r["state"]) for r in stored(engine)] == [({"user": "ghost"}, "firing")]
        time.sleep(2.3)
        ev.run()
        rows = {r["key"]["user"]: r for r in stored(engine)}
        last = now_ms()
        acme = rows["acme"]
        assert acme["state"] == "firing" and last - 2500 < acme["at"] <= last
        ev.run()                                               # still quiet: nothing new
        assert len(stored(engine)) == 2
        write(log_dir / "sftpgo.log", [transfer_line(now_ms(), "acme", 100)], mode="ab")
        ing.run_until_done()
        ev.run()
        rows = {r["key"]["user"]: r for r in stored(engine)}
        assert rows["acme"]["state"] == "resolved" and rows["acme"]["id"] == acme["id"]
        with engine.connect() as conn:
            resolved_at = conn.execute(sa.text("SELECT resolved_at FROM alerts WHERE id = :i"),
                                       {"i": acme["id"]}).scalar()
        assert resolved_at is not None
        delivery = Delivery(engine, rules.load(Settings(alert_rules=path)))
        assert delivery.run_once() == 3                       # ghost, acme firing, resolved
        got = [(b["key"]["user"], b["state"], b["id"]) for b in http.bodies("/q")]
        assert sorted(got) == sorted([("ghost", "firing", rows["ghost"]["id"]),
                                      ("acme", "firing", acme["id"]),
                                      ("acme", "resolved", acme["id"])])
        resolved = [b for b in http.bodies("/q") if b["state"] == "resolved"][0]
        assert resolved["summary"] == "'acme' is active again"
        # it goes quiet again: a new alert (a new time), the resolved one stays as it was
        time.sleep(2.3)
        ev.run()
        acme_rows = [r for r in stored(engine) if r["key"] == {"user": "acme"}]
        assert sorted(r["state"] for r in acme_rows) == ["firing", "resolved"]
        ing.close()
    finally:
        http.stop()


def test_quiet_is_not_judged_while_a_backfill_is_under_way(engine, db_url, log_dir, tmp_path):
    path = rules_file(tmp_path / "rules.toml", QUIET.format(hook="http://127.0.0.1:9"))
    lines = [transfer_line(now_ms() - 86400_000 + i, "acme", 10) for i in range(30_000)]
    write(log_dir / "sftpgo.log", lines)
    ing = Ingester(engine, Settings(log_dir=str(log_dir), db_url=db_url, alert_rules=path))
    prog = ing.run_pass(max_bytes=100_000)               # a small part read: a backfill
    assert prog.bytes_pending > 0
    ing.alerts.evaluator.run()
    assert stored(engine) == []                           # not even ghost
    ing.run_until_done()
    ing.alerts.evaluator.run()
    assert {r["key"]["user"] for r in stored(engine)} == {"acme", "ghost"}   # the last is old
    ing.close()


def test_a_stale_node_fires_and_resolves(engine, db_url):
    add_file(engine, "/logs/a/sftpgo.log", node="a")
    add_file(engine, "/logs/b/sftpgo.log", node="b")
    with engine.connect() as conn:
        db_now = conn.exec_driver_sql(
            "SELECT " + ("(julianday('now') - 2440587.5) * 86400.0" if engine.dialect.name ==
                         "sqlite" else "UNIX_TIMESTAMP(NOW(3))")).scalar()
    set_ingest_status(engine, "2026-01-01 00:00:00", node="a", epoch=float(db_now))
    set_ingest_status(engine, "2026-01-01 00:00:00", node="b", epoch=float(db_now) - 100)
    ev = Evaluator(engine, rules.load(Settings()), stale_after_s=30.0)
    ev.run()
    (alert,) = stored(engine)
    assert (alert["rule"], alert["key"], alert["state"]) == ("stale-node", {"node": "b"}, "firing")
    # it became stale 70 s ago (its last pass + 30 s), within ALERT_MAX_AGE: dated then
    assert abs(alert["at"] - (now_ms() - 70_000)) < 5_000
    ev.run()
    assert len(stored(engine)) == 1
    set_ingest_status(engine, "2026-01-01 00:00:00", node="b", epoch=float(db_now) + 1)
    ev.run()
    (alert2,) = stored(engine)
    assert alert2["id"] == alert["id"] and alert2["state"] == "resolved"


DIGEST = """
[[rule]]
name = "ban"
when = "ban"

[[digest]]
every = "1d"
webhook = "{hook}/digest"

[[digest]]
every = "1d"
email = "ops@example.com"
"""


def _day(d: int, h: int = 12) -> int:
    """Milliseconds of day ``d`` (2026-03-0d) at ``h`` o'clock, UTC (this machine's clock)."""
    return (datetime(2026, 3, d, h) - EPOCH) // timedelta(milliseconds=1)


def test_a_digest_once_per_ended_period_beside_the_one_before(engine, db_url, log_dir, tmp_path):
    assert time.localtime().tm_gmtoff == 0, "the digest test expects a UTC machine"
    http = HttpReceiver().start()
    smtp = SmtpReceiver().start()
    try:
        path = rules_file(tmp_path / "rules.toml", DIGEST.format(hook=http.url))
        lines = []
        for user, size in (("alice", 1000), ("bob", 5000), ("carol", 300)):      # day 3
            lines += [transfer_line(_day(3) + i, user, size) for i in range(3)]
        lines += [transfer_line(_day(3, 13), "bob", 1, failed=True)]
        lines += [transfer_line(_day(2), "alice", 7, kind="Download")]             # day 2
        lines += [failed_line(_day(3) + 9 + i, "203.0.113.1") for i in range(4)]
        lines += [failed_line(_day(3) + 99, "203.0.113.2"), ban_line(_day(3, 14), "203.0.113.1")]
        lines += [login_line(_day(3, 15), "192.0.2.1", "alice"),
                  transfer_line(_day(4, 1), "alice", 10**9)]                     # day 4
        lines.sort(key=lambda x: x["time"])
        write(log_dir / "sftpgo.log", lines)
        cfg = Settings(log_dir=str(log_dir), db_url=db_url, alert_rules=path,
                       smtp_url=f"smtp://127.0.0.1:{smtp.port}", smtp_from="d@example.com")
        ing = Ingester(engine, cfg)
        ing.alerts.enabled = False
        ing.run_until_done()
        config = rules.load(cfg)
        clock = [datetime(2026, 3, 4, 0, 5, tzinfo=timezone.utc).timestamp()]
        ev = Evaluator(engine, config, epoch=lambda: clock[0],
                       clock=lambda: datetime(2026, 3, 4, 0, 5))
        assert ev.run().queued == 2
        assert ev.run().queued == 0                        # once per period
        assert Delivery(engine, config, epoch=lambda: clock[0]).run_once() == 2
        (body,) = http.bodies("/digest")
        assert (body["start"], body["end"]) == ("2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z")
        f, p = body["figures"], body["previous"]
        assert (f["users"], f["transfers"], f["uploads"], f["downloads"]) == (3, 10, 10, 0)
        assert (f["bytes_uploaded"], f["failed_transfers"], f["login_failures"], f["bans"]) == \
            (3 * 6300 + 1, 1, 5, 1)
        assert f["top_users"][0] == {"username": "bob", "bytes": 15001}
        assert f["top_ips"] == [{"ip": "203.0.113.1", "login_failures": 4},
                                {"ip": "203.0.113.2", "login_failures": 1}]
        assert (p["users"], p["downloads"], p["bytes_downloaded"]) == (1, 1, 7)
        assert body["alerts_fired"] == 1 and body["alerts"][0]["rule"] == "ban"
        (mail,) = smtp.messages
        assert mail["Subject"].startswith("[SFTPGo] digest 2026-03-03: 10 transfers")
        assert "bob" in mail.get_body(("plain",)).get_content()
        # two days later: only the period just ended, never the one skipped
        clock[0] += 2 * 86400
        ev._clock = lambda: datetime(2026, 3, 6, 0, 5)
        assert ev.run().queued == 2
        with engine.connect() as conn:
            starts = sorted(conn.execute(sa.text(
                "SELECT body FROM alert_outbox WHERE item_kind = 'digest'")).scalars())
        assert sum('"start": "2026-03-05T00:00:00Z"' in b for b in starts) == 2
        assert not any('"start": "2026-03-04T00:00:00Z"' in b for b in starts)
        assert digest.period(86400, clock[0])[0] == datetime(2026, 3, 5, tzinfo=timezone.utc).timestamp()
        ing.close()
    finally:
        http.stop()
        smtp.stop()
