"""The browser tests' helpers: the page's text, graphs and range picker read or set through
Chromium (dash_duo or a plain selenium driver), the sample history they show, and the calls
they compare the page with."""
from __future__ import annotations

import json
import threading
import time
import urllib.request

from selenium.webdriver.common.keys import Keys

from components import ids
from tests.support.dashboard import sftpgo_line
from tests.support.poll import until

TICK_S = 1.0                      # the refresh tick of the dashboards the tests start
HOSTILE = "<img src=x onerror=alert(1)>"
GRAPHS = (ids.GRAPH_TRANSFERS, ids.GRAPH_BYTES, ids.GRAPH_AVERAGE, ids.GRAPH_DAYS)
HEADLINES = (ids.HEADLINE_USERS, ids.HEADLINE_TRANSFERS, ids.HEADLINE_UPLOADED,
             ids.HEADLINE_DOWNLOADED, ids.HEADLINE_FAILED_TRANSFERS, ids.HEADLINE_FAILED_LOGINS)


def history() -> bytes:
    """Returns 20 days of activity: three users, uploads, downloads, failures, logins."""
    lines = []
    for day in range(1, 21):
        ts = f"2024-09-{day:02d}T10:00:{{:02d}}.000"
        lines.append(sftpgo_line(ts.format(1), "login", "alice"))
        lines.append(sftpgo_line(ts.format(2), "Upload", "alice", size=1_000_000 * day))
        lines.append(sftpgo_line(ts.format(3), "Download", "backups", size=50_000_000 + day))
        if day % 3 == 0:
            lines.append(sftpgo_line(ts.format(4), "Download", "carol", size=700, error="EOF"))
            lines.append(sftpgo_line(ts.format(5), "connection_failed", ""))
            lines.append(sftpgo_line(ts.format(6), "Rename", "carol"))
    return b"".join(lines)


def quiesce(duo, timeout: float = 15) -> None:
    """Stops the page's ticks and waits for requests in flight to end.

    dash's threaded runner stops the server by raising SystemExit in every thread it
    started: a request still running then would die mid-way (and pytest reports it).
    """
    duo.driver.get("about:blank")
    deadline = time.monotonic() + timeout
    while any("process_request_thread" in t.name for t in threading.enumerate()):
        if time.monotonic() > deadline:
            raise AssertionError("the dashboard still serves requests after the page closed")
        time.sleep(0.05)


def text(duo, element_id: str) -> str | None:
    """Returns the element's text, or None while the page has not rendered it yet."""
    return duo.driver.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.textContent : null;",
        element_id)


def graph(duo, graph_id: str) -> list[dict]:
    """Returns the traces a graph draws now (name, x, y), read from plotly in the page."""
    return duo.driver.execute_script(
        "const gd = document.querySelector(arguments[0] + ' .js-plotly-plot');"
        "return gd && gd.data ? gd.data.map(t => ({name: t.name || '', x: t.x || [], y: t.y || []})) : null;",
        f"#{graph_id}")


def wait_text(duo, element_id: str, expected: str, timeout: float = 10) -> None:
    until(lambda: text(duo, element_id) == expected, timeout,
          msg=lambda: f"#{element_id} shows {text(duo, element_id)!r}, not {expected!r}")


def headline(duo) -> list[str]:
    return [text(duo, i) for i in HEADLINES]


def set_range(duo, start: str | None, end: str | None) -> None:
    """Types the dates into the picker's inputs (None leaves that one as it is)."""
    for element_id, value in ((ids.RANGE_PICKER, start), (ids.RANGE_PICKER + "-end-date", end)):
        if value is None:
            continue
        box = duo.find_element(f"#{element_id}")
        box.click()
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(value, Keys.ENTER)
    duo.find_element(".title").click()                # close the calendar


def attack(day: int, ip: str, user: str, n: int, second: int = 0) -> bytes:
    """Returns ``n`` failed logins from ``ip`` on 2024-09-<day>."""
    return b"".join(json.dumps({
        "level": "debug", "time": f"2024-09-{day:02d}T11:{second // 60:02d}:{second % 60:02d}.{i:03d}",
        "sender": "connection_failed", "client_ip": ip, "username": user,
        "login_type": "password", "protocol": "SSH", "error": "invalid credentials"}).encode()
        + b"\n" for i in range(n))


def rows(duo, container_id: str) -> list[list[str]]:
    """Returns the cells' texts of a table, each the whole value its tooltip holds when it
    has one (a time as logged, a path cut at its left, a name cut at its right)."""
    return duo.driver.execute_script(
        "return [...document.querySelectorAll('#' + arguments[0] + ' tbody tr')]"
        ".map(r => [...r.cells].map(c => { const t = c.querySelector('[title]');"
        " return t && !t.title.endsWith(' bytes') ? t.title : c.textContent; }));",
        container_id)


def api(duo, path: str):
    with urllib.request.urlopen(duo.server_url + path) as answer:
        body = answer.read().decode()
    return json.loads(body) if answer.headers.get_content_type() == "application/json" else body


def search(duo) -> str:
    return duo.driver.execute_script("return location.search")
