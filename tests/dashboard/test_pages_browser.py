"""The security, user and audit pages in headless Chromium: each figure against a direct
count of the events table, hostile names as text, clicking through, paging, the CSV."""
from __future__ import annotations

import json
import urllib.request
from datetime import date

import sqlalchemy as sa
from selenium.webdriver.common.action_chains import ActionChains

import db
from components import ids
from dashboard import figures

from tests.support.browser import HOSTILE, attack, graph, history, rows, text, until, wait_text


def ban(day: int, ip: str) -> bytes:
    return json.dumps({"level": "info", "time": f"2024-09-{day:02d}T12:00:00.000",
                       "sender": "defender", "client_ip": ip, "protocol": "SSH",
                       "event": "banned"}).encode() + b"\n"


def count(db_url: str, sql: str, **params) -> int:
    with db.make_engine(db_url).connect() as conn:
        return int(conn.execute(sa.text(sql), params).scalar())


def test_security_page_counts_failures_and_shows_a_burst_after_one_tick(start, log_dir,
                                                                          sqlite_url):
    log = log_dir / "sftpgo.log"
    log.write_bytes(history() + attack(3, "203.0.113.9", "admin", 4)
                    + attack(4, "2001:db8::9", HOSTILE, 3) + ban(4, "2001:db8::9")
                    + ban(5, "192.0.2.1"))
    duo = start(path="/security")
    everything = "SELECT COUNT(*) FROM events WHERE kind = 'login_failed'"
    until(lambda: text(duo, ids.SECURITY_FAILURES) == figures.count(count(sqlite_url, everything)), 15)
    assert text(duo, ids.SECURITY_BANS) == "2"
    until(lambda: graph(duo, ids.SECURITY_DAYS), 10)      # plotly draws after the tiles show
    days = graph(duo, ids.SECURITY_DAYS)
    assert sum(days[0]["y"]) == count(sqlite_url, everything) == 13
    assert sum(days[1]["y"]) == 2                                     # the bans, marked
    names = [r[0] for r in rows(duo, ids.SECURITY_TOP_USERNAMES)]
    assert HOSTILE in names                                           # as text
    assert not duo.driver.find_elements("css selector", f"#{ids.PAGE_SECURITY} img")
    assert not duo.driver.find_elements("css selector", f"#{ids.PAGE_OVERVIEW}")  # one page

    with log.open("ab") as f:                                         # a burst, then a tick
        f.write(attack(20, "198.51.100.66", "root", 40, second=30))
    until(lambda: rows(duo, ids.SECURITY_TOP_IPS)[:1]
          and rows(duo, ids.SECURITY_TOP_IPS)[0][:3] == ["198.51.100.66", "–", "40"], 15,
          msg=lambda: f"top IPs: {rows(duo, ids.SECURITY_TOP_IPS)[:2]}")
    assert text(duo, ids.SECURITY_FAILURES) == figures.count(count(sqlite_url, everything)) == "53"
    assert duo.get_logs() == []


def test_clicking_a_users_bar_opens_their_page_with_their_figures(start, log_dir, sqlite_url):
    (log_dir / "sftpgo.log").write_bytes(history())
    duo = start()
    until(lambda: graph(duo, ids.GRAPH_TRANSFERS), 15)
    until(lambda: duo.driver.find_elements("css selector",
                                           f"#{ids.GRAPH_TRANSFERS} .trace.bars .point path"), 10)
    target = graph(duo, ids.GRAPH_TRANSFERS)[0]["x"].index("alice")
    # the first trace is the uploads: alice's bar there has a height (she only uploads)
    uploads = duo.driver.find_elements("css selector", f"#{ids.GRAPH_TRANSFERS} .trace.bars")[0]
    bar = uploads.find_elements("css selector", ".point path")[target]
    # plotly's drag layer lies over the bars: a click at the bar's place is a click on it
    ActionChains(duo.driver).move_to_element(bar).click().perform()
    until(lambda: duo.driver.current_url.endswith("/users/alice"), 10,
          msg=lambda: f"{duo.driver.current_url} {duo.get_logs()}")
    uploads = count(sqlite_url, "SELECT COUNT(*) FROM events WHERE username = 'alice'"
                                " AND kind = 'upload'")
    wait_text(duo, ids.USER_HEADLINE + "-uploads", figures.count(uploads), 15)
    assert text(duo, ids.USER_TITLE) == "alice"
    assert text(duo, ids.USER_HEADLINE + "-logins") == figures.count(count(
        sqlite_url, "SELECT COUNT(*) FROM events WHERE username = 'alice' AND kind = 'login'"))
    activity = graph(duo, ids.USER_DAYS)
    assert sum(sum(t["y"]) for t in activity) == count(
        sqlite_url, "SELECT COUNT(*) FROM events WHERE username = 'alice'") == 40
    assert "Last login Sep 20 10:00:01" in text(duo, ids.USER_SEEN)
    assert duo.find_element(f"#{ids.USER_SEEN} .moment").get_attribute("title") == \
        "2024-09-20T10:00:01.000"                          # the time as logged, in its tooltip
    assert len(rows(duo, ids.USER_RECENT)) == 20
    assert duo.get_logs() == []


def test_audit_filters_pages_and_downloads_the_same_events(start, log_dir, sqlite_url):
    (log_dir / "sftpgo.log").write_bytes(history() + attack(2, "203.0.113.9", "carol", 60))
    duo = start(path="/audit")
    until(lambda: len(rows(duo, ids.AUDIT_TABLE)) == 50, 15)
    total = count(sqlite_url, "SELECT COUNT(*) FROM events")       # ingested by the first tick
    assert text(duo, ids.AUDIT_PAGE_INFO) == "events 1–50"

    box = duo.find_element(f"#{ids.AUDIT_USER}")
    box.send_keys("carol\n")
    carol = count(sqlite_url, "SELECT COUNT(*) FROM events WHERE username = 'carol'")
    assert carol == 72 and total > carol
    until(lambda: text(duo, ids.AUDIT_PAGE_INFO) == "events 1–50", 10)
    until(lambda: all(r[1] == "carol" for r in rows(duo, ids.AUDIT_TABLE)), 10)
    first_page = rows(duo, ids.AUDIT_TABLE)
    duo.find_element(f"#{ids.AUDIT_OLDER}").click()
    wait_text(duo, ids.AUDIT_PAGE_INFO, f"events 51–{carol}", 10)
    second_page = rows(duo, ids.AUDIT_TABLE)
    assert len(second_page) == carol - 50 and not set(map(tuple, first_page)) & set(map(tuple, second_page))
    duo.find_element(f"#{ids.AUDIT_NEWER}").click()
    wait_text(duo, ids.AUDIT_PAGE_INFO, "events 1–50", 10)

    href = duo.find_element(f"#{ids.AUDIT_CSV}").get_attribute("href")
    assert "user=carol" in href
    with urllib.request.urlopen(href) as answer:
        body = answer.read().decode()
    assert body.count("\r\n") - 1 == carol
    assert duo.get_logs() == []


def test_clicking_a_week_opens_its_audit_trail(start, log_dir, sqlite_url):
    (log_dir / "sftpgo.log").write_bytes(history())
    duo = start(path="/?start=2024-01-01&end=2024-12-31")     # over 120 days: by week
    until(lambda: duo.driver.find_elements("css selector",
                                           f"#{ids.GRAPH_DAYS} .trace.bars .point path"), 15)
    week = graph(duo, ids.GRAPH_DAYS)[0]["x"].index("2024-09-09")     # a Monday
    bar = duo.driver.find_elements("css selector", f"#{ids.GRAPH_DAYS} .trace.bars")[0] \
        .find_elements("css selector", ".point path")[week]
    ActionChains(duo.driver).move_to_element(bar).click().perform()
    until(lambda: duo.driver.current_url.endswith("/audit?start=2024-09-09&end=2024-09-15"), 10,
          msg=lambda: duo.driver.current_url)                         # the URL holds the week
    in_week = count(sqlite_url, "SELECT COUNT(*) FROM events"
                                " WHERE day BETWEEN '2024-09-09' AND '2024-09-15'")
    until(lambda: len(rows(duo, ids.AUDIT_TABLE)) == in_week == 30, 10,
          msg=lambda: f"{len(rows(duo, ids.AUDIT_TABLE))} rows, {in_week} events")
    assert {r[0][:10] for r in rows(duo, ids.AUDIT_TABLE)} == {
        f"2024-09-{d:02d}" for d in range(9, 16)}
    assert duo.get_logs() == []


def test_the_security_page_is_a_wall_view_in_kiosk_mode(start, log_dir, sqlite_url):
    today = date.today().isoformat()              # the wall shows the last 30 days
    (log_dir / "sftpgo.log").write_bytes(history() + attack(3, "203.0.113.9", "admin", 4)
                                         .replace(b"2024-09-03", today.encode()))
    duo = start(path="/security?kiosk=1")
    until(lambda: "kiosk" in duo.find_element(f"#{ids.ROOT}").get_attribute("class"), 10)
    wait_text(duo, ids.SECURITY_FAILURES, figures.count(count(
        sqlite_url, "SELECT COUNT(*) FROM events WHERE kind = 'login_failed'"
                    " AND day = :d", d=today)), 15)
    assert text(duo, ids.SECURITY_FAILURES) == "4"
    assert not duo.find_element(f"#{ids.NAV}").is_displayed()
    assert not duo.find_element(f"#{ids.RANGE_PICKER}").is_displayed()
    until(lambda: duo.find_element(f"#{ids.SECURITY_DAYS}").is_displayed(), 10)
    assert duo.get_logs() == []
