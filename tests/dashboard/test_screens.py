"""A room full of screens: real gunicorn workers, real concurrent clients on loopback, real
ingestion between them (dashboard/answers.py, dashboard/serving.py).

- Answers are kept per data version in each worker; a new version (stored by another
  process, the CLI, or by a worker's own tick) is seen by every worker at once: no request
  sent after the commit gets an answer from before it, and no client ever gets older data
  than some client already got.
- A server whose threads are all held answers 503 with Retry-After within about its queue
  limit, rather than holding the requests, and is back to 200 as soon as a thread is free;
  a page open meanwhile keeps what it shows, shows no error, and draws the new data after.
"""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa
from dash import no_update

import db
from callbacks import live
from components import ids
from dashboard.context import AppContext
from settings import Settings

from tests.support.dashboard import (ROOT, children, closed_port, sftpgo_line,
                                     wait_until_serving)

STATS = "/api/stats?start=2024-09-01&end=2024-09-30"
RANGE = {"spec": {"start": "2024-09-01", "end": "2024-09-30"}, "start": "2024-09-01",
         "end": "2024-09-30", "since": None, "until": None, "nodes": None, "kiosk": False}


def uploads(n: int, first: int = 0) -> bytes:
    return b"".join(sftpgo_line(f"2024-09-10T10:{(first + i) // 60:02d}:{(first + i) % 60:02d}.000",
                                "Upload", f"user{(first + i) % 3}", size=1000 + i)
                    for i in range(n))


@contextlib.contextmanager
def gunicorn(tmp_path, db_url: str, log_dir, workers: int, env: dict | None = None):
    """Runs gunicorn -c gunicorn.conf.py 'app:wsgi()' with ``workers`` workers; yields
    (port, master's pid)."""
    port = closed_port()
    environ = {**os.environ, "DATABASE_URL": db_url, "SFTPGO_LOG_DIR": str(log_dir),
               **(env or {})}
    command = [os.path.join(os.path.dirname(sys.executable), "gunicorn"), "-c",
               "gunicorn.conf.py", "-w", str(workers), "-b", f"127.0.0.1:{port}", "app:wsgi()"]
    with (tmp_path / f"gunicorn-{port}.log").open("wb") as output:
        proc = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=output,
                                stderr=subprocess.STDOUT)
    try:
        wait_until_serving(proc, port)
        deadline = time.monotonic() + 60
        while len(children(proc.pid)) < workers:        # every worker up
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.1)
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def ask(port: int, method: str, path: str, body: dict | None = None,
        timeout: float = 30) -> tuple[int, dict, bytes]:
    """One request on a connection of its own (spread over the workers); returns (status,
    headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data,
                     headers={"Content-Type": "application/json"} if data else {})
        answer = conn.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        conn.close()


def outputs_of(output: str) -> list[dict]:
    """Returns the outputs the page sends with a callback request ({id, property} each)."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    outs = []
    for part in parts:
        cid, prop = part.rsplit(".", 1)
        outs.append({"id": json.loads(cid) if cid.startswith("{") else cid, "property": prop})
    return outs


def redraw_request(port: int) -> dict:
    """Returns the body the overview sends to redraw its four graphs, for RANGE."""
    deps = json.loads(ask(port, "GET", "/_dash-dependencies")[2])
    dep = next(d for d in deps if "graph-user-transfers.figure" in d["output"])
    values = {("overview-range", "data"): {"range": RANGE, "version": None,
                                          "mode": {"kiosk": False}}}

    def item(x):
        return {"id": x["id"], "property": x["property"],
                "value": values.get((x["id"], x["property"]), "auto")}
    return {"output": dep["output"], "outputs": outputs_of(dep["output"]),
            "inputs": [item(x) for x in dep["inputs"]],
            "state": [item(x) for x in dep["state"]], "changedPropIds": ["overview-range.data"]}


def transfers(port: int, which: str, redraw: dict) -> int | None:
    """Returns the transfers the answer shows: /api/stats' total, or the overview's headline
    (None for a 503: the server was full, the client asks again, as a wall does)."""
    if which == "stats":
        status, _h, body = ask(port, "GET", STATS)
    else:
        status, _h, body = ask(port, "POST", "/_dash-update-component", redraw)
    if status == 503:
        return None
    assert status == 200, body[:300]
    if which == "stats":
        return json.loads(body)["totals"]["transfers"]
    return int(json.loads(body)["response"]["headline-transfers"]["children"].replace(",", ""))


def stored(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT COUNT(*) FROM events WHERE kind = 'upload'")).scalar()


def test_a_new_version_reaches_every_worker_and_no_kept_answer_outlives_it(
        tmp_path, sqlite_url, log_dir):
    """Three workers, twelve clients asking /api/stats and the overview's redraw (each on a
    new connection, so every worker serves and keeps them) while new lines are stored twice:
    by the CLI ingester, another process, then by a tick of the server itself. Every answer
    to a request sent after the commit shows the new lines, and no answer shows fewer lines
    than one received before it was asked."""
    live_log = log_dir / "sftpgo.log"
    live_log.write_bytes(uploads(5))
    engine = db.make_engine(sqlite_url)
    env = {"DASHBOARD_INTERVAL": "4"}          # ticks pass at most every 2 s, fresheners 3.6 s
    with gunicorn(tmp_path, sqlite_url, log_dir, workers=3, env=env) as (port, _pid):
        deadline = time.monotonic() + 30
        while transfers(port, "stats", {}) != 5:         # the fresheners' first pass
            assert time.monotonic() < deadline
            time.sleep(0.2)
        redraw = redraw_request(port)
        answers: list[tuple[float, float, int, str]] = []     # (sent, received, shown, what)
        errors: list[BaseException] = []
        stop = threading.Event()

        def client(i: int) -> None:
            which = ("stats", "redraw")[i % 2]
            while not stop.is_set():
                sent = time.monotonic()
                try:
                    shown = transfers(port, which, redraw)
                except BaseException as exc:                  # reported below
                    errors.append(exc)
                    return
                if shown is not None:
                    answers.append((sent, time.monotonic(), shown, which))

        clients = [threading.Thread(target=client, args=(i,)) for i in range(12)]
        for t in clients:
            t.start()
        try:
            time.sleep(1.5)                                   # every worker keeps 5
            append(live_log, uploads(3, first=5))
            subprocess.run([sys.executable, "ingest.py", "--log-dir", str(log_dir), "--db",
                            sqlite_url], cwd=ROOT, check=True, capture_output=True, timeout=120)
            first_commit = time.monotonic()                   # the CLI has committed: 8
            assert stored(engine) == 8
            time.sleep(2.5)                                   # past the ticks' gap
            append(live_log, uploads(4, first=8))
            tick = json.loads(ask(port, "GET", "/_dash-dependencies")[2])
            tick = next(d for d in tick if d["output"].startswith("..live-freshness.children"))
            status, _h, body = ask(port, "POST", "/_dash-update-component", {
                "output": tick["output"], "outputs": outputs_of(tick["output"]),
                "changedPropIds": ["live-interval.n_intervals"],
                "inputs": [{"id": x["id"], "property": x["property"], "value": 1}
                           for x in tick["inputs"]],
                "state": [[] if x["id"].startswith("{") else     # no page's DRAWN store
                          {"id": x["id"], "property": x["property"], "value": None}
                          for x in tick["state"]]})
            assert status == 200, body[:300]
            deadline = time.monotonic() + 10                  # that tick, or a freshener
            while stored(engine) != 12:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            second_commit = time.monotonic()                  # a worker stored 12
            time.sleep(1.5)
        finally:
            stop.set()
            for t in clients:
                t.join(timeout=60)
    assert errors == [], errors
    assert len({what for *_rest, what in answers}) == 2 and len(answers) > 100
    late = [(shown, what) for sent, _r, shown, what in answers if sent > first_commit]
    assert late and all(shown >= 8 for shown, _w in late), \
        [a for a in late if a[0] < 8][:5]
    later = [(shown, what) for sent, _r, shown, what in answers if sent > second_commit]
    assert later and all(shown == 12 for shown, _w in later), \
        [a for a in later if a[0] != 12][:5]
    assert {shown for *_rest, shown, _w in answers} <= {5, 8, 12}
    # never older than what any client already had when the request went out
    newest_received = 0
    events = sorted([(r, "got", shown) for _s, r, shown, _w in answers] +
                    [(s, "ask", shown) for s, _r, shown, _w in answers])
    for _t, kind, shown in events:
        if kind == "got":
            newest_received = max(newest_received, shown)
        else:
            assert shown >= newest_received


def slow_reader(port: int) -> socket.socket:
    """Asks for plotly.js (4.6 MB) and reads none of it: the thread writing it is held until
    the socket closes (its write waits up to DASHBOARD_REQUEST_TIMEOUT)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET /_dash-component-suites/plotly/package_data/plotly.min.js HTTP/1.1\r\n"
                 b"Host: x\r\n\r\n")
    return sock


def test_an_overloaded_server_answers_503_at_once_and_recovers(tmp_path, sqlite_url, log_dir):
    """One thread, held by a client that does not read its answer: twenty requests are
    answered 503 with Retry-After and a JSON reason within about the queue's limit (not
    after the 30 s the held thread may wait); once it is free, the next answer is a 200."""
    (log_dir / "sftpgo.log").write_bytes(uploads(5))
    env = {"DASHBOARD_THREADS": "1", "DASHBOARD_QUEUE_WAIT": "0.5",
           "DASHBOARD_REQUEST_TIMEOUT": "30"}
    with gunicorn(tmp_path, sqlite_url, log_dir, workers=1, env=env) as (port, _pid):
        assert ask(port, "GET", STATS)[0] == 200
        held = slow_reader(port)
        try:
            time.sleep(1.0)                                    # the thread is writing to it
            results = []

            def one() -> None:
                started = time.monotonic()
                status, headers, body = ask(port, "GET", STATS, timeout=60)
                results.append((status, headers, body, time.monotonic() - started))

            threads = [threading.Thread(target=one) for _ in range(20)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=90)
            assert len(results) == 20
            for status, headers, body, took in results:
                assert status == 503, body[:200]
                assert headers.get("Retry-After") == "1"
                assert headers.get("Content-Type") == "application/json"
                assert "busy" in json.loads(body)["error"]
                assert took < 2.5, took                        # the limit, plus a loop turn
        finally:
            held.close()
        deadline = time.monotonic() + 10
        while True:                                            # back as soon as it is free
            started = time.monotonic()
            status, _h, body = ask(port, "GET", STATS)
            if status == 200:
                break
            assert time.monotonic() < deadline, body[:200]
            time.sleep(0.2)
        assert json.loads(body)["totals"]["uploads"] == 5
        assert time.monotonic() - started < 1.0


def test_the_page_keeps_its_figures_through_503s_and_draws_the_new_data_after(
        dash_br, tmp_path, sqlite_url, log_dir):
    """A page open on a server whose one thread is held: its ticks and redraws get 503 (no
    error on the page, its figures kept); freed, it draws the line appended meanwhile."""
    live_log = log_dir / "sftpgo.log"
    live_log.write_bytes(uploads(5))
    env = {"DASHBOARD_THREADS": "1", "DASHBOARD_QUEUE_WAIT": "0.3",
           "DASHBOARD_REQUEST_TIMEOUT": "30", "DASHBOARD_INTERVAL": "1"}
    with gunicorn(tmp_path, sqlite_url, log_dir, workers=1, env=env) as (port, _pid):
        driver = dash_br.driver
        driver.get(f"http://127.0.0.1:{port}/?start=2024-09-01&end=2024-09-30")

        def headline() -> str | None:
            return driver.execute_script(
                "var e = document.getElementById('headline-transfers');"
                " return e && e.textContent;")
        wait(lambda: headline() == "5", 30)
        held = slow_reader(port)
        try:
            append(live_log, uploads(1, first=5))
            time.sleep(4)                            # four ticks answered 503
            assert headline() == "5"
            page = driver.find_element("tag name", "body").text
            assert "Traceback" not in page and "Error" not in page and "503" not in page
            assert driver.execute_script(
                "return document.querySelector('#graph-user-transfers .js-plotly-plot')"
                ".data.length") > 0
        finally:
            held.close()
        wait(lambda: headline() == "6", 20)


def test_a_page_opened_while_every_thread_is_held_draws_once_one_is_free(
        dash_br, tmp_path, sqlite_url, log_dir):
    """A callback refused 503 is asked again after its Retry-After (assets/retry.js): the
    security page, opened from the overview while the one thread is held, has every callback
    of its first paint refused, and draws once the thread is free, with no reload. (Dash
    never asks again on its own: the page stayed blank.)"""
    (log_dir / "sftpgo.log").write_bytes(uploads(5) + sftpgo_line(
        "2024-09-18T10:00:00.000", "connection_failed", ""))
    env = {"DASHBOARD_THREADS": "1", "DASHBOARD_QUEUE_WAIT": "0.3",
           "DASHBOARD_REQUEST_TIMEOUT": "30", "DASHBOARD_INTERVAL": "60"}
    with gunicorn(tmp_path, sqlite_url, log_dir, workers=1, env=env) as (port, _pid):
        driver = dash_br.driver
        driver.get(f"http://127.0.0.1:{port}/?start=2024-09-01&end=2024-09-30")

        def shown(element_id: str) -> str | None:
            return driver.execute_script(
                "var e = document.getElementById(arguments[0]); return e && e.textContent;",
                element_id)
        wait(lambda: shown("headline-transfers") == "5", 30)
        held = slow_reader(port)
        try:
            time.sleep(1.0)                                  # the thread is writing to it
            driver.execute_script("document.getElementById(arguments[0]).click()",
                                  ids.NAV_SECURITY)
            time.sleep(2.5)                                  # its callbacks answered 503
            assert shown(ids.SECURITY_FAILURES) in (None, "")
        finally:
            held.close()
        wait(lambda: shown(ids.SECURITY_FAILURES) == "1", 30)


def append(path, data: bytes) -> None:
    with path.open("ab") as f:
        f.write(data)


def wait(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


# --- the tick asks again for a page left behind ------------------------------------------------

def test_a_tick_asks_again_for_a_redraw_that_did_not_come(sqlite_url, log_dir):
    """The version a page's figures show (DRAWN) behind the data's: the tick sends the version
    again, changed, so the redraw is asked again (a 503 left it behind); in step, nothing."""
    (log_dir / "sftpgo.log").write_bytes(uploads(2))
    context = AppContext(Settings(db_url=sqlite_url, log_dir=str(log_dir)))
    first = live.tick(context, None, None, None)
    data = first["version"][0]
    assert data >= 1
    shown = {"version": data, "path": "/"}
    again = live.tick(context, first["version"], None, None, drawn=shown, pathname="/", n=7)
    assert again["version"] is no_update                       # the page is in step
    behind = live.tick(context, first["version"], None, None,
                       drawn={"version": data - 1, "path": "/"}, pathname="/", n=7)
    assert behind["version"] == [data, 7]
    elsewhere = live.tick(context, first["version"], None, None, drawn=shown,
                          pathname="/security", n=8)
    assert elsewhere["version"] == [data, 8]                    # another page's figures
    assert live.tick(context, first["version"], None, None, drawn=None, pathname="/audit",
                     n=9)["version"] is no_update               # a page that draws none


def test_answer_cache_mb_sizes_the_kept_answers_and_0_keeps_none(sqlite_url, log_dir):
    """DASHBOARD_ANSWER_CACHE_MB: by default a question at one version is computed once;
    at 0 every request computes its own (what bench/bench_load.py --without-cache measures)."""
    import settings as settings_module
    counted = []

    def compute():
        counted.append(1)
        return len(counted)

    kept = AppContext(Settings(db_url=sqlite_url, log_dir=str(log_dir)))
    assert kept.answers.max_bytes == 64 * 1024 * 1024
    assert [kept.answers.get(3, "q", compute) for _ in range(3)] == [1, 1, 1]
    assert kept.answers.get(4, "q", compute) == 2                   # a new version: again
    counted.clear()
    none = AppContext(settings_module.from_env({"DASHBOARD_ANSWER_CACHE_MB": "0",
                                                "DATABASE_URL": sqlite_url}))
    assert [none.answers.get(3, "q", compute) for _ in range(3)] == [1, 2, 3]
    assert len(none.answers) == 0
    with pytest.raises(settings_module.ConfigError, match="DASHBOARD_ANSWER_CACHE_MB=-1"):
        settings_module.from_env({"DASHBOARD_ANSWER_CACHE_MB": "-1"})
