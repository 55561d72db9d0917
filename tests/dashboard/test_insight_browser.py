"""The insight panels in headless Chromium (docs/insight.md): the change on each headline
tile, the folder table and its depth, the weekday x hour heatmap, the countries and the
plain-text warning of the security page, the client families of the users page; on the
wall, what it keeps. Each against the JSON answers of the same server."""
from __future__ import annotations

import json
import urllib.request

from components import ids

from tests.support.browser import graph, history, rows, text, until

RANGE = "start=2024-09-11&end=2024-09-20"


def _line(obj: dict) -> bytes:
    return json.dumps(obj).encode() + b"\n"


def insight_log() -> bytes:
    """Returns history()'s 20 days and, from 2024-09-11, transfers into deep folders, 2.7
    logins (one over plain FTP) and failed logins from well-known and private addresses."""
    lines = [history()]
    for day in range(11, 21):
        for i, path in enumerate(["/srv/data/acme/in/a.csv", "/srv/data/acme/out/b.csv",
                                  "/srv/data/zeta/c.bin", "/srv/logs/d.log"]):
            lines.append(_line({"level": "info", "time": f"2024-09-{day}T0{i}:30:00.000",
                                "sender": "Upload", "remote_addr": "10.0.0.1:22",
                                "size_bytes": (i + 1) * 1_000_000, "username": "alice",
                                "file_path": path, "protocol": "SFTP"}))
    for day, (client, proto, enc, user) in zip(range(11, 15), [
            ("SSH-2.0-OpenSSH_9.6", "SSH", True, "alice"), ("", "FTP", False, "bob"),
            ("SSH-2.0-rclone/v1.66.0", "SSH", True, "alice"),
            ("Mozilla/5.0 (X11) Firefox/128.0", "HTTP", True, "carol")]):
        lines.append(_line({"level": "info", "time": f"2024-09-{day}T09:00:00.000",
                            "sender": "login", "ip": "198.51.100.3", "username": user,
                            "method": "password", "protocol": proto, "client": client,
                            "encrypted": enc}))
    for i, ip in enumerate(["8.8.8.8"] * 4 + ["1.1.1.1"] * 2 + ["192.168.1.5"]):
        lines.append(_line({"level": "debug", "time": f"2024-09-15T11:00:{i:02d}.000",
                            "sender": "connection_failed", "client_ip": ip, "username": "root",
                            "login_type": "password", "protocol": "SSH", "error": "x"}))
    return b"".join(lines)


def api(duo, path: str) -> dict:
    with urllib.request.urlopen(duo.server_url + path) as answer:
        return json.loads(answer.read())


def test_the_overview_shows_changes_folders_and_hours(start, log_dir):
    (log_dir / "sftpgo.log").write_bytes(insight_log())
    duo = start(path=f"/?{RANGE}")
    stats = api(duo, f"/api/stats?{RANGE}")
    before, now = stats["previous"], stats["totals"]
    assert before["start"] == "2024-09-01" and before["transfers"] > 0
    change = round((now["transfers"] - before["transfers"]) * 100 / before["transfers"])
    want = f"▲ {change:,} % vs before" if change > 0 else f"▼ {-change:,} % vs before"
    until(lambda: text(duo, ids.HEADLINE_TRANSFERS + "-note") == want, 15,
          msg=lambda: text(duo, ids.HEADLINE_TRANSFERS + "-note"))
    tip = duo.driver.find_element("css selector", f"#{ids.HEADLINE_TRANSFERS}-note > span")
    assert tip.get_attribute("title") == (f"against the 10 days before (2024-09-01 → "
                                          f"2024-09-10): {before['transfers']:,}")
    failures = round((now["login_failures"] - before["login_failures"]) * 100
                     / before["login_failures"])
    assert text(duo, ids.HEADLINE_FAILED_LOGINS + "-note") == f"▲ {failures:,} % vs before"
    assert "delta-up" in duo.driver.find_element(
        "css selector", f"#{ids.HEADLINE_FAILED_LOGINS}-note .delta").get_attribute("class")

    def folders():
        return [[r[0], r[1]] for r in rows(duo, ids.INSIGHT_FOLDERS)]
    for depth in (2, 3, 4):
        if depth != 2:
            button = duo.driver.find_element(
                "css selector", f"#{ids.INSIGHT_DEPTH} .form-check:nth-child({depth}) label")
            # a click through the page's script: a redraw or tooltip passing over the label
            # intercepted a pointer click on a loaded machine
            duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});"
                                      " arguments[0].click();", button)
        body = api(duo, f"/api/paths?{RANGE}&depth={depth}")
        want_rows = [[p["path"], f"{p['uploads']:,}"] for p in body["paths"]]
        until(lambda: folders() == want_rows, 10, msg=lambda: f"{depth}: {folders()}")
    assert ["/srv/data/acme/in", "10"] in folders() and ["/srv/logs", "10"] in folders()
    until(lambda: graph(duo, ids.INSIGHT_HOURS), 10)
    z = duo.driver.execute_script(
        "return document.querySelector('#' + arguments[0] + ' .js-plotly-plot').data[0].z",
        ids.INSIGHT_HOURS)
    assert z == api(duo, f"/api/activity?{RANGE}")["hours"]
    assert sum(map(sum, z)) == sum(d["total"] - d["ban"] for d in stats["days"])
    assert duo.get_logs() == []


def test_the_wall_keeps_its_graphs_and_the_tiles_changes(start, log_dir):
    (log_dir / "sftpgo.log").write_bytes(insight_log())
    duo = start(path=f"/?{RANGE}&kiosk=1")
    until(lambda: (text(duo, ids.HEADLINE_TRANSFERS + "-note") or "").endswith("vs before"), 15)
    shown = duo.driver.execute_script(
        "return getComputedStyle(document.querySelector('.insight-row')).display")
    assert shown == "none"                      # the wall: four graphs, no fifth panel


def test_the_security_page_shows_countries_and_plain_text_logins(start, log_dir):
    (log_dir / "sftpgo.log").write_bytes(insight_log())
    duo = start(path=f"/security?{RANGE}")
    until(lambda: rows(duo, ids.SECURITY_TOP_IPS)[:1]
          and rows(duo, ids.SECURITY_TOP_IPS)[0][:3] == ["8.8.8.8", "US", "4"], 15,
          msg=lambda: rows(duo, ids.SECURITY_TOP_IPS))
    body = api(duo, f"/api/security?{RANGE}")
    assert {r[0]: r[1] for r in rows(duo, ids.SECURITY_TOP_IPS)} == {
        r["ip"] or "(none)": r["country"] or "–" for r in body["by_ip"]}
    assert {"8.8.8.8": "US", "1.1.1.1": "AU", "192.168.1.5": None}.items() <= \
        {r["ip"]: r["country"] for r in body["by_ip"]}.items()
    until(lambda: graph(duo, ids.SECURITY_COUNTRIES), 10)
    bars = graph(duo, ids.SECURITY_COUNTRIES)[0]
    assert list(zip(bars["y"], bars["x"]))[::-1] == [
        (c["country"] or "no country", c["failures"]) for c in body["by_country"]]
    assert body["by_country"][0] == {"country": "US", "failures": 4, "ips": 1}
    warning = text(duo, ids.SECURITY_PLAINTEXT)
    assert warning == "Plain-text logins: 1 without encryption (FTP without TLS, HTTP without " \
                      "TLS) by bob."
    assert duo.get_logs() == []


def test_the_users_page_ranks_client_families(start, log_dir):
    (log_dir / "sftpgo.log").write_bytes(insight_log())
    duo = start(path=f"/users?{RANGE}")
    body = api(duo, f"/api/clients?{RANGE}")
    want = [[f["family"], f"{f['logins']:,}", f"{f['users']:,}"] for f in body["families"]]
    until(lambda: rows(duo, ids.USERS_CLIENTS) == want, 15,
          msg=lambda: rows(duo, ids.USERS_CLIENTS))
    assert {"OpenSSH", "rclone", "Mozilla", "(unknown)"} <= {r[0] for r in want}
    assert text(duo, ids.USERS_PLAINTEXT).startswith("Plain-text logins: 1 without encryption")
    assert duo.get_logs() == []
