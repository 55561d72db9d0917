"""The wall display on real screen sizes, and the page on a phone, in headless Chromium.

At 1280x720, 1366x768, 1920x1080 and 3840x2160 the kiosk view must fill the screen with no
scrolling, no card over another, nothing wider than the screen, legends within a fifth of
their plot, and type that grows with the screen. At 390x844 the interactive page must stack
and wrap without overflowing. Each run leaves a screenshot per size in SCREENSHOTS.
"""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from components import ids

from tests.support.dashboard import ROOT, sftpgo_line
from tests.support.browser import GRAPHS, until

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
WALLS = [(1280, 720), (1366, 768), (1920, 1080), (3840, 2160)]
PHONE = (390, 844)


def busy_month(log_dir: Path) -> None:
    """A month up to today: 18 users with long and short names, transfers, failures, logins."""
    users = [f"user-{i:02d}" for i in range(12)] + [
        "speed-camera-north-entrance", "etl-nightly-warehouse", "backups", "zoë.müller-ø",
        "用户_数据", "carol.smith"]
    lines = []
    for back in range(30):
        day = date.today() - timedelta(days=back)
        for i, user in enumerate(users):
            ts = f"{day.isoformat()}T{8 + i % 10:02d}:{i:02d}:{{:02d}}.000"
            lines.append(sftpgo_line(ts.format(1), "login", user))
            lines.append(sftpgo_line(ts.format(2), "Upload", user, size=10_000 * (i + 1) * (back + 1)))
            lines.append(sftpgo_line(ts.format(3), "Download", user, size=900_000 + i))
            if (back + i) % 7 == 0:
                lines.append(sftpgo_line(ts.format(4), "Download", user, size=5, error="EOF"))
                lines.append(sftpgo_line(ts.format(5), "connection_failed", "root"))
    (log_dir / "sftpgo.log").write_bytes(b"".join(lines))


def open_at(duo, path: str, width: int, height: int) -> None:
    """Shows ``path`` on a screen of exactly width x height CSS pixels; waits for the graphs."""
    duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    duo.driver.get(duo.server_url + path)
    drawn = ("return [%s].every(id => { const gd = document.querySelector('#' + id +"
             " ' .js-plotly-plot'); return gd && gd.data && gd.data.length"
             " && gd.querySelector('.main-svg'); })" % ",".join(f"'{g}'" for g in GRAPHS))
    until(lambda: duo.driver.execute_script(drawn), 30, msg=lambda: "the graphs were not drawn")
    until(lambda: duo.driver.execute_script(
        "return document.getElementById(arguments[0]).textContent", ids.HEADLINE_USERS) != "…",
        30)
    duo.driver.execute_script("return new Promise(r => setTimeout(r, 300))")   # relayouts


def layout_facts(duo) -> dict:
    """Measures, in the page: card boxes, the widest element, scroll sizes, the headline's
    font size, and each graph's legend and plot areas."""
    return duo.driver.execute_script("""
        const box = e => { const r = e.getBoundingClientRect();
                           return {l: r.left, t: r.top, r: r.right, b: r.bottom}; };
        const visible = e => { const r = e.getBoundingClientRect();
                               return r.width > 0 && r.height > 0; };
        const cards = [...document.querySelectorAll('.headline-tile, .panel')].filter(visible);
        const legends = [...document.querySelectorAll('.js-plotly-plot')].map(gd => {
            const area = e => { if (!e) return 0; const r = e.getBoundingClientRect();
                                return r.width * r.height; };
            return {legend: area(gd.querySelector('.legend')),
                    plot: area(gd.querySelector('.nsewdrag'))}; });
        const clipped = e => { for (let a = e.parentElement; a; a = a.parentElement) {
            if (['auto', 'scroll'].includes(getComputedStyle(a).overflowX)) return true; }
            return false; };          // inside a box that scrolls: it cannot overflow the page
        let widest = 0, widestWhat = '';
        for (const e of document.querySelectorAll('body *')) {
            if (!visible(e) || clipped(e)) continue;
            const right = e.getBoundingClientRect().right;
            if (right > widest) { widest = right; widestWhat = e.className || e.tagName; }
        }
        const value = document.querySelector('.headline-value');
        return {cards: cards.map(box), legends: legends, widest: widest,
                widestWhat: String(widestWhat), innerWidth: innerWidth, innerHeight: innerHeight,
                scrollWidth: document.documentElement.scrollWidth,
                scrollHeight: document.documentElement.scrollHeight,
                headlinePx: parseFloat(getComputedStyle(value).fontSize),
                graphFont: document.querySelector('.js-plotly-plot').layout.font.size};
    """)


def overlaps(cards: list[dict]) -> list[tuple]:
    """Returns the pairs of cards whose boxes intersect (by more than a pixel)."""
    out = []
    for i, a in enumerate(cards):
        for b in cards[i + 1:]:
            if min(a["r"], b["r"]) - max(a["l"], b["l"]) > 1 and \
                    min(a["b"], b["b"]) - max(a["t"], b["t"]) > 1:
                out.append((a, b))
    return out


def shoot(duo, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    duo.driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def test_the_wall_display_fits_every_screen_and_its_type_grows_with_it(start, log_dir):
    busy_month(log_dir)
    duo = start()
    sizes = {}
    for width, height in WALLS:
        open_at(duo, "/?kiosk=1", width, height)
        shoot(duo, f"kiosk-{width}x{height}")
        facts = layout_facts(duo)
        where = f"at {width}x{height}"
        assert len(facts["cards"]) == 10, where                    # six tiles, four graphs
        assert overlaps(facts["cards"]) == [], f"cards overlap {where}"
        assert facts["scrollHeight"] <= height and facts["scrollWidth"] <= width, \
            f"the wall display scrolls {where}"
        assert facts["widest"] <= width + 1, f"{facts['widestWhat']} is wider than the screen {where}"
        for g in facts["legends"]:
            assert g["legend"] <= g["plot"] / 5, f"a legend takes over a fifth of its plot {where}"
        sizes[(width, height)] = (facts["headlinePx"], facts["graphFont"])
    small, hd, four_k = sizes[(1280, 720)], sizes[(1920, 1080)], sizes[(3840, 2160)]
    assert small[0] < hd[0] < four_k[0], "the headline type does not grow with the screen"
    assert four_k[0] == pytest.approx(2 * hd[0], rel=0.05)      # the same picture, twice the pixels
    assert small[1] < hd[1] < four_k[1], "the graphs' type does not grow with the screen"


def test_the_page_on_a_phone_stacks_and_wraps_without_overflowing(start, log_dir):
    busy_month(log_dir)
    duo = start()
    width, height = PHONE
    open_at(duo, "/", width, height)
    shoot(duo, f"page-{width}x{height}")
    facts = layout_facts(duo)
    assert overlaps(facts["cards"]) == [], "cards overlap on a phone"
    assert facts["scrollWidth"] <= width, "the page scrolls sideways on a phone"
    assert facts["widest"] <= width + 1, f"{facts['widestWhat']} is wider than a phone"
    assert duo.driver.execute_script(
        "return [...document.querySelectorAll('.modebar-container')]"
        ".every(e => getComputedStyle(e).display === 'none')"), "the mode bar covers the legend"
    heights = duo.driver.execute_script(
        "return [...document.querySelectorAll('.graph')].map(e => e.getBoundingClientRect().height)")
    assert all(h >= 250 for h in heights), f"graphs too short to read: {heights}"
    duo.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_a_playlist_rotates_the_wall_between_views(start, log_dir):
    """?kiosk=1&cycle=overview,security&every=2: the page itself turns to the next view."""
    busy_month(log_dir)
    duo = start()
    duo.driver.get(duo.server_url + "/?kiosk=1&cycle=overview,security&every=2")
    shown = ("return [...document.querySelectorAll('.page-section')]"
             ".filter(e => !e.hidden).map(e => e.id)")
    until(lambda: duo.driver.execute_script(shown) == [ids.PAGE_OVERVIEW], 15)
    until(lambda: duo.driver.execute_script("return location.pathname") == "/security", 10)
    until(lambda: duo.driver.execute_script(shown) == [ids.PAGE_SECURITY], 5)
    assert "cycle=overview,security" in duo.driver.current_url      # the cycle goes on
    until(lambda: duo.driver.execute_script("return location.pathname") == "/", 10)
    until(lambda: duo.driver.execute_script(shown) == [ids.PAGE_OVERVIEW], 5)
    assert "kiosk" in duo.find_element(f"#{ids.ROOT}").get_attribute("class")
    assert duo.get_logs() == []
