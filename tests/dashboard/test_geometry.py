"""Every page, in every mode, on real screen sizes, in headless Chromium: a real one-day SFTPGo
log (tests/data/msda-excerpt.log, 2024-09-18) beside a generated year (simulate).

One real server (app.py, gunicorn) and one browser serve the whole module. Each page is
opened as a wall (?kiosk=1) at 1280x720, 1920x1080 and 3840x2160, and interactive at those
sizes and on a phone (390x844); each view is checked for panels over one another, a wall
that scrolls, a page wider than the screen, a table cell wider than its column, a word (an
IP, a number, a time, a kind) split over two lines and, on the wall, a table row cut in half.
A one-day range must draw a bar in every hour that has events. A screenshot of each view
is left in test-artifacts/screenshots/ (gitignored) to be looked at.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from datetime import datetime

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options

import db
import simulate
from components import ids
from tests.conftest import CHROME_ARGS
from tests.support.ingest import run_all

from tests.support.dashboard import ROOT, closed_port, wait_until_serving
from tests.support.poll import until

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
SAMPLE = ROOT / "tests" / "data" / "msda-excerpt.log"
WALLS = [(1280, 720), (1920, 1080), (3840, 2160)]
PHONE = (390, 844)
DAY = "start=2024-09-18&end=2024-09-18"           # the real log's day
YEAR = "start=2023-09-18&end=2024-09-18"
PAGES = {"overview": "/", "security": "/security", "users": "/users",
         "user": "/users/backups", "audit": "/audit"}


# --- one server and one browser for the module ---------------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Serves a database holding a generated year (2023-09-17 to about 2024-09-13, 30 users,
    attacks, bans) and the real day 2024-09-18; yields its base URL."""
    base = tmp_path_factory.mktemp("geometry")
    logs = base / "logs"
    (logs / "real").mkdir(parents=True)
    shutil.copy(SAMPLE, logs / "real" / "sftpgo.log")
    year = simulate.generate_folder(str(logs / "year"), 24_000_000, seed=2024,
                                    start=datetime(2023, 9, 17), lines_per_day=240, n_users=30)
    assert "2024-09-01" < year["last_time"] < "2024-09-18"    # up to the real day, not into it
    url = f"sqlite:///{base}/geometry.db"
    engine = db.make_engine(url)
    db.migrate(engine)
    run_all(engine, logs)
    db.dispose_engines(url)
    port = closed_port()
    env = {**os.environ, "DASHBOARD_INTERVAL": "60"}
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--db", url,
                             "--log-dir", str(logs)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_serving(proc, port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
        assert "Traceback" not in err, err


@pytest.fixture(scope="module")
def browser():
    options = Options()
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    options.binary_location = os.environ.get("DASH_TEST_CHROMEPATH", "/usr/bin/chromium")
    driver = webdriver.Chrome(options=options)
    yield driver
    driver.quit()


def api(site: str, path: str) -> dict:
    with urllib.request.urlopen(site + path) as answer:
        return json.loads(answer.read())


# --- looking at a view -------------------------------------------------------------------------

DRAWN = """
const section = [...document.querySelectorAll('.page-section')].find(e => !e.hidden);
if (!section) return false;
const part = [...section.querySelectorAll('.page-part')].filter(e => !e.hidden);
const scope = part.length ? part[0] : section;
const graphs = [...scope.querySelectorAll('.js-plotly-plot')];
const values = [...section.querySelectorAll('.headline-value')].map(e => e.textContent);
const tables = [...scope.querySelectorAll('.scroll-table, .users-table')];
return graphs.every(g => g.data && g.querySelector('.main-svg'))
    && !values.includes('…')
    && tables.every(t => t.children.length > 0)
    && !document.querySelector('[data-dash-is-loading="true"]');
"""


def open_view(browser, site: str, path: str, width: int, height: int) -> None:
    """Shows ``path`` on a screen of exactly width x height CSS pixels, once drawn."""
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    browser.get(site + path)
    until(lambda: browser.execute_script(DRAWN), 30, msg=lambda: f"{path} was not drawn")
    browser.execute_script("return new Promise(r => setTimeout(r, 400))")   # relayouts
    browser.execute_script("window.wallFit && window.wallFit();"
                           "return new Promise(r => requestAnimationFrame(() => r()))")


FACTS = """
const visible = e => { const r = e.getBoundingClientRect();
                       return r.width > 0 && r.height > 0
                              && getComputedStyle(e).visibility !== 'hidden'; };
const box = e => { const r = e.getBoundingClientRect();
                   return {l: r.left, t: r.top, r: r.right, b: r.bottom}; };
const cards = [...document.querySelectorAll('.headline-tile, .panel')].filter(visible);
const scrolls = e => { for (let a = e.parentElement; a; a = a.parentElement) {
    if (['auto', 'scroll'].includes(getComputedStyle(a).overflowX)) return true; }
    return false; };
let widest = 0, widestWhat = '';
for (const e of document.querySelectorAll('body *')) {
    if (!visible(e) || scrolls(e) || e.closest('.modebar-container')) continue;
    const right = e.getBoundingClientRect().right;
    if (right > widest) { widest = right; widestWhat = e.className || e.tagName; }
}
// a cell whose content runs past it, or that takes two lines
const wide = [], split = [];
for (const td of document.querySelectorAll('.text-table td, .text-table th')) {
    if (!visible(td)) continue;
    const r = td.getBoundingClientRect();
    if (td.scrollWidth > td.clientWidth + 1) wide.push(td.textContent);
    for (const c of td.querySelectorAll('*')) {
        if (visible(c) && c.getBoundingClientRect().right > r.right + 1) wide.push(td.textContent);
    }
    const texts = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
    for (let n = texts.nextNode(); n; n = texts.nextNode()) {
        const range = document.createRange();
        range.selectNodeContents(n);          // a text over two lines has two line boxes
        const tops = new Set([...range.getClientRects()].filter(q => q.width > 0)
                             .map(q => Math.round(q.top)));
        if (tops.size > 1) { split.push(td.textContent); break; }
    }
}
// on the wall: a table wider than its panel, a row past its panel's bottom
const overflowing = [], cut = [];
for (const t of document.querySelectorAll('.fit-table')) {
    if (!visible(t)) continue;
    const b = t.getBoundingClientRect();
    const table = t.querySelector('table');
    if (table && table.getBoundingClientRect().right > b.right + 1) overflowing.push(t.id);
    for (const tr of t.querySelectorAll('tbody tr')) {
        if (visible(tr) && tr.getBoundingClientRect().bottom > b.bottom + 1) cut.push(t.id);
    }
}
// the mode bar over a legend entry
const covered = [];
for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const bar = gd.querySelector('.modebar');
    if (!bar || !visible(bar)) continue;
    const m = bar.getBoundingClientRect();
    for (const item of gd.querySelectorAll('.legend .traces')) {
        const i = item.getBoundingClientRect();
        if (Math.min(m.right, i.right) - Math.max(m.left, i.left) > 1 &&
            Math.min(m.bottom, i.bottom) - Math.max(m.top, i.top) > 1) covered.push(gd.id);
    }
}
const value = document.querySelector('.page-section:not([hidden]) .headline-value');
return {cards: cards.map(box), widest: widest, widestWhat: String(widestWhat),
        innerWidth: innerWidth, innerHeight: innerHeight,
        scrollWidth: document.documentElement.scrollWidth,
        scrollHeight: document.documentElement.scrollHeight,
        wide: wide, split: split, overflowing: overflowing, cut: cut, covered: covered,
        headlinePx: value ? parseFloat(getComputedStyle(value).fontSize) : null};
"""


def overlaps(cards: list[dict]) -> list[tuple]:
    """Returns the pairs of cards whose boxes intersect (by more than a pixel)."""
    return [(a, b) for i, a in enumerate(cards) for b in cards[i + 1:]
            if min(a["r"], b["r"]) - max(a["l"], b["l"]) > 1
            and min(a["b"], b["b"]) - max(a["t"], b["t"]) > 1]


def check(browser, name: str, wall: bool) -> dict:
    """Takes the view's screenshot and measures it; fails on what must never be."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
    facts = browser.execute_script(FACTS)
    width, height = facts["innerWidth"], facts["innerHeight"]
    assert overlaps(facts["cards"]) == [], f"{name}: panels over one another"
    assert facts["scrollWidth"] <= width, f"{name}: the page scrolls sideways"
    assert facts["widest"] <= width + 1, f"{name}: {facts['widestWhat']} is wider than the screen"
    assert facts["wide"] == [], f"{name}: cells wider than their column: {facts['wide'][:5]}"
    assert facts["split"] == [], f"{name}: cells over two lines: {facts['split'][:5]}"
    assert facts["covered"] == [], f"{name}: the mode bar covers a legend entry"
    if wall:
        assert facts["scrollHeight"] <= height, f"{name}: the wall scrolls"
        assert facts["overflowing"] == [], f"{name}: a table is wider than its panel"
        assert facts["cut"] == [], f"{name}: a table row is cut: {facts['cut']}"
    return facts


# --- the views -----------------------------------------------------------------------------------

@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_is_a_wall_that_fits_every_screen(site, browser, page):
    sizes = {}
    for width, height in WALLS:
        open_view(browser, site, f"{PAGES[page]}?kiosk=1&{DAY}", width, height)
        facts = check(browser, f"wall-{page}-day-{width}x{height}", wall=True)
        sizes[width] = facts["headlinePx"]
    if sizes[1280] is not None:                   # the type grows with the screen
        assert sizes[1280] < sizes[1920] < sizes[3840]
        assert sizes[3840] == pytest.approx(2 * sizes[1920], rel=0.05)
    open_view(browser, site, f"{PAGES[page]}?kiosk=1", 1920, 1080)   # its default: stale logs
    check(browser, f"wall-{page}-default-1920x1080", wall=True)
    assert browser.find_element("id", ids.RANGE_TITLE).text.startswith("Last 30 days with data")


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_reads_well_interactive_and_on_a_phone(site, browser, page):
    for (width, height), query in [((1280, 720), DAY), ((1920, 1080), DAY),
                                   ((3840, 2160), DAY), ((1280, 720), YEAR),
                                   (PHONE, DAY), (PHONE, YEAR)]:
        open_view(browser, site, f"{PAGES[page]}?{query}", width, height)
        label = "day" if query == DAY else "year"
        check(browser, f"page-{page}-{label}-{width}x{height}", wall=False)


def test_the_four_graphs_fit_one_1920x1080_screen(site, browser):
    open_view(browser, site, f"/?{DAY}", 1920, 1080)
    bottoms = browser.execute_script(
        "return [...document.querySelectorAll('.graph')].map(e => e.getBoundingClientRect())"
        ".map(r => [r.height, r.bottom])")
    assert len(bottoms) == 4 and all(h >= 260 for h, _b in bottoms)
    assert max(b for _h, b in bottoms) <= 1080


def bars(browser, graph_id: str) -> list[float]:
    """Returns the stacked height, in data units, of each slot of a graph (every trace)."""
    return browser.execute_script(
        "const gd = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');"
        "const bars = gd.data.filter(t => t.type === 'bar');"
        "return bars[0].x.map((_, i) => bars.reduce((s, t) => s + (t.y[i] || 0), 0));", graph_id)


def drawn_bars(browser, graph_id: str) -> int:
    """Returns how many bars the graph shows with a height on screen."""
    return browser.execute_script(
        "return [...document.querySelectorAll('#' + arguments[0] + ' .trace.bars .point path')]"
        ".filter(p => p.getBBox().height >= 1).length", graph_id)


def test_a_day_draws_a_bar_in_every_hour_that_has_events(site, browser):
    hours = api(site, f"/api/stats?{DAY}&bucket=auto")
    assert hours["bucket"] == "hour" and len(hours["buckets"]) == 24
    active = [i for i, b in enumerate(hours["buckets"]) if b["total"]]
    assert active == [3, 4, 7, 10, 12, 13, 14]           # the real log's hours
    for path, graph_id, kinds in (("/", ids.GRAPH_DAYS, None),
                                  ("/users/speed-camera", ids.USER_DAYS, "user")):
        for kiosk in ("", "&kiosk=1"):
            open_view(browser, site, f"{path}?{DAY}{kiosk}", 1920, 1080)
            heights = bars(browser, graph_id)
            assert len(heights) == 24, path
            if kinds is None:
                assert [i for i, h in enumerate(heights) if h] == active
            assert drawn_bars(browser, graph_id) >= len([h for h in heights if h]), path
    open_view(browser, site, f"/security?{DAY}", 1920, 1080)
    failures = bars(browser, ids.SECURITY_DAYS)
    assert [i for i, h in enumerate(failures) if h] == [3, 14]    # the scans at 03:24, 14:01
    assert browser.find_element("id", ids.SECURITY_DAYS_TITLE).text.startswith(
        "Failed logins by hour")


def test_every_user_has_a_bar_on_the_year(site, browser):
    """One user downloads a hundred times what another uploads: the y axis goes log by
    itself, on the page and on the wall, so every user's bars can be seen."""
    for kiosk in ("", "&kiosk=1"):
        open_view(browser, site, f"/?{YEAR}{kiosk}", 1920, 1080)
        values = browser.execute_script(
            "const gd = document.querySelector('#graph-user-bytes .js-plotly-plot');"
            "return [gd.layout.yaxis.type, gd.data.flatMap(t => t.y).filter(v => v > 0)]")
        assert values[0] == "log" and max(values[1]) / min(values[1]) > 40
        shown = drawn_bars(browser, ids.GRAPH_BYTES)
        assert shown == len(values[1])                   # each value has its bar on screen
    open_view(browser, site, f"/?{YEAR}", 1920, 1080)
    browser.find_element("css selector", f"#{ids.GRAPH_BYTES_SCALE} label[for$='linear'],"
                         f" #{ids.GRAPH_BYTES_SCALE} .form-check:nth-child(2) label").click()
    until(lambda: browser.execute_script(
        "return document.querySelector('#graph-user-bytes .js-plotly-plot').layout.yaxis.type")
          == "linear", 10, msg=lambda: "the switch did not set a linear axis")


def test_the_security_counts_agree_with_their_tables(site, browser):
    body = api(site, f"/api/security?{DAY}")
    open_view(browser, site, f"/security?{DAY}", 1920, 1080)
    names = browser.execute_script(
        "return [...document.querySelectorAll('#security-top-usernames tbody tr')]"
        ".map(r => r.cells[0].textContent)")
    assert names == ["(none)"] and body["totals"]["usernames"] == 0    # the contract's count
    assert browser.find_element("id", ids.SECURITY_USERNAMES).text == "1"     # the table's
    assert browser.find_element("id", ids.SECURITY_USERNAMES + "-note").text == \
        "incl. (none): 3 sent no name"
    assert browser.find_element("id", ids.SECURITY_FAILURES + "-note").text == \
        "all 3 scans: no login tried"
    ips = browser.execute_script(
        "return [...document.querySelectorAll('#security-top-ips tbody tr')].length")
    assert browser.find_element("id", ids.SECURITY_IPS).text == str(ips) == \
        str(body["totals"]["ips"])


def test_the_short_presets_write_the_address_and_draw_hours(site, browser):
    open_view(browser, site, f"/?{DAY}", 1920, 1080)
    for preset, search, title in ((ids.RANGE_PRESET_TODAY, "?days=1", "Today · "),
                                  (ids.RANGE_PRESET_YESTERDAY, "?days=1&ago=1", "Yesterday · "),
                                  (ids.RANGE_PRESET_24H, "?hours=24", "Last 24 hours · ")):
        browser.find_element("id", preset).click()
        until(lambda: browser.execute_script("return location.search") == search, 10,
              msg=lambda: browser.execute_script("return location.search"))
        until(lambda: browser.find_element("id", ids.RANGE_TITLE).text.startswith(title), 10)
        until(lambda: len(bars(browser, ids.GRAPH_DAYS)) == 24, 10,
              msg=lambda: f"{preset}: {len(bars(browser, ids.GRAPH_DAYS))} slots")
        assert browser.find_element("id", ids.GRAPH_DAYS_TITLE).text == "Activities by hour"
    browser.back()                                      # each preset is a history entry
    until(lambda: browser.execute_script("return location.search") == "?days=1&ago=1", 10)


def test_the_users_list_sorts_by_a_heading_and_links_to_each_page(site, browser):
    open_view(browser, site, f"/users?{DAY}", 1280, 720)
    names = lambda: browser.execute_script(           # noqa: E731
        "return [...document.querySelectorAll('#users-list tbody tr')]"
        ".map(r => r.cells[0].textContent)")
    assert names() == ["backups", "speed-camera", "allsky"]          # the busiest first
    browser.find_element("css selector", "#users-list th:nth-child(2) button").click()
    until(lambda: names() == ["speed-camera", "backups", "allsky"], 10, msg=names)  # uploads
    browser.find_element("css selector", "#users-list th:nth-child(2) button").click()
    until(lambda: names()[0] != "speed-camera", 10, msg=names)       # the other way
    assert names()[-1] == "speed-camera"
    browser.find_element("link text", "allsky").click()
    until(lambda: browser.execute_script("return location.pathname + location.search")
          == f"/users/allsky?{DAY}", 10)                              # the range goes along
    until(lambda: browser.find_element("id", ids.USER_TITLE).text == "allsky", 10)


def test_a_playlist_cycles_a_users_page_and_the_audit_wall(site, browser):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 1280, "height": 720, "deviceScaleFactor": 1, "mobile": False})
    browser.get(site + f"/users/speed-camera?kiosk=1&{DAY}&cycle=users/speed-camera,audit&every=3")
    title = "const e = document.getElementById(arguments[0]); return e && e.textContent;"
    until(lambda: browser.execute_script(title, ids.USER_TITLE) == "speed-camera", 15)
    until(lambda: browser.execute_script("return location.pathname") == "/audit", 10)
    until(lambda: browser.execute_script(title, ids.PAGE_AUDIT) is not None, 10)
    until(lambda: browser.execute_script("return location.pathname") == "/users/speed-camera",
          10)
    assert "cycle=users%2Fspeed-camera%2Caudit" in browser.current_url or \
        "cycle=users/speed-camera,audit" in browser.current_url
