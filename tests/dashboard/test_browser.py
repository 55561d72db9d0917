"""The page in headless Chromium (dash_duo): load, range, live ticks, kiosk, hostile names,
and a real database outage."""
from __future__ import annotations

import gzip
import shutil
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa

import db
from dashboard import figures
from components import ids

from tests.support.mariadb import MariaDBServer, create_database

from tests.support.dashboard import sftpgo_line
from tests.support.browser import (GRAPHS, HOSTILE, TICK_S, graph, headline, history, set_range,
                                   text, until, wait_text)


def expected_headline(db_url: str, start: str, end: str) -> list[str]:
    """Returns the six headline texts, computed from the raw events table (not the rollup)."""
    engine = db.make_engine(db_url)
    q = sa.text("SELECT kind, COUNT(*), COALESCE(SUM(size_bytes), 0), COALESCE(SUM(failed), 0),"
                " COUNT(DISTINCT CASE WHEN kind <> 'login_failed' AND username <> ''"
                " THEN username END) FROM events WHERE day BETWEEN :s AND :e GROUP BY kind")
    with engine.connect() as conn:
        rows = {r[0]: r[1:] for r in conn.execute(q, {"s": start, "e": end})}
        users = conn.execute(sa.text(
            "SELECT COUNT(DISTINCT username) FROM events WHERE day BETWEEN :s AND :e"
            " AND kind <> 'login_failed' AND username <> ''"), {"s": start, "e": end}).scalar()
    get = lambda kind, i: int(rows.get(kind, (0, 0, 0))[i])
    return [figures.count(users), figures.count(get("upload", 0) + get("download", 0)),
            figures.human_bytes(get("upload", 1)), figures.human_bytes(get("download", 1)),
            figures.count(get("upload", 2) + get("download", 2)), figures.count(get("login_failed", 0))]


def graph_boxes(duo) -> list[dict]:
    """Returns the on-screen box (top, bottom, height) of each graph."""
    return duo.driver.execute_script(
        "return [...document.querySelectorAll('.graph')].map(e => e.getBoundingClientRect())"
        ".map(r => ({top: r.top, bottom: r.bottom, height: r.height}))")


def x_ticks(duo, graph_id: str) -> list[str]:
    """Returns the x-axis tick labels of a graph as the browser shows them."""
    return duo.driver.execute_script(
        "return [...document.querySelectorAll('#%s .xtick text')].map(t => t.textContent)"
        % graph_id)


def hover_text(duo, graph_id: str) -> str:
    """Hovers the first bar of a graph; returns the hover label's text."""
    return duo.driver.execute_script(
        "const gd = document.querySelector('#%s .js-plotly-plot');"
        "Plotly.Fx.hover(gd, [{curveNumber: 0, pointNumber: 0}]);"
        "return document.querySelector('#%s .hoverlayer').textContent;" % (graph_id, graph_id))


def test_page_loads_with_no_console_errors(start, log_dir, sqlite_url):
    (log_dir / "sftpgo.log").write_bytes(history())
    duo = start()
    until(lambda: headline(duo) == expected_headline(sqlite_url, "2022-01-01",
                                                     date.today().isoformat()), 10)
    until(lambda: all(graph(duo, g) for g in GRAPHS), 10)
    boxes = graph_boxes(duo)               # the four graphs fit the screen, none too short
    assert len({box["height"] for box in boxes}) == 1 and boxes[0]["height"] >= 260
    assert max(box["bottom"] for box in boxes) <= duo.driver.execute_script("return innerHeight")
    assert duo.find_element(".page-header .title").text == "SFTPGo activity"
    assert "Newest event 2024-09-20 10:00:03" in text(duo, ids.LIVE_FRESHNESS)
    assert duo.driver.execute_script(            # the theme came from our own server
        "return getComputedStyle(document.body).backgroundColor") == "rgb(39, 43, 48)"
    assert duo.get_logs() == []


def test_picking_a_range_updates_headline_and_all_four_graphs(start, log_dir, sqlite_url):
    (log_dir / "sftpgo.log").write_bytes(history())
    duo = start()
    wait_text(duo, ids.HEADLINE_TRANSFERS, "46")
    before = {g: graph(duo, g) for g in GRAPHS}

    set_range(duo, "2024-09-05", "2024-09-09")
    want = expected_headline(sqlite_url, "2024-09-05", "2024-09-09")
    until(lambda: headline(duo) == want, 10, msg=lambda: f"{headline(duo)} != {want}")
    assert want == ["3", "12", "35.0 MB", "250 MB", "2", "2"]
    until(lambda: all(graph(duo, g) != before[g] for g in GRAPHS), 10)

    transfers = graph(duo, ids.GRAPH_TRANSFERS)
    assert transfers[0]["x"] == ["backups", "alice", "carol"]           # by volume
    assert [t["y"] for t in transfers] == [[0, 5, 0], [5, 0, 2]]        # uploads, downloads
    up, down = graph(duo, ids.GRAPH_BYTES)
    assert up["y"] == [0, 35_000_000, 0] and down["y"] == [250_000_035, 0, 1400]
    assert graph(duo, ids.GRAPH_AVERAGE)[0]["y"] == [50_000_007, 7_000_000, 700]
    days = graph(duo, ids.GRAPH_DAYS)               # five days: four bars a day, six hours each
    assert days[0]["x"] == [f"2024-09-0{d} {h:02d}:00" for d in range(5, 10)
                            for h in (0, 6, 12, 18)]
    per_day = {}
    for i, x in enumerate(days[0]["x"]):
        per_day[x[:10]] = per_day.get(x[:10], 0) + sum(t["y"][i] for t in days)
    assert list(per_day.values()) == [3, 6, 3, 3, 6]
    assert [sum(t["y"][i] for t in days) for i in range(4)] == [0, 3, 0, 0]   # at 10:00
    assert text(duo, ids.RANGE_TITLE) == "2024-09-05 → 2024-09-09 (5 days)"
    assert text(duo, ids.GRAPH_DAYS_TITLE) == "Activities per 6 hours"

    set_range(duo, None, "2024-09-01")                   # start after end: a message, no error
    until(lambda: text(duo, ids.RANGE_MESSAGE) == "start 2024-09-05 is after end 2024-09-01:"
          " pick a start on or before the end", 10)
    assert headline(duo) == want                         # the figures stay as they were
    assert duo.get_logs() == []


def test_an_appended_line_a_rotation_and_a_folder_of_archives_show_up_within_a_tick(
        start, log_dir):
    live = log_dir / "sftpgo.log"
    live.write_bytes(history())
    duo = start(path="/?start=2022-01-01")       # the archive's day too
    wait_text(duo, ids.HEADLINE_TRANSFERS, "46")
    one_tick = TICK_S + 3.0                      # the tick, plus its pass and the redraw

    with live.open("ab") as f:
        f.write(sftpgo_line("2024-09-20T11:00:00.000", "Upload", "alice", size=5))
    wait_text(duo, ids.HEADLINE_TRANSFERS, "47", timeout=one_tick)

    live.rename(log_dir / "sftpgo-2024-09-20T11-00-00.000.log")          # lumberjack's rotation
    live.write_bytes(sftpgo_line("2024-09-20T11:00:01.000", "Upload", "dave", size=9))
    wait_text(duo, ids.HEADLINE_TRANSFERS, "48", timeout=one_tick)
    until(lambda: "dave" in graph(duo, ids.GRAPH_TRANSFERS)[0]["x"], one_tick)

    archive = log_dir / "2023"
    archive.mkdir()
    with gzip.open(archive / "sftpgo-2023-12-31T23-00-00.000.log.gz", "wb") as f:
        f.write(sftpgo_line("2023-12-31T22:59:59.000", "Download", "erin", size=1))
    wait_text(duo, ids.HEADLINE_TRANSFERS, "49", timeout=one_tick)
    assert duo.get_logs() == []


def test_kiosk_mode_renders_large_without_controls(start, log_dir):
    today = date.today().isoformat()
    (log_dir / "sftpgo.log").write_bytes(sftpgo_line(f"{today}T08:00:00.000", "Upload", "alice",
                                                     size=2_000_000))
    duo = start(path="/?kiosk=1")
    until(lambda: "kiosk" in duo.find_element(f"#{ids.ROOT}").get_attribute("class"), 10)
    until(lambda: (text(duo, ids.RANGE_TITLE) or "").startswith("Last 30 days"), 10)
    wait_text(duo, ids.HEADLINE_TRANSFERS, "1")
    assert not duo.find_element(f"#{ids.RANGE_PICKER}").is_displayed()
    assert not duo.find_element(f"#{ids.RANGE_PRESET_7}").is_displayed()
    assert not duo.find_element(f"#{ids.USERS_TABLE}").is_displayed()
    size = duo.driver.execute_script(
        "return parseFloat(getComputedStyle(document.querySelector('.headline-value')).fontSize)")
    viewport = duo.driver.execute_script("return innerHeight")
    assert size >= viewport / 20                   # 54 px on a 1080-pixel-high screen
    until(lambda: all(graph(duo, g) for g in GRAPHS), 10)
    boxes = graph_boxes(duo)                     # the four graphs share the screen's height
    assert all(b["height"] >= 200 for b in boxes), boxes
    assert max(b["bottom"] for b in boxes) <= viewport
    assert duo.driver.execute_script("return document.documentElement.scrollHeight") <= viewport
    assert duo.get_logs() == []


def test_a_hostile_username_renders_as_literal_text(start, log_dir):
    (log_dir / "sftpgo.log").write_bytes(
        sftpgo_line("2024-09-18T10:00:00.000", "Upload", HOSTILE, size=1234,
                    path='/data/"quoted" \'path\' <b>bold</b>')
        + sftpgo_line("2024-09-18T10:00:01.000", "Download", 'o"brien', size=99))
    duo = start()
    wait_text(duo, ids.HEADLINE_TRANSFERS, "2")
    until(lambda: HOSTILE in duo.find_element(f"#{ids.USERS_TABLE}").text, 10)
    assert duo.driver.execute_script("return document.querySelectorAll('img').length") == 0
    assert duo.driver.execute_script("return document.querySelectorAll('#%s b').length"
                                     % ids.GRAPH_TRANSFERS) == 0
    ticks = x_ticks(duo, ids.GRAPH_BYTES)
    assert ticks[:2] == ["<img src=x onerror…", 'o"brien'] or HOSTILE[:17] in ticks[0]
    hover = hover_text(duo, ids.GRAPH_TRANSFERS)
    assert HOSTILE in hover
    assert duo.driver.execute_script("return document.querySelectorAll('img').length") == 0
    assert duo.get_logs() == []


def test_a_right_to_left_override_in_a_username_is_shown_escaped_never_obeyed(start, log_dir):
    (log_dir / "sftpgo.log").write_bytes(
        sftpgo_line("2024-09-18T10:00:00.000", "Upload", "admin\u202etxt.exe", size=1234))
    duo = start()
    wait_text(duo, ids.HEADLINE_TRANSFERS, "1")
    shown = '"admin\\u202etxt.exe"'                  # the six characters \u202e, visible
    until(lambda: shown in duo.find_element(f"#{ids.USERS_TABLE}").text, 10)
    ticks = x_ticks(duo, ids.GRAPH_BYTES)
    assert ticks and ticks[0].startswith('"admin\\u202e')
    hover = hover_text(duo, ids.GRAPH_TRANSFERS)
    assert shown in hover
    everything = duo.driver.execute_script("return document.body.textContent")
    assert not set(everything) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    assert duo.get_logs() == []


def test_a_database_outage_shows_a_banner_keeps_the_figures_and_recovers(start, log_dir, tmp_path):
    server = MariaDBServer(Path(tmp_path), fast=True)
    url = create_database(server.install(), "dash")
    try:
        (log_dir / "sftpgo.log").write_bytes(history())
        duo = start(db_url=url)
        wait_text(duo, ids.HEADLINE_TRANSFERS, "46")
        shown = headline(duo)
        banner = f"#{ids.LIVE_BANNER}"

        server.stop()
        until(lambda: "Database unreachable" in duo.find_element(banner).text, 10)
        time.sleep(2 * TICK_S)                               # ticks keep failing...
        assert headline(duo) == shown                        # ...and the figures stay
        assert all(graph(duo, g) for g in GRAPHS)

        server.start()
        with (log_dir / "sftpgo.log").open("ab") as f:       # and the app catches up by itself
            f.write(sftpgo_line("2024-09-20T12:00:00.000", "Upload", "alice", size=5))
        until(lambda: not duo.driver.find_elements("css selector", banner), 15)
        wait_text(duo, ids.HEADLINE_TRANSFERS, "47")
        assert duo.get_logs() == []
    finally:
        server.stop()
        shutil.rmtree(tmp_path / "data", ignore_errors=True)
