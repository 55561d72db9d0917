"""Page weight and time to first full render, in headless Chromium.

    python -m bench.bench_page [--root CHECKOUT] [--runs 5]

Starts `app.py` of the checkout (this one by default; another checkout gives the "before")
on a loopback port with the real sample log, then:
- sums the bytes of the page, its scripts, layout and dependencies, with and without
  `Accept-Encoding: gzip` (what compression saves);
- loads the page in headless Chromium (a fresh profile each run, so nothing is cached),
  times navigation start -> all four graphs drawn, and adds up the bytes it received
  (resource timing's transferSize: plotly.js and the callbacks included).
Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.browser import chromium  # noqa: E402
from components import ids  # noqa: E402

GRAPHS = (ids.GRAPH_TRANSFERS, ids.GRAPH_BYTES, ids.GRAPH_AVERAGE, ids.GRAPH_DAYS)
SAMPLE = ROOT / "tests" / "data" / "msda-excerpt.log"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(port: int, path: str, gzip: bool) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "gzip"} if gzip else {})
        return conn.getresponse().read()
    finally:
        conn.close()


def page_bytes(port: int, gzip: bool) -> int:
    """Returns the bytes of the page, its scripts and stylesheets, layout and dependencies."""
    html = fetch(port, "/", False).decode()
    paths = ["/", "/_dash-layout", "/_dash-dependencies"]
    for marker in ('<script src="', '<link rel="stylesheet" href="'):
        paths += [p.split('"')[0] for p in html.split(marker)[1:]]
    return sum(len(fetch(port, p, gzip)) for p in paths if p.startswith("/"))


def render(port: int) -> tuple[float, int]:
    """Returns (navigation start -> four graphs drawn, in seconds; bytes the browser received
    for everything so far), in a fresh headless Chromium."""
    profile = tempfile.mkdtemp()
    driver = chromium(profile)
    try:
        driver.get(f"http://127.0.0.1:{port}/")
        check = ("return [%s].every(id => document.querySelector('#' + id + ' .main-svg'))"
                 % ",".join(f"'{g}'" for g in GRAPHS))
        deadline = time.monotonic() + 60
        while not driver.execute_script(check):
            if time.monotonic() > deadline:
                raise RuntimeError("the graphs were not drawn within 60 s")
            time.sleep(0.02)
        took = driver.execute_script("return performance.now()") / 1000
        received = driver.execute_script(
            "return performance.getEntriesByType('navigation')[0].transferSize + "
            "performance.getEntriesByType('resource').reduce((n, e) => n + e.transferSize, 0)")
        return took, received
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(ROOT), help="checkout whose app.py is measured")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp())
    (work / "logs").mkdir()
    shutil.copy(SAMPLE, work / "logs" / "sftpgo.log")
    port = free_port()
    env = {**os.environ, "DASHBOARD_INTERVAL": "3600", "PYTHONPATH": a.root}
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--log-dir",
                             str(work / "logs"), "--db", f"sqlite:///{work}/d.db"],
                            cwd=a.root, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                fetch(port, "/api/status", False)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        plain, packed = page_bytes(port, False), page_bytes(port, True)
        runs = [render(port) for _ in range(a.runs)]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    print("| checkout | page + scripts, identity | same, gzip accepted | Chromium received "
          "(all, incl. plotly.js) | first full render, median (s) |")
    print("|---|---|---|---|---|")
    print(f"| {a.root} | {plain:,} | {packed:,} | {max(r[1] for r in runs):,} | "
          f"{statistics.median(r[0] for r in runs):.2f} |")


if __name__ == "__main__":
    main()
