"""Ranges shorter than a day: the span a query names (days, ago, hours, times of day), the
buckets chosen for it, and the reads of a window from the raw events, against the rollups'
answers over whole days and against tests/reference.py over part of a day, on both backends."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import quote

import pytest

from dashboard import params, queries, security, span, timeline, users, window
from tests import reference

from tests.support.dashboard import (SAMPLES, attack_lines, by_name, client_for, events_of,
                                     expected_stats,
                                     ingest_all)

TODAY = date(2024, 9, 18)
NOW = datetime(2024, 9, 18, 14, 25, 7)
DEFAULT = date(2022, 1, 1)
KINDS = ("upload", "download", "file_op", "login", "login_failed", "ban")


# --- the span a query names ----------------------------------------------------------------

@pytest.mark.parametrize("spec, expected", [
    ({"days": "1"}, ("2024-09-18", "2024-09-18", None, None)),
    ({"days": "1", "ago": "1"}, ("2024-09-17", "2024-09-17", None, None)),
    ({"days": "7", "ago": "0"}, ("2024-09-12", "2024-09-18", None, None)),
    ({"hours": "24"}, ("2024-09-17", "2024-09-18", "2024-09-17T15:00", "2024-09-18T15:00")),
    ({"hours": "1"}, ("2024-09-18", "2024-09-18", "2024-09-18T14:00", "2024-09-18T15:00")),
    ({"start": "2024-09-18T03:00", "end": "2024-09-18T03:59"},
     ("2024-09-18", "2024-09-18", "2024-09-18T03:00", "2024-09-18T04:00")),
    ({"start": "2024-09-17T22:30", "end": "2024-09-18"},
     ("2024-09-17", "2024-09-18", "2024-09-17T22:30", "2024-09-19T00:00")),
    ({"start": "2024-09-18", "end": "2024-09-18T23:59"},
     ("2024-09-18", "2024-09-18", "2024-09-18T00:00", "2024-09-19T00:00")),
    ({"start": "2024-09-01", "end": "2024-09-18"}, ("2024-09-01", "2024-09-18", None, None)),
    ({}, ("2022-01-01", "2024-09-18", None, None)),
])
def test_a_spec_names_whole_days_or_a_window(spec, expected):
    got = span.resolve(spec, TODAY, DEFAULT, NOW).store()
    assert (got["start"], got["end"], got["since"], got["until"]) == expected


@pytest.mark.parametrize("spec, message", [
    ({"days": "-3"}, "days must be a whole number from 1 to 36,600, not '-3'"),
    ({"days": "0"}, "days must be a whole number"),
    ({"hours": "0"}, "hours must be a whole number from 1 to 168, not '0'"),
    ({"hours": "169"}, "hours must be a whole number from 1 to 168"),
    ({"hours": "24", "days": "1"}, "give one of hours=, days= or start=/end=, not hours and days"),
    ({"days": "1", "start": "2024-09-01"}, "not days and start/end"),
    ({"ago": "1"}, "ago= counts back from days=: give days= with it"),
    ({"start": "2024-09-18T25:00"}, "start '2024-09-18T25:00' is not a time of the calendar"),
    ({"start": "2024-09-18T03"}, "start must be a date written YYYY-MM-DD or a minute written"),
    ({"start": "2024-09-18T04:00", "end": "2024-09-18T03:00"},
     "start 2024-09-18T04:00 is after end 2024-09-18T03:00"),
    ({"start": "2024-01-01T00:00", "end": "2024-09-18"}, "spans at most 31 days"),
    ({"start": "garbage"}, "start must be a date written YYYY-MM-DD"),
])
def test_a_spec_that_cannot_be_says_why(spec, message):
    with pytest.raises(params.RangeError, match=message.replace("(", r"\(").replace(
            ")", r"\)").replace(".", r"\.").replace("?", r"\?")):
        span.resolve(spec, TODAY, DEFAULT, NOW)


def test_words_count_right():
    assert span.plural(1, "day") == "1 day" and span.plural(1004, "day") == "1,004 days"


# --- buckets chosen for the range ------------------------------------------------------------

@pytest.mark.parametrize("spec, bucket, bars", [
    ({"hours": "1"}, "5m", 12), ({"hours": "2"}, "5m", 24), ({"hours": "4"}, "10m", 24),
    ({"hours": "6"}, "15m", 24), ({"hours": "12"}, "30m", 24), ({"days": "1"}, "hour", 24),
    ({"hours": "24"}, "hour", 24), ({"days": "2"}, "hour", 48), ({"days": "4"}, "3h", 32),
    ({"days": "7"}, "6h", 28), ({"days": "8"}, "6h", 32), ({"days": "9"}, "day", 9),
    ({"days": "120"}, "day", 120), ({"days": "365"}, "week", None),
    ({"days": "1000"}, "month", None),
])
def test_the_auto_bucket_keeps_a_range_to_a_readable_number_of_bars(spec, bucket, bars):
    s = span.resolve(spec, TODAY, DEFAULT, NOW)
    assert timeline.auto(s) == bucket
    if bucket in timeline.SUBDAY:
        assert len(timeline.slots(s, bucket)) == bars


def test_buckets_hold_exactly_the_events_of_their_minutes():
    s = span.resolve({"start": "2024-09-18T03:07", "end": "2024-09-18T04:59"}, TODAY, DEFAULT)
    rows = [("2024-09-18 03:07", "upload", 2, 10, 0), ("2024-09-18 03:14", "download", 1, 5, 0),
            ("2024-09-18 03:15", "upload", 4, 1, 1), ("2024-09-18 04:59", "ban", 3, 0, 0)]
    got = timeline.bucketed(rows, s, "15m", KINDS)
    assert [b["start"] for b in got[:2]] == ["2024-09-18T03:07:00.000", "2024-09-18T03:15:00.000"]
    assert got[0]["end"] == "2024-09-18T03:14:59.999"              # the first is cut to the span
    assert [(b["upload"], b["download"], b["ban"], b["total"]) for b in got] == \
        [(2, 1, 0, 3), (4, 0, 0, 4)] + [(0, 0, 0, 0)] * 5 + [(0, 0, 3, 3)]
    assert got[0]["bytes_uploaded"] == 10 and got[0]["bytes_downloaded"] == 5


# --- window reads, on both backends -----------------------------------------------------------

@pytest.fixture(params=["msda-excerpt.log", "generated"])
def logged(request, engine, log_dir) -> list[dict]:
    data = attack_lines() if request.param == "generated" else (SAMPLES / request.param).read_bytes()
    (log_dir / "sftpgo.log").write_bytes(data)
    ingest_all(engine, log_dir)
    return events_of(data)


def whole_day_window(day: str) -> span.Span:
    first = datetime.fromisoformat(day)
    return span.Span(first.date(), first.date(), first, first + timedelta(days=1))


def test_a_window_of_whole_days_reads_what_the_rollups_hold(logged, engine):
    day = "2024-09-18"
    s, d = whole_day_window(day), date.fromisoformat(day)
    assert window.stats(engine, s) == queries.stats(engine, d, d)
    assert window.security(engine, s, 3) == security.security(engine, d, d, 3)
    assert window.security(engine, s) == security.security(engine, d, d)
    for name in sorted({e["username"] for e in logged if e["kind"] in users.USER_KINDS and
                        e["username"]}):
        assert users.user(engine, name, d, d, span=s) == users.user(engine, name, d, d)


def _minus(first: str, last: str) -> str:
    """Returns the logged time where the window of as many minutes before first..last starts."""
    a, b = datetime.fromisoformat(first), datetime.fromisoformat(last)
    return (a - (b - a) - timedelta(minutes=1)).isoformat(timespec="milliseconds")


@pytest.mark.parametrize("first, last", [("2024-09-18T03:17", "2024-09-18T03:59"),
                                         ("2024-09-18T04:00", "2024-09-18T13:59")])
def test_a_window_counts_its_own_minutes_by_the_contract(logged, engine, db_url, log_dir,
                                                         first, last):
    inside = [e for e in logged if first <= e["ts"][:16] <= last]
    assert 0 < len(inside) < len(logged)              # the window cuts the day
    client = client_for(db_url, log_dir)
    query = f"start={first}&end={last}"
    body = client.get(f"/api/stats?{query}").get_json()
    assert body.pop("users_truncated") is False
    before = [e for e in logged if e["ts"][:16] < first]     # the same minutes just before
    assert body.pop("previous")["logins"] == sum(1 for e in before if e["kind"] == "login"
                                                 and e["ts"] >= _minus(first, last))
    want = expected_stats(inside, date(2024, 9, 18), date(2024, 9, 18))
    assert by_name(body.pop("users")) == by_name(want.pop("users"))
    assert body == want
    assert client.get(f"/api/security?{query}").get_json() == \
        reference.security_with_countries(inside, "2024-09-18", "2024-09-18")
    for name in sorted({e["username"] for e in inside if e["kind"] in users.USER_KINDS}):
        want = reference.user(inside, name, "2024-09-18", "2024-09-18")
        if want is None:
            continue
        edges = reference.user(logged, name, "2024-09-18", "2024-09-18")   # of all time
        want.update({k: edges[k] for k in ("first_seen", "last_seen", "last_login")})
        got = client.get(f"/api/users/{quote(name, safe='')}?{query}").get_json()
        assert got == want, name
    events = client.get(f"/api/events?{query}&limit=1000").get_json()["events"]
    assert events == [reference.api_event(e) for e in reference.newest_first(inside)]


def test_the_api_buckets_a_day_by_the_hour_from_the_events(logged, db_url, log_dir):
    client = client_for(db_url, log_dir)
    body = client.get("/api/stats?start=2024-09-18&end=2024-09-18&bucket=auto").get_json()
    assert body["bucket"] == "hour" and len(body["buckets"]) == 24
    assert body["buckets"][3]["start"] == "2024-09-18T03:00:00.000"
    assert body["buckets"][3]["end"] == "2024-09-18T03:59:59.999"
    for kind in KINDS + ("total",):
        assert sum(b[kind] for b in body["buckets"]) == body["days"][0][kind]
    hours = {int(e["ts"][11:13]) for e in logged if e["day"] == "2024-09-18"}
    assert {i for i, b in enumerate(body["buckets"]) if b["total"]} == hours
    five = client.get("/api/stats?start=2024-09-18T03:00&end=2024-09-18T04:59&bucket=5m")
    assert len(five.get_json()["buckets"]) == 24
    assert sum(b["total"] for b in five.get_json()["buckets"]) == \
        sum(1 for e in logged if "2024-09-18T03:00" <= e["ts"][:16] <= "2024-09-18T04:59")


@pytest.mark.parametrize("query, error", [
    ("days=-3", "days must be a whole number from 1 to 36,600, not '-3'"),
    ("days=x", "days must be a whole number from 1 to 36,600, not 'x'"),
    ("days=7&start=2024-09-01", "give one of hours=, days= or start=/end=, not days and start/end"),
    ("hours=500", "hours must be a whole number from 1 to 168, not '500'"),
    ("ago=2", "ago= counts back from days=: give days= with it"),
    ("start=2023-01-01&end=2024-01-01&bucket=hour",
     "bucket=hour needs a range of at most 31 days (this one has 366): use day, week, month or auto"),
    ("bucket=year", "bucket 'year' is not one of auto, 5m, 10m, 15m, 30m, hour, 3h, 6h, 12h, day, "
                    "week, month"),
])
def test_the_api_refuses_a_range_it_cannot_read(sqlite_url, log_dir, query, error):
    client = client_for(sqlite_url, log_dir)
    for path in ("/api/stats", "/api/security", "/api/events", "/api/users.csv"):
        if "bucket" in query and path != "/api/stats":
            continue
        answer = client.get(f"{path}?{query}")
        assert answer.status_code == 400 and answer.get_json() == {"error": error}, path


def test_days_is_honoured_by_every_api(logged, db_url, log_dir):
    client = client_for(db_url, log_dir)
    today = date.today().isoformat()
    body = client.get("/api/stats?days=1").get_json()
    assert (body["start"], body["end"]) == (today, today)
    last = client.get("/api/stats?days=3650").get_json()
    assert last["totals"]["transfers"] == sum(1 for e in logged if e["kind"] in ("upload", "download"))
    assert client.get("/api/security?days=3650").get_json()["totals"]["login_failures"] == \
        sum(1 for e in logged if e["kind"] == "login_failed")
    assert client.get("/api/events?days=1&ago=3650").get_json()["events"] == []
