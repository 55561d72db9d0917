"""Bookmarked URLs in headless Chromium: the view a query string names is the view shown,
checked against the API's answer for the same range; the controls write the URL back."""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta

from selenium.webdriver.common.keys import Keys

from components import ids
from dashboard import figures

from tests.support.dashboard import sftpgo_line
from tests.support.browser import (HOSTILE, api, attack, headline, history, rows, search,
                                   set_range, text, until,
                                   wait_text)


def api_headline(duo, start: str, end: str) -> list[str]:
    t = api(duo, f"/api/stats?start={start}&end={end}")["totals"]
    return [figures.count(t["users"]), figures.count(t["transfers"]),
            figures.human_bytes(t["bytes_uploaded"]), figures.human_bytes(t["bytes_downloaded"]),
            figures.count(t["failed_transfers"]), figures.count(t["login_failures"])]


def recent(days_back: int, user: str, size: int) -> bytes:
    """Returns an upload by ``user`` ``days_back`` days before today."""
    day = (date.today() - timedelta(days=days_back)).isoformat()
    return sftpgo_line(f"{day}T09:00:00.000", "Upload", user, size=size)


def test_a_bookmarked_fixed_range_shows_the_apis_figures_for_it(start, log_dir):
    (log_dir / "sftpgo.log").write_bytes(history())
    duo = start(path="/?start=2024-09-05&end=2024-09-09")
    want = api_headline(duo, "2024-09-05", "2024-09-09")
    until(lambda: headline(duo) == want, 15, msg=lambda: f"{headline(duo)} != {want}")
    assert want == ["3", "12", "35.0 MB", "250 MB", "2", "2"]
    assert text(duo, ids.RANGE_TITLE) == "2024-09-05 → 2024-09-09 (5 days)"
    assert duo.find_element(f"#{ids.RANGE_PICKER}").get_attribute("value") == "2024-09-05"
    assert search(duo) == "?start=2024-09-05&end=2024-09-09"        # opening it writes nothing
    assert duo.find_element(f"#{ids.USERS_CSV}").get_attribute("href").endswith(
        "/api/users.csv?start=2024-09-05&end=2024-09-09")
    assert duo.get_logs() == []


def test_a_bookmarked_rolling_range_and_a_preset_pressed_from_the_keyboard(start, log_dir):
    (log_dir / "sftpgo.log").write_bytes(history() + recent(0, "dave", 5) + recent(6, "erin", 7)
                                         + recent(7, "frank", 11) + recent(20, "gus", 13))
    duo = start(path="/?days=7")
    today = date.today()
    week = ((today - timedelta(days=6)).isoformat(), today.isoformat())
    until(lambda: headline(duo) == api_headline(duo, *week), 15,
          msg=lambda: f"{headline(duo)} != {api_headline(duo, *week)}")
    assert headline(duo)[:2] == ["2", "2"]                          # dave and erin, not frank
    assert text(duo, ids.RANGE_TITLE).startswith(f"Last 7 days · {week[0]}")

    # Tab from the picker's end box reaches the presets; Enter presses one
    box = duo.find_element(f"#{ids.RANGE_PICKER}-end-date")
    box.click()
    box.send_keys(Keys.ESCAPE)
    for _ in range(6):
        if duo.driver.execute_script("return document.activeElement.id") == ids.RANGE_PRESET_7:
            break
        duo.driver.switch_to.active_element.send_keys(Keys.TAB)
    assert duo.driver.execute_script("return document.activeElement.id") == ids.RANGE_PRESET_7
    duo.driver.switch_to.active_element.send_keys(Keys.TAB)      # to "Last 30 days"
    focused = duo.driver.switch_to.active_element
    assert focused.get_attribute("id") == ids.RANGE_PRESET_30
    assert duo.driver.execute_script(                           # the focus can be seen
        "return getComputedStyle(document.activeElement).outlineStyle") != "none"
    focused.send_keys(Keys.ENTER)
    until(lambda: search(duo) == "?days=30", 10, msg=lambda: search(duo))
    month = ((today - timedelta(days=29)).isoformat(), today.isoformat())
    until(lambda: headline(duo) == api_headline(duo, *month), 10)
    assert headline(duo)[:2] == ["4", "4"]

    duo.driver.get(duo.server_url + "/" + search(duo))        # the bookmark restores it
    until(lambda: text(duo, ids.RANGE_TITLE) == f"Last 30 days · {month[0]} → {month[1]}", 15)
    until(lambda: headline(duo) == api_headline(duo, *month), 10)
    assert duo.get_logs() == []


def test_picking_dates_writes_them_to_the_url(start, log_dir):
    (log_dir / "sftpgo.log").write_bytes(history())
    duo = start(path="/?kiosk=0&days=7")
    until(lambda: (text(duo, ids.RANGE_TITLE) or "").startswith("Last 7 days"), 15)
    set_range(duo, "2024-09-05", "2024-09-09")
    until(lambda: search(duo) == "?kiosk=0&start=2024-09-05&end=2024-09-09", 10,
          msg=lambda: search(duo))
    until(lambda: headline(duo) == api_headline(duo, "2024-09-05", "2024-09-09"), 10)
    assert duo.get_logs() == []


def test_a_bookmarked_audit_filter_shows_the_apis_events(start, log_dir):
    (log_dir / "sftpgo.log").write_bytes(history() + attack(2, "203.0.113.9", "carol", 5))
    duo = start(path="/audit?user=carol&failed=1&start=2024-09-01&end=2024-09-30")
    answer = api(duo, "/api/events?user=carol&failed=1&start=2024-09-01&end=2024-09-30")
    assert len(answer["events"]) == 6                     # her failed downloads, no logins
    until(lambda: len(rows(duo, ids.AUDIT_TABLE)) == 6, 15,
          msg=lambda: f"{len(rows(duo, ids.AUDIT_TABLE))} rows")
    assert [r[0] for r in rows(duo, ids.AUDIT_TABLE)] == \
        [e["ts"] for e in answer["events"]]
    assert duo.find_element(f"#{ids.AUDIT_USER}").get_attribute("value") == "carol"
    assert duo.find_element(f"#{ids.AUDIT_FAILED}").get_attribute("value") == "1"

    box = duo.find_element(f"#{ids.AUDIT_USER}")                 # a new filter: a new URL
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("backups\n")
    until(lambda: "user=backups" in search(duo), 10, msg=lambda: search(duo))
    assert "failed=1" in search(duo) and "start=2024-09-01" in search(duo)
    until(lambda: text(duo, ids.AUDIT_PAGE_INFO) == "no events", 10)   # backups never fails
    assert duo.get_logs() == []


def test_a_bookmarked_security_wall_shows_the_apis_last_30_days(start, log_dir):
    today = date.today().isoformat()
    old = attack(3, "203.0.113.9", "admin", 4)
    (log_dir / "sftpgo.log").write_bytes(history() + old + old.replace(b"2024-09-03", today.encode()))
    duo = start(path="/security?days=30&kiosk=1")
    until(lambda: "kiosk" in duo.find_element(f"#{ids.ROOT}").get_attribute("class"), 10)
    month = (date.today() - timedelta(days=29)).isoformat()
    totals = api(duo, f"/api/security?start={month}&end={today}")["totals"]
    wait_text(duo, ids.SECURITY_FAILURES, figures.count(totals["login_failures"]), 15)
    assert text(duo, ids.SECURITY_FAILURES) == "4"
    assert text(duo, ids.SECURITY_IPS) == figures.count(totals["ips"])
    assert duo.get_logs() == []


def test_bad_values_in_the_address_give_the_range_message_not_a_crash(start, log_dir):
    (log_dir / "sftpgo.log").write_bytes(history())
    duo = start(path="/?start=garbage")
    until(lambda: "start must be a date written YYYY-MM-DD, not 'garbage'"
          in (text(duo, ids.RANGE_MESSAGE) or ""), 5)
    want = api_headline(duo, "2024-09-01", "2024-09-20")   # the default: the data's last days
    until(lambda: headline(duo) == want, 10)

    def shown() -> str:
        box = duo.find_element(f"#{ids.RANGE_MESSAGE}")
        return box.text if "show" in box.get_attribute("class") and box.is_displayed() else ""
    for bad in ("/?start=garbage", "/?days=-3", "/?start=2024-09-30&end=2024-09-01",
                "/security?days=-3", "/audit?start=2024-09-30&end=2024-09-01",
                f"/users/alice?days={10**9}", "/users?hours=0"):
        duo.driver.get(duo.server_url + bad)
        until(lambda: shown().startswith("The address asks for a range that cannot be"), 5,
              msg=lambda: f"{bad}: {shown()!r}")          # at once
        until(lambda: duo.driver.execute_script(      # the page drew the default range...
            "return [...document.querySelectorAll('.js-plotly-plot, .text-table')].length"), 10)
        time.sleep(1.5)                                # ...and the message stays up
        assert shown().startswith("The address asks for a range that cannot be"), bad
    assert duo.get_logs() == []


def test_the_default_range_says_where_it_starts_and_the_title_says_stale(start, log_dir):
    (log_dir / "sftpgo.log").write_bytes(history())               # newest event: 2024-09-20
    duo = start()                  # long ago: the last 30 days with data, not 800 empty ones
    wait_text(duo, ids.RANGE_NOTE, "showing the last 30 days with data, up to 2024-09-20", 15)
    assert text(duo, ids.RANGE_TITLE) == "Last 30 days with data · 2024-09-01 → 2024-09-20"
    age = (datetime.now() - datetime(2024, 9, 20, 10, 0, 3)).days      # whole days
    until(lambda: f"2024-09-20 10:00:03 ({age} days ago)" in text(duo, ids.LIVE_FRESHNESS), 10)
    until(lambda: duo.driver.title == f"SFTPGo activity · stale {age} d", 10,
          msg=lambda: duo.driver.title)
    wait_text(duo, ids.HEADLINE_TRANSFERS, "46", 10)
    duo.find_element(f"#{ids.NAV_SECURITY}").click()
    until(lambda: duo.driver.execute_script("return location.pathname") == "/security", 10)
    until(lambda: duo.driver.title == f"SFTPGo activity · Security · stale {age} d", 10,
          msg=lambda: f"{duo.driver.title} | {text(duo, ids.TITLE_SINK)} | {duo.get_logs()}")
    with (log_dir / "sftpgo.log").open("ab") as f:                 # fresh again
        f.write(sftpgo_line(datetime.now().strftime("%Y-%m-%dT%H:%M:%S.000"), "login", "alice"))
    until(lambda: duo.driver.title == "SFTPGo activity · Security", 10,
          msg=lambda: duo.driver.title)
    until(lambda: text(duo, ids.RANGE_TITLE).startswith("2024-09-01 → "), 10,   # not stale
          msg=lambda: text(duo, ids.RANGE_TITLE))
    assert "days ago" not in text(duo, ids.LIVE_FRESHNESS)
    assert duo.get_logs() == []


def test_the_users_csv_lists_the_ranges_users_with_formulas_defused(start, log_dir):
    (log_dir / "sftpgo.log").write_bytes(
        history() + sftpgo_line("2024-09-07T10:00:00.000", "Upload", "=HYPERLINK(1)", size=3)
        + sftpgo_line("2024-09-07T10:00:01.000", "Upload", HOSTILE, size=4))
    duo = start(path="/?start=2024-09-05&end=2024-09-09")
    until(lambda: (duo.find_element(f"#{ids.USERS_CSV}").get_attribute("href") or "")
          .endswith("start=2024-09-05&end=2024-09-09"), 15)
    body = api(duo, "/api/users.csv?start=2024-09-05&end=2024-09-09")
    users = api(duo, "/api/stats?start=2024-09-05&end=2024-09-09")["users"]
    lines = body.split("\r\n")
    assert lines[0].startswith("username,uploads,downloads,transfers") and lines[-1] == ""
    assert [line.split(",")[0] for line in lines[1:-1]] == \
        ["'" + u["username"] if u["username"].startswith("=") else u["username"] for u in users]
    assert "'=HYPERLINK(1)" in body and HOSTILE in body
    assert duo.get_logs() == []


def test_an_unknown_address_says_no_such_page_and_links_to_the_pages(start, log_dir):
    (log_dir / "sftpgo.log").write_bytes(history())
    duo = start(path="/nowhere?days=7")
    until(lambda: (text(duo, ids.PAGE_NOT_FOUND) or "").startswith("No such page"), 15)
    assert duo.driver.title.startswith("SFTPGo activity · No such page")
    active = duo.driver.execute_script(
        "return [...document.querySelectorAll('#' + arguments[0] + ' a.active')].length", ids.NAV)
    assert active == 0                       # no page link claims to be the one shown
    links = duo.driver.execute_script(
        "return [...document.querySelectorAll('#' + arguments[0] + ' a')]"
        ".map(a => [a.textContent, new URL(a.href).pathname]);", ids.PAGE_NOT_FOUND)
    assert links == [["Overview", "/"], ["Security", "/security"], ["Users", "/users"],
                     ["Audit", "/audit"]]
    duo.find_element(f"#{ids.PAGE_NOT_FOUND} a[href='/audit']").click()
    until(lambda: text(duo, ids.PAGE_AUDIT) is not None and text(duo, ids.PAGE_NOT_FOUND) is None,
          15)
    assert duo.get_logs() == []
