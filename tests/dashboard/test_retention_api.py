"""The raw-event views say when their range reaches past the retention (issue 12, part 3);
the rollup views stay complete; /api/status reports the setting and the oldest event."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from dashboard import retention_notes as notes
from ingestion import retention
from tests.support.ingest import LogWriter, _T0, event_line

from tests.support.dashboard import client_for, ingest_all

TODAY = date.today()
DAYS = 10
CUT = TODAY - timedelta(days=DAYS)


def day(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


def logged(engine, log_dir) -> LogWriter:
    """Ingests an upload by alice every 6 hours of the last 20 days, and prunes at CUT."""
    base = int((datetime.combine(TODAY - timedelta(days=20), datetime.min.time())
                - _T0).total_seconds() * 1000)
    w = LogWriter(log_dir)
    w.write(*(event_line(i, user="alice", ms=base + i * 6 * 3_600_000) for i in range(4 * 19)))
    ingest_all(engine, log_dir)
    assert retention.prune(engine, CUT).deleted == 4 * 10
    return w


def test_events_say_when_the_range_reaches_past_the_retention(engine, db_url, log_dir):
    logged(engine, log_dir)
    client = client_for(db_url, log_dir, events_retention_days=DAYS)
    body = client.get(f"/api/events?start={day(20)}&limit=1000").get_json()
    assert body["retention"] == {"days": DAYS, "oldest_kept": CUT.isoformat(),
                                 "range_truncated": True}
    assert len(body["events"]) == 4 * 9 and min(e["ts"] for e in body["events"]) >= day(DAYS)
    inside = client.get(f"/api/events?start={day(DAYS)}").get_json()["retention"]
    assert inside == {"days": DAYS, "oldest_kept": CUT.isoformat(), "range_truncated": False}
    csv = client.get(f"/api/events.csv?start={day(20)}")
    assert csv.headers["X-Retention"] == \
        f"days={DAYS}; oldest_kept={CUT.isoformat()}; range_truncated=true"
    # the rollups are complete for any range
    stats = client.get(f"/api/stats?start={day(20)}").get_json()
    assert stats["totals"]["uploads"] == 4 * 19 and "retention" not in stats


def test_a_longer_retention_does_not_bring_pruned_days_back(engine, db_url, log_dir):
    logged(engine, log_dir)
    for days in (0, 30):
        client = client_for(db_url, log_dir, events_retention_days=days)
        body = client.get(f"/api/events?start={day(20)}").get_json()["retention"]
        assert body == {"days": days or None, "oldest_kept": CUT.isoformat(),
                        "range_truncated": True}


def test_a_range_with_no_events_before_the_cut_is_not_truncated(engine, db_url, log_dir):
    logged(engine, log_dir)
    client = client_for(db_url, log_dir, events_retention_days=DAYS)
    body = client.get(f"/api/events?start={day(40)}&end={day(25)}").get_json()
    assert body["retention"]["range_truncated"] is False and body["events"] == []
    user = client.get(f"/api/users/bob?start={day(20)}")
    assert user.status_code == 404


def test_the_user_view_says_which_times_were_pruned(engine, db_url, log_dir):
    logged(engine, log_dir)
    client = client_for(db_url, log_dir, events_retention_days=DAYS)
    body = client.get(f"/api/users/alice?start={day(20)}").get_json()
    assert body["first_seen"] is None and body["last_seen"] is not None
    assert body["retention"] == {"days": DAYS, "oldest_kept": CUT.isoformat(),
                                 "range_truncated": True, "first_seen_day": day(20)}
    assert body["totals"]["uploads"] == 4 * 19        # from the rollup: complete
    # ips and protocols too (the user rollups of 011), and check/rebuild leave pruned days
    assert body["ips"] == [{"ip": "10.1.2.3", "events": 4 * 19}]
    assert body["protocols"] == [{"protocol": "SFTP", "transfers": 4 * 19,
                                  "bytes": 4 * 19 * 1000}]
    from ingestion import rollups
    assert rollups.check(engine) == []
    rollups.rebuild(engine)
    assert client.get(f"/api/users/alice?start={day(20)}").get_json() == body
    later = client.get(f"/api/users/alice?start={day(5)}").get_json()["retention"]
    assert later["range_truncated"] is False and later["first_seen_day"] == day(20)


def test_no_retention_field_when_every_event_is_kept(engine, db_url, log_dir):
    w = LogWriter(log_dir)
    w.write(event_line(1), event_line(2))
    ingest_all(engine, log_dir)
    client = client_for(db_url, log_dir)
    assert "retention" not in client.get("/api/events?start=2024-09-01").get_json()
    assert "retention" not in client.get("/api/users/alice?start=2024-09-01").get_json()
    assert "X-Retention" not in client.get("/api/events.csv?start=2024-09-01").headers
    status = client.get("/api/status").get_json()["retention"]
    assert status == {"days": None, "oldest_event": "2024-09-18T03:00:00.001",
                      "pruned_before": None, "events_pruned": 0, "pruned_at": None}


def test_status_reports_the_setting_and_the_oldest_event_kept(engine, db_url, log_dir):
    logged(engine, log_dir)
    body = client_for(db_url, log_dir, events_retention_days=DAYS).get("/api/status").get_json()
    ret = body["retention"]
    assert body["database"] == "ok"
    assert (ret["days"], ret["pruned_before"], ret["events_pruned"]) == (DAYS, CUT.isoformat(), 40)
    assert ret["oldest_event"].startswith(CUT.isoformat() + "T00:00:00")
    assert ret["pruned_at"] is not None


def test_the_page_notice_names_the_first_day_kept():
    assert notes.notice(None) is None
    assert notes.notice({"days": 10, "oldest_kept": "2024-09-08", "range_truncated": False}) is None
    text = notes.notice({"days": 10, "oldest_kept": "2024-09-08", "range_truncated": True})
    assert text.startswith("Raw events are kept for 10 days. Events before 2024-09-08 have been "
                           "removed")
    assert "rollups" in text
    assert notes.notice({"days": None, "oldest_kept": "2024-09-08",
                         "range_truncated": True}).startswith("Events before 2024-09-08")
