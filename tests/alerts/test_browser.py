"""The alerts in headless Chromium: the /alerts page (firing first, then newest first, hostile
names as text, each row's link to its events), the header's count on every page, the wall's
list in large type, the security page's marks. Screenshots go to test-artifacts/."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from selenium.common.exceptions import StaleElementReferenceException

from components import ids
from tests.support.browser import HOSTILE, text, until

from tests.support.alerts import (BRUTE_FORCE_AND_BAN, EPOCH, ban_line, failed_line, rules_file,
                                  write)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
RULES = BRUTE_FORCE_AND_BAN + """
[[rule]]
name = "acme-feed"
when = "quiet"
users = ["acme"]
for = "1h"
"""


@pytest.fixture
def alerting(log_dir, tmp_path):
    """A log with a brute force (under a hostile name) and a ban minutes ago; a rules file
    with them and a quiet feed that never uploaded (firing)."""
    now = (datetime.now() - EPOCH) // timedelta(milliseconds=1)
    lines = [failed_line(now - 300_000 + 1000 * i, "203.0.113.9", HOSTILE) for i in range(20)]
    lines.append(ban_line(now - 60_000, "198.51.100.4"))
    write(log_dir / "sftpgo.log", lines)
    return rules_file(tmp_path / "rules.toml", RULES)


def rows(duo, container_id: str) -> list[list[str]]:
    return duo.driver.execute_script(
        "return [...document.querySelectorAll('#' + arguments[0] + ' tbody tr')]"
        ".map(r => [...r.cells].map(c => c.textContent));", container_id)


def click(duo, selector: str, index: int) -> bool:
    """Clicks the index-th element of selector; False when the live tick redrew it between
    finding and clicking (a stale element), to be tried again."""
    try:
        duo.driver.find_elements("css selector", selector)[index].click()
    except (StaleElementReferenceException, IndexError):
        return False
    return True


def shot(duo, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    duo.driver.save_screenshot(str(ARTIFACTS / f"alerts-{name}.png"))


def test_the_alerts_page_lists_firing_first_then_newest_and_links_to_the_events(start, alerting):
    duo = start(path="/alerts", alert_rules=alerting)
    until(lambda: len(rows(duo, ids.ALERTS_TABLE)) == 3, 20,
          msg=lambda: f"rows: {rows(duo, ids.ALERTS_TABLE)}")
    table = rows(duo, ids.ALERTS_TABLE)
    assert [r[0] for r in table] == ["firing", "fired", "fired"]
    assert [r[1] for r in table] == ["acme-feed", "ban", "brute-force"]
    assert table[2][2] == "20 failed logins from 203.0.113.9 within 10 min"
    assert not duo.driver.find_elements("css selector", f"#{ids.PAGE_ALERTS} img")
    until(lambda: text(duo, ids.ALERTS_COUNT) == "1 alert firing", 10,
          msg=lambda: text(duo, ids.ALERTS_COUNT))
    rules = text(duo, ids.ALERTS_RULES)
    assert "brute-force: login_failures (per ip, over 20, within 10m)" in rules
    shot(duo, "page")
    # the state filter goes to the address, and back
    duo.driver.execute_script(
        "const s = document.getElementById(arguments[0]); s.value = 'fired';"
        "s.dispatchEvent(new Event('change', {bubbles: true}));", ids.ALERTS_STATE)
    until(lambda: [r[0] for r in rows(duo, ids.ALERTS_TABLE)] == ["fired", "fired"], 10)
    assert "state=fired" in duo.driver.current_url
    # the brute force's link opens the audit trail of its failures
    until(lambda: click(duo, f"#{ids.ALERTS_TABLE} tbody tr a", 1), 10)
    until(lambda: "/audit" in duo.driver.current_url, 10)
    assert "ip=203.0.113.9" in duo.driver.current_url
    assert "kind=login_failed" in duo.driver.current_url
    until(lambda: len(rows(duo, ids.AUDIT_TABLE)) == 20, 15,
          msg=lambda: f"{len(rows(duo, ids.AUDIT_TABLE))} rows")
    assert all(HOSTILE in "".join(r) for r in rows(duo, ids.AUDIT_TABLE))
    assert duo.get_logs() == []


def test_every_page_header_counts_and_the_wall_shows_them_large(start, alerting):
    duo = start(path="/security", alert_rules=alerting)
    until(lambda: text(duo, ids.ALERTS_COUNT) == "1 alert firing", 20,
          msg=lambda: text(duo, ids.ALERTS_COUNT))
    # the security page marks the IPs that fired
    until(lambda: any(r[0] == "203.0.113.9" for r in rows(duo, ids.SECURITY_TOP_IPS)), 15)
    marks = {r[0]: r[-1] for r in rows(duo, ids.SECURITY_TOP_IPS)}
    assert marks["203.0.113.9"] == "⚠ brute-force" and marks["198.51.100.4"] == "⚠ ban"
    marked = duo.driver.execute_script(
        "return [...document.querySelectorAll('#' + arguments[0] + ' tr.alert-ip')]"
        ".map(r => r.cells[0].textContent)", ids.SECURITY_TOP_IPS)
    assert sorted(marked) == ["198.51.100.4", "203.0.113.9"]
    shot(duo, "security")
    assert duo.driver.find_element("id", ids.ALERTS_WALL).get_attribute("hidden")
    # the wall: firing and recent alerts, in large type
    duo.driver.get(duo.server_url + "/?kiosk=1")
    until(lambda: duo.driver.execute_script(
        "return document.querySelectorAll('#' + arguments[0] + ' li').length", ids.ALERTS_WALL)
        == 3, 20, msg=lambda: text(duo, ids.ALERTS_WALL))
    wall = text(duo, ids.ALERTS_WALL)
    assert "'acme'" in wall and "20 failed logins from 203.0.113.9" in wall
    size = duo.driver.execute_script(
        "return parseFloat(getComputedStyle(document.querySelector('.alert-wall-text')).fontSize)")
    body = duo.driver.execute_script(
        "return parseFloat(getComputedStyle(document.getElementById(arguments[0])).fontSize)",
        ids.ROOT)
    assert size >= 1.5 * body
    shot(duo, "wall")
    assert duo.get_logs() == []
