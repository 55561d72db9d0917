"""Several nodes on the page, in headless Chromium: two nodes' logs in one SQLite database
(alpha's folder ingested before the app starts, beta's by the app itself, as its own node).

The node panel shows each node with the API's figures; ``node=`` in the URL (and the header's
picker) narrows every page to those nodes, as the API does; a node that stops ingesting is
named on every page; the raw-event pages say when the range reaches past the retention.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import db
from components import ids
from components.nodes import NODES_PANEL
from dashboard import figures
from dashboard import retention_notes as notes
from ingestion import retention
from ingestion.run import Ingester
from settings import Settings
from tests.support.ingest import LogWriter, _T0, event_line

from tests.support.browser import (HOSTILE, api, attack, headline as shown, history, rows, search,
                                   text, until, wait_text)
from tests.support.dashboard import sftpgo_line

RANGE = "start=2024-09-01&end=2024-09-30"


def alpha_lines() -> bytes:
    """Alpha's log: a week of its own users (dave, erin) and an attack, plus alice, who is on
    both nodes."""
    lines = []
    for day in range(10, 17):
        ts = f"2024-09-{day:02d}T14:00:{{:02d}}.000"
        lines.append(sftpgo_line(ts.format(1), "Upload", "dave", size=3_000 * day))
        lines.append(sftpgo_line(ts.format(2), "Download", "erin", size=9_000_000 + day))
        lines.append(sftpgo_line(ts.format(3), "Upload", "alice", size=123))
    return b"".join(lines) + attack(12, "198.51.100.7", "root", 7)


def two_nodes(tmp_path, log_dir, sqlite_url) -> None:
    """Ingests alpha's folder as node alpha; beta's lines go to ``log_dir`` for the app."""
    alpha = tmp_path / "alpha"
    alpha.mkdir()
    (alpha / "sftpgo.log").write_bytes(alpha_lines())
    (log_dir / "sftpgo.log").write_bytes(history() + attack(3, "203.0.113.9", "admin", 4))
    engine = db.make_engine(sqlite_url)
    db.migrate(engine, "beta")
    Ingester(engine, Settings(log_dir=str(alpha), node="alpha")).run_until_done()


def api_headline(duo, query: str) -> list[str]:
    t = api(duo, f"/api/stats?{query}")["totals"]
    return [figures.count(t["users"]), figures.count(t["transfers"]),
            figures.human_bytes(t["bytes_uploaded"]), figures.human_bytes(t["bytes_downloaded"]),
            figures.count(t["failed_transfers"]), figures.count(t["login_failures"])]


def headline(duo) -> list[str]:
    return shown(duo)


def panel_rows(duo) -> dict[str, list[str]]:
    return {r[0].replace(" stale", ""): r for r in rows(duo, NODES_PANEL)}


def test_the_node_panel_shows_each_node_with_the_apis_figures(start, log_dir, tmp_path,
                                                              sqlite_url):
    two_nodes(tmp_path, log_dir, sqlite_url)
    duo = start(path=f"/?{RANGE}", node="beta")
    until(lambda: set(panel_rows(duo)) == {"alpha", "beta"}, 15,
          msg=lambda: f"panel rows: {rows(duo, NODES_PANEL)}")
    health = {n["node"]: n for n in api(duo, "/api/status")["nodes"]}
    for node in ("alpha", "beta"):
        t = api(duo, f"/api/stats?{RANGE}&node={node}")["totals"]
        want = [figures.count(t["uploads"] + t["downloads"]),
                figures.human_bytes(t["bytes_uploaded"] + t["bytes_downloaded"]),
                figures.count(health[node]["files_known"]),
                figures.human_bytes(health[node]["bytes_pending"]),
                figures.human_bytes(health[node]["bytes_lost"])]
        until(lambda: panel_rows(duo)[node][2:7] == want, 10,
              msg=lambda: f"{node}: {panel_rows(duo)[node]} != {want}")
    assert panel_rows(duo)["alpha"][2] == "21" and panel_rows(duo)["beta"][2] == "46"
    # the picker offers both nodes, and with one node picked the panel shows its row only
    assert duo.find_element(f"#{ids.NODE_CONTROL}").is_displayed()
    duo.driver.get(duo.server_url + f"/?{RANGE}&node=alpha")
    until(lambda: list(panel_rows(duo)) == ["alpha"], 15,
          msg=lambda: f"panel rows: {rows(duo, NODES_PANEL)}")
    assert duo.get_logs() == []


def test_node_in_the_url_narrows_every_page_to_that_nodes_figures(start, log_dir, tmp_path,
                                                                  sqlite_url):
    two_nodes(tmp_path, log_dir, sqlite_url)
    duo = start(path=f"/?{RANGE}&node=alpha", node="beta")
    want = api_headline(duo, f"{RANGE}&node=alpha")
    until(lambda: headline(duo) == want, 15, msg=lambda: f"{headline(duo)} != {want}")
    assert want == ["3", "21", "274 KB", "63.0 MB", "0", "7"]
    assert want != api_headline(duo, RANGE)                         # not every node's
    assert duo.find_element(f"#{ids.USERS_CSV}").get_attribute("href").endswith(
        f"/api/users.csv?{RANGE}&node=alpha")
    assert search(duo) == f"?{RANGE}&node=alpha"                    # opening it writes nothing

    duo.find_element(f"#{ids.NAV_SECURITY}").click()                # the filter goes along
    until(lambda: duo.driver.execute_script("return location.pathname") == "/security", 10)
    assert "node=alpha" in search(duo)
    wait_text(duo, ids.SECURITY_FAILURES, "7", 15)                  # alpha's 7, not beta's 4
    assert api(duo, f"/api/security?{RANGE}&node=alpha")["totals"]["login_failures"] == 7

    duo.find_element(f"#{ids.NAV_AUDIT}").click()
    until(lambda: duo.driver.execute_script("return location.pathname") == "/audit", 10)
    events = api(duo, f"/api/events?{RANGE}&node=alpha&limit=50")["events"]
    until(lambda: [r[0] for r in rows(duo, ids.AUDIT_TABLE)] ==
          [e["ts"] for e in events], 15,
          msg=lambda: f"{len(rows(duo, ids.AUDIT_TABLE))} rows")
    assert {r[1] for r in rows(duo, ids.AUDIT_TABLE)} == {"dave", "erin", "alice", "root"}
    assert "node=alpha" in duo.find_element(f"#{ids.AUDIT_CSV}").get_attribute("href")

    duo.driver.get(duo.server_url + f"/users/alice?{RANGE}&node=alpha")
    until(lambda: (text(duo, ids.USER_HEADLINE) or "").startswith("7Uploads"), 15,
          msg=lambda: text(duo, ids.USER_HEADLINE))             # alpha's 7, not beta's 30
    duo.driver.get(duo.server_url + f"/?{RANGE}")                   # no node=: both again
    until(lambda: headline(duo) == api_headline(duo, RANGE), 15)
    assert duo.get_logs() == []


def test_picking_a_node_writes_it_to_the_url_and_a_bad_one_is_a_message(start, log_dir,
                                                                        tmp_path, sqlite_url):
    two_nodes(tmp_path, log_dir, sqlite_url)
    duo = start(path=f"/?{RANGE}", node="beta")
    until(lambda: duo.find_element(f"#{ids.NODE_CONTROL}").is_displayed(), 15)
    duo.find_element(f"#{ids.NODE_PICKER}").click()
    until(lambda: [o.text for o in duo.find_elements(".dash-dropdown-option")] ==
          ["alpha", "beta"], 10,
          msg=lambda: str([o.text for o in duo.find_elements(".dash-dropdown-option")]))
    duo.find_elements(".dash-dropdown-option")[1].click()
    until(lambda: search(duo) == f"?{RANGE}&node=beta", 10, msg=lambda: search(duo))
    until(lambda: headline(duo) == api_headline(duo, f"{RANGE}&node=beta"), 15)

    duo.driver.get(duo.server_url + f"/?{RANGE}&node=" + HOSTILE.replace(" ", "%20"))
    until(lambda: "The address asks for a node that cannot be" in (text(duo, ids.NODE_MESSAGE)
                                                                   or ""), 15)
    assert HOSTILE in text(duo, ids.NODE_MESSAGE)                  # as text, never markup
    assert duo.driver.execute_script("return document.querySelectorAll('img').length") == 0
    until(lambda: headline(duo) == api_headline(duo, RANGE), 15)   # every node's, said so

    duo.driver.get(duo.server_url + f"/?{RANGE}&node=gamma")
    wait_text(duo, ids.NODE_MESSAGE, "No node called gamma has ingested anything here: its "
              "figures are empty.", 15)
    until(lambda: headline(duo) == ["0", "0", "0 B", "0 B", "0", "0"], 15,
          msg=lambda: str(headline(duo)))
    assert duo.get_logs() == []


def test_a_node_that_stopped_ingesting_is_named_on_every_page(start, log_dir, tmp_path,
                                                              sqlite_url):
    two_nodes(tmp_path, log_dir, sqlite_url)        # alpha's last pass: before the app started
    duo = start(path=f"/security?{RANGE}", node="beta")            # ticks pass for beta only
    until(lambda: "alpha" in (text(duo, ids.NODES_STALE) or ""), 15,
          msg=lambda: repr(text(duo, ids.NODES_STALE)))
    assert text(duo, ids.NODES_STALE) == (
        "No ingestion for 3 refresh intervals on node alpha. Its figures stop at its last "
        "pass: check its ingest.py --follow.")
    assert api(duo, "/api/status")["stale_nodes"] == ["alpha"]
    duo.find_element(f"#{ids.NAV_OVERVIEW}").click()
    until(lambda: "stale" in (panel_rows(duo).get("alpha") or [""])[0], 15,
          msg=lambda: str(rows(duo, NODES_PANEL)))
    assert "stale" not in panel_rows(duo)["beta"][0]
    assert duo.find_element(f"#{ids.NODES_STALE}").is_displayed()
    Ingester(db.make_engine(sqlite_url), Settings(log_dir=str(tmp_path / "alpha"),
                                                  node="alpha")).run_pass()
    until(lambda: duo.driver.execute_script(                     # closed (or gone)
        "const e = document.getElementById(arguments[0]); return !e || !e.offsetParent;",
        ids.NODES_STALE), 10)
    assert duo.get_logs() == []


TODAY = date.today()
DAYS = 10


def _day(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


def test_raw_event_pages_say_when_the_range_reaches_past_the_retention(start, log_dir,
                                                                       sqlite_url):
    engine = db.make_engine(sqlite_url)
    db.migrate(engine)
    base = int((datetime.combine(TODAY - timedelta(days=20), datetime.min.time())
                - _T0).total_seconds() * 1000)
    LogWriter(log_dir).write(*(event_line(i, user="alice", ms=base + i * 6 * 3_600_000)
                               for i in range(4 * 19)))
    Ingester(engine, Settings(log_dir=str(log_dir))).run_until_done()
    assert retention.prune(engine, TODAY - timedelta(days=DAYS)).deleted == 4 * 10
    duo = start(path=f"/audit?start={_day(20)}", events_retention_days=DAYS)
    want = notes.notice(api(duo, f"/api/events?start={_day(20)}")["retention"])
    assert want.startswith(f"Raw events are kept for {DAYS} days. Events before {_day(DAYS)}")
    wait_text(duo, ids.AUDIT_RETENTION, want, 15)
    duo.find_element(f"#{ids.RANGE_PRESET_7}").click()             # inside the retention
    until(lambda: text(duo, ids.AUDIT_RETENTION) == "", 10,
          msg=lambda: repr(text(duo, ids.AUDIT_RETENTION)))
    duo.driver.get(duo.server_url + f"/users/alice?start={_day(20)}")
    wait_text(duo, ids.USER_RETENTION, want, 15)
    assert "first seen " + _day(20) + " (its events are past the retention)" in \
        text(duo, ids.USER_SEEN)
    assert duo.get_logs() == []
