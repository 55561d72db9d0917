"""Callbacks called as plain functions: mode, range, live tick and redraw, on real databases."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from dash import no_update
from dash.exceptions import PreventUpdate
from plotly.io.json import to_json_plotly

from dashboard import queries
from callbacks import date_range, graphs, live, mode, url
from components import ids
from dashboard.context import AppContext
from settings import Settings
from tests.support.ingest import event_line

from tests.support.dashboard import add_stats, huge_rows, huge_sums, sftpgo_line

TODAY = date(2024, 9, 18)
D = date.fromisoformat


# --- mode --------------------------------------------------------------------------------

@pytest.mark.parametrize("search, default, kiosk", [
    ("?kiosk=1", False, True), ("?kiosk", False, True), ("?kiosk=true&x=2", False, True),
    ("?kiosk=0", True, False), ("", True, True), (None, False, False), ("?kiosk=maybe", False, False),
])
def test_kiosk_is_asked_for_in_the_query_string(search, default, kiosk):
    assert mode.kiosk_requested(search, default) is kiosk


def test_mode_changes_only_when_the_url_says_something_new():
    assert mode.set_mode("?kiosk=1", {"kiosk": False}, False) == ({"kiosk": True}, "dashboard kiosk")
    with pytest.raises(PreventUpdate):
        mode.set_mode("", {"kiosk": False}, False)


# --- range -------------------------------------------------------------------------------

@pytest.mark.parametrize("preset, spec", [
    (ids.RANGE_PRESET_7, {"days": "7"}), (ids.RANGE_PRESET_30, {"days": "30"}),
    (ids.RANGE_PRESET_YEAR, {"start": "2024-01-01"}), (ids.RANGE_PRESET_ALL, {"start": "2023-03-04"}),
])
def test_presets_are_rolling_specs(preset, spec):
    assert date_range.preset_spec(preset, TODAY, D("2023-03-04")) == spec


@pytest.mark.parametrize("spec, day, expected", [
    ({"days": "7"}, "2024-09-18", ("2024-09-12", "2024-09-18")),
    ({"days": "7"}, "2024-09-25", ("2024-09-19", "2024-09-25")),      # a week later: still 7
    ({"start": "2024-01-01"}, "2024-09-19", ("2024-01-01", "2024-09-19")),
    ({"start": "2024-01-01", "end": "2024-06-30"}, "2024-09-19", ("2024-01-01", "2024-06-30")),
    ({}, "2024-09-19", ("2022-01-01", "2024-09-19")),
])
def test_a_spec_is_resolved_against_the_day(spec, day, expected):
    start, end = url.resolve(spec, D(day), D("2022-01-01"))
    assert (start.isoformat(), end.isoformat()) == expected


def _range(out):
    return out["store"]["start"], out["store"]["end"]


def test_control_range_dispatches_on_its_trigger(engine, db_url):
    context = AppContext(Settings(db_url=db_url))
    add_stats(engine, [("2023-03-04", "login", "alice", 1, 0, 0),
                       ("2024-09-10", "login", "alice", 1, 0, 0)])
    today = {"today": "2024-09-18", "previous": None}
    out = date_range.control_range(context, ids.RANGE_PRESET_ALL, "?user=x", (None, None),
                                   today, None)
    assert _range(out) == ("2023-03-04", "2024-09-18")
    assert out["search"] == "?user=x&start=2023-03-04"          # written, other keys kept
    opened = date_range.control_range(context, None, "?kiosk=1", (None, None), today, None)
    assert _range(opened) == ("2024-08-20", "2024-09-18") and opened["search"] is no_update
    assert opened["title"] == "Last 30 days · 2024-08-20 → 2024-09-18"
    rolled = {"today": "2024-09-19", "previous": "2024-09-18"}
    moved = date_range.control_range(context, ids.LIVE_TODAY, "?kiosk=1", (None, None), rolled,
                                     opened["store"])
    assert _range(moved) == ("2024-08-21", "2024-09-19")
    fixed = date_range.control_range(context, None, "?start=2024-01-01&end=2024-06-30",
                                     (None, None), today, None)
    with pytest.raises(PreventUpdate):                        # a fixed range stays put
        date_range.control_range(context, ids.LIVE_TODAY, "", (None, None), rolled,
                                 fixed["store"])
    picked = date_range.control_range(context, ids.RANGE_PICKER, "?days=7",
                                      ("2024-09-01", "2024-09-18"), today, moved["store"])
    assert picked["search"] == "?start=2024-09-01"           # ending today: the end follows
    refused = date_range.control_range(context, ids.RANGE_PICKER, "?days=7",
                                       ("2024-09-18", "2024-09-01"), today, moved["store"])
    assert refused["message_open"] is True and refused["store"] is no_update


def test_the_default_range_starts_at_the_first_day_with_data_and_says_so(engine, db_url):
    context = AppContext(Settings(db_url=db_url, default_start="2022-01-01"))
    today = {"today": "2024-09-18", "previous": None}
    empty = date_range.control_range(context, None, "", (None, None), today, None)
    assert _range(empty) == ("2022-01-01", "2024-09-18")
    assert empty["note"] == "from 2022-01-01 (DASHBOARD_DEFAULT_START)"
    add_stats(engine, [("2024-09-16", "login", "alice", 1, 0, 0)])
    out = date_range.control_range(context, ids.LIVE_VERSION, "", (None, None), today,
                                   empty["store"])                # new data moved it
    assert _range(out) == ("2024-09-16", "2024-09-18")
    assert out["note"] == "from 2024-09-16, the first day with data"
    add_stats(engine, [("2021-05-01", "login", "alice", 1, 0, 0)])    # older than the setting
    assert _range(date_range.control_range(context, None, "", (None, None), today, None)) == \
        ("2022-01-01", "2024-09-18")
    with pytest.raises(PreventUpdate):                   # a chosen range ignores new data
        date_range.control_range(context, ids.LIVE_VERSION, "", (None, None), today,
                                 {"spec": {"days": "7"}, "start": "2024-09-12", "end": "2024-09-18"})


def test_logs_that_ended_long_ago_default_to_their_last_30_days_and_say_so(engine, db_url):
    context = AppContext(Settings(db_url=db_url, default_start="2022-01-01"))
    add_stats(engine, [("2024-01-02", "login", "alice", 1, 0, 0),
                       ("2024-09-18", "login", "alice", 1, 0, 0)])
    today = {"today": "2026-12-07", "previous": None}          # 810 days later
    for search in ("", "?kiosk=1"):
        out = date_range.control_range(context, None, search, (None, None), today, None)
        assert _range(out) == ("2024-08-20", "2024-09-18"), search
        assert out["title"] == "Last 30 days with data · 2024-08-20 → 2024-09-18"
        assert out["note"] == "showing the last 30 days with data, up to 2024-09-18"
    fresh = {"today": "2024-10-10", "previous": None}            # 22 days later: not stale
    assert _range(date_range.control_range(context, None, "", (None, None), fresh, None)) == \
        ("2024-01-02", "2024-10-10")
    assert _range(date_range.control_range(context, None, "?kiosk=1", (None, None), fresh,
                                           None)) == ("2024-09-11", "2024-10-10")


@pytest.mark.parametrize("preset, search, title", [
    (ids.RANGE_PRESET_TODAY, "?days=1", "Today · 2024-09-18"),
    (ids.RANGE_PRESET_YESTERDAY, "?days=1&ago=1", "Yesterday · 2024-09-17"),
    (ids.RANGE_PRESET_24H, "?hours=24", "Last 24 hours · Sep 17 15:00 → now"),
])
def test_the_short_presets_write_rolling_specs(sqlite_url, preset, search, title):
    context = AppContext(Settings(db_url=sqlite_url))
    today = {"today": "2024-09-18", "previous": None}
    now = datetime(2024, 9, 18, 14, 25)
    out = date_range.control_range(context, preset, "?kiosk=0", (None, None), today, None, now)
    assert out["search"] == "?kiosk=0&" + search[1:] and out["title"] == title
    again = date_range.control_range(context, None, search, (None, None), today, None, now)
    assert again["store"] == {**out["store"], "kiosk": False} and again["title"] == title
    if preset == ids.RANGE_PRESET_24H:
        assert (out["store"]["since"], out["store"]["until"]) == ("2024-09-17T15:00",
                                                                  "2024-09-18T15:00")
        later = date_range.control_range(context, ids.LIVE_TODAY, search, (None, None),
                                         {**today, "hour": 15}, out["store"],
                                         datetime(2024, 9, 18, 15, 1))
        assert later["store"]["since"] == "2024-09-17T16:00"      # an hour on: it moved


@pytest.mark.parametrize("search, message", [
    ("?start=garbage", "start must be a date written YYYY-MM-DD, not 'garbage'"),
    ("?days=-3", "days must be a whole number from 1 to 36,600, not '-3'"),
    ("?days=99999999", "days must be a whole number from 1 to 36,600, not '99999999'"),
    ("?start=2024-09-30&end=2024-09-01", "start 2024-09-30 is after end 2024-09-01"),
    ("?end=2024-02-30", "end '2024-02-30' is not a day of the calendar"),
])
def test_a_bad_range_in_the_address_says_why_and_draws_the_default(sqlite_url, search, message):
    context = AppContext(Settings(db_url=sqlite_url))
    today = {"today": "2024-09-18", "previous": None}
    out = date_range.control_range(context, None, search, (None, None), today, None)
    assert out["message_open"] is True and message in out["message"]
    assert _range(out) == ("2022-01-01", "2024-09-18") and out["store"]["spec"] == {}
    kept = date_range.control_range(context, None, search, (None, None), today, out["store"])
    assert kept["store"] is no_update and kept["message_open"] is True


# --- redraw ------------------------------------------------------------------------------

def test_redraw_fills_headline_graphs_and_table_from_the_rollup(engine, db_url):
    add_stats(engine, [("2024-09-17", "upload", "alice", 2, 3_000_000, 1),
                       ("2024-09-18", "download", "bob", 5, 2_000, 0),
                       ("2024-09-18", "login_failed", "", 4, 0, 0)])
    out = graphs.redraw(AppContext(Settings(db_url=db_url)), "2024-09-01", "2024-09-18", False,
                        None, today=TODAY)
    assert out[ids.HEADLINE_USERS] == "2" and out[ids.HEADLINE_TRANSFERS] == "7"
    assert out[ids.HEADLINE_UPLOADED].children == "3.00 MB"
    assert out[ids.HEADLINE_UPLOADED].title == "3,000,000 bytes"
    assert out[ids.HEADLINE_FAILED_TRANSFERS] == "1" and out[ids.HEADLINE_FAILED_LOGINS] == "4"
    assert len(out["days"].data[0].x) == 18
    assert out["message_open"] is False
    assert out["csv"] == "/api/users.csv?start=2024-09-01&end=2024-09-18"


def test_redraw_draws_sums_past_64_bits(engine, db_url):
    add_stats(engine, huge_rows())
    out = graphs.redraw(AppContext(Settings(db_url=db_url)), "2024-09-01", "2024-09-04", False,
                        None, today=TODAY)
    assert out["message_open"] is False
    for key in graphs.GRAPH_KEYS:
        assert out[key].data and to_json_plotly(out[key])    # what Dash sends to the page
    exact = huge_sums()[("", "upload")]
    assert out[ids.HEADLINE_UPLOADED].title == f"{exact:,} bytes"
    assert max(out["bytes"].data[0].y) == pytest.approx(float(huge_sums()[("huge-a", "upload")]))


def test_redraw_lists_the_busiest_users_and_draws_the_rest_as_all_others(engine, db_url):
    add_stats(engine, [("2024-09-02", "upload", f"user{i:04d}", 1, 10 + i, 0) for i in range(1500)])
    out = graphs.redraw(AppContext(Settings(db_url=db_url, top_users=5)), "2024-09-02",
                        "2024-09-02", False, None, today=TODAY)
    assert out[ids.HEADLINE_USERS] == "1,500"
    transfers = out["transfers"].data[0]
    assert len(transfers.x) == 6 and transfers.x[-1] == "all others"
    assert sum(transfers.y) == 1500                           # nobody lost past the 1,000th
    assert out["table"][1].children == "and 1,400 more users: see /api/stats"


def test_redraw_with_start_after_end_says_so_and_keeps_the_figures(sqlite_url):
    out = graphs.redraw(AppContext(Settings(db_url=sqlite_url)), "2024-09-18", "2024-09-01", False,
                        None, today=TODAY)
    assert out["message_open"] is True and out["message"].startswith("start 2024-09-18 is after end")
    assert all(out[k] is no_update for k in graphs.GRAPH_KEYS + graphs.HEADLINE_KEYS)


def test_redraw_with_the_database_down_keeps_everything(closed_port):
    context = AppContext(Settings(db_url=f"mysql+pymysql://u:p@127.0.0.1:{closed_port}/x"))
    out = graphs.redraw(context, "2024-09-01", "2024-09-18", False, None, today=TODAY)
    assert all(out[k] is no_update for k in graphs.GRAPH_KEYS + graphs.HEADLINE_KEYS)


# --- live tick ---------------------------------------------------------------------------

def test_tick_ingests_new_lines_and_bumps_the_version_only_on_change(sqlite_url, log_dir):
    context = AppContext(Settings(db_url=sqlite_url, log_dir=str(log_dir)))
    log = log_dir / "sftpgo.log"
    log.write_bytes(event_line(1))
    first = live.tick(context, None, None, None, today=TODAY, now=100.0,
                      clock=datetime(2024, 9, 18, 14, 5))
    assert first["version"][0] == 1 and first["banner_open"] is False
    assert first["today"] == {"today": "2024-09-18", "previous": None, "hour": 14}
    again = live.tick(context, first["version"], first["today"], first["rate"], today=TODAY,
                      now=110.0, clock=datetime(2024, 9, 18, 14, 55))
    assert again["version"] is no_update and again["today"] is no_update
    with log.open("ab") as f:
        f.write(event_line(2))
    third = live.tick(context, first["version"], first["today"], again["rate"], today=TODAY,
                      now=120.0)
    assert third["version"][0] == 2
    assert third["rate"]["rate"] == pytest.approx(len(event_line(2)) / 10)   # bytes per second


def test_tick_with_the_database_down_opens_the_banner(closed_port, log_dir):
    context = AppContext(Settings(db_url=f"mysql+pymysql://u:p@127.0.0.1:{closed_port}/x",
                                 log_dir=str(log_dir)))
    out = live.tick(context, [1, 1, 0, 1, 0], None, None, today=TODAY)
    assert out["banner_open"] is True and out["banner_color"] == "danger"
    assert out["version"] is None and out["freshness"] is no_update


def test_tick_with_a_missing_log_folder_warns_but_keeps_going(sqlite_url, tmp_path):
    context = AppContext(Settings(db_url=sqlite_url, log_dir=str(tmp_path / "nope")))
    out = live.tick(context, None, None, None, today=TODAY)
    assert out["banner_open"] is True and out["banner_color"] == "warning"
    assert "log folder not found" in str(out["banner"])
    assert out["version"] == [0]


def test_rate_and_day_stores():
    first = live.update_rate(None, 1000, 10.0)
    assert first == {"bytes_read": 1000, "at": 10.0, "rate": None}
    second = live.update_rate(first, 3000, 12.0)
    assert second["rate"] == 1000.0
    assert live.update_rate(second, 5000, 14.0)["rate"] == 1000.0
    assert live.next_today({"today": "2024-09-18"}, TODAY) is no_update
    assert live.next_today({"today": "2024-09-17"}, TODAY) == {"today": "2024-09-18",
                                                               "previous": "2024-09-17"}
    hour = {"today": "2024-09-18", "previous": "2024-09-17", "hour": 3}
    assert live.next_today(hour, TODAY, 3) is no_update
    assert live.next_today(hour, TODAY, 4) == {**hour, "hour": 4}     # hours=24 moves on


# --- several tabs and workers at once ----------------------------------------------------

WORKER = """
import sys, time
from dashboard import queries
from callbacks import live
from dashboard.context import AppContext
from settings import Settings
context = AppContext(Settings(db_url=sys.argv[1], log_dir=sys.argv[2], tick_budget_bytes=20_000,
                             batch_bytes=16_000))
context.engine()
open(sys.argv[3], "w").close()          # ready: the tabs start ticking now
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    live.tick(context, None, None, None)
    if queries.status(context.engine())["bytes_pending"] == 0:
        break
"""


def test_tabs_and_worker_processes_ticking_at_once_read_each_line_once(db_url, engine, log_dir):
    lines = [sftpgo_line(f"2024-09-{1 + i % 20:02d}T10:00:00.000", "Upload", f"u{i % 7}", size=i)
             for i in range(2000)]         # 600 KB: 30 passes of 20 KB, fought over by 4
    (log_dir / "sftpgo.log").write_bytes(b"".join(lines))
    ready = log_dir.parent / "worker-ready"
    other = subprocess.Popen([sys.executable, "-c", WORKER, db_url, str(log_dir), str(ready)],
                             cwd=Path(__file__).resolve().parents[2])
    while not ready.exists():
        assert other.poll() is None, "the worker process died"
        time.sleep(0.01)
    tabs = [AppContext(Settings(db_url=db_url, log_dir=str(log_dir), tick_budget_bytes=20_000,
                             batch_bytes=16_000))
            for _ in range(3)]                     # three tabs, each a worker of its own
    errors = []

    def tab(context):
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                live.tick(context, None, None, None)
                if queries.status(context.engine())["bytes_pending"] == 0:
                    break
        except Exception as exc:                   # reported below
            errors.append(exc)

    threads = [threading.Thread(target=tab, args=(s,)) for s in tabs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert other.wait(timeout=300) == 0 and errors == []
    with engine.connect() as conn:
        events = conn.execute(sa.text("SELECT COUNT(*), SUM(size_bytes) FROM events")).one()
        rollup = conn.execute(sa.text("SELECT SUM(events), SUM(bytes) FROM daily_stats")).one()
    assert (int(events[0]), int(events[1])) == (2000, sum(range(2000)))
    assert (int(rollup[0]), int(rollup[1])) == (2000, sum(range(2000)))
