"""Fresh data with no page open, and compressed answers, from a real server process.

The dashboard's ticks come from open pages; a freshener thread in the serving process runs
the same bounded pass when no tick came for an interval. Both production paths: gunicorn
'app:wsgi()' and python app.py (gunicorn in one process, the freshener in its worker).
"""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import time

import pytest

from tests.support.dashboard import (ROOT, closed_port, server_command, sftpgo_line,
                                     wait_until_serving)

INTERVAL = 2.0


@pytest.fixture(params=["gunicorn", "app.py"])
def server(request, sqlite_url, log_dir, tmp_path):
    """A dashboard server on 127.0.0.1 ticking every INTERVAL seconds; yields its port."""
    port = closed_port()
    env = {**os.environ, "DATABASE_URL": sqlite_url, "SFTPGO_LOG_DIR": str(log_dir),
           "DASHBOARD_INTERVAL": str(INTERVAL)}
    with (tmp_path / "server.log").open("wb") as output:
        proc = subprocess.Popen(server_command(request.param, port, sqlite_url, log_dir),
                                cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(proc, port)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def fetch(port: int, path: str, gzip: bool = False) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "gzip"} if gzip else {})
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()


def uploads(port: int) -> int:
    status, _, body = fetch(port, "/api/stats?start=2024-09-18&end=2024-09-18")
    assert status == 200
    return json.loads(body)["totals"]["uploads"]


def test_a_line_appended_with_no_page_open_reaches_the_api_within_two_intervals(server,
                                                                               log_dir):
    port = server
    live = log_dir / "sftpgo.log"
    live.write_bytes(sftpgo_line("2024-09-18T10:00:00.000", "Upload", "alice", size=10))
    deadline = time.monotonic() + 30
    while uploads(port) != 1:                   # the first pass, at start-up
        assert time.monotonic() < deadline, "nothing was ingested with no page open"
        time.sleep(0.2)
    time.sleep(INTERVAL)                        # now idle: only the freshener can ingest
    with live.open("ab") as f:
        f.write(sftpgo_line("2024-09-18T10:00:01.000", "Upload", "bob", size=20))
    written = time.monotonic()
    while uploads(port) != 2:
        assert time.monotonic() - written < 2 * INTERVAL, "the line waited for a page to open"
        time.sleep(0.1)


def test_answers_are_compressed_for_clients_that_accept_it(server):
    port = server
    status, _, body = fetch(port, "/")
    assert status == 200
    assert fetch(port, "/", gzip=True)[1].get("content-encoding") == "gzip"
    scripts = [p.split('"')[0] for p in body.decode().split('<script src="')[1:]]
    bundle = max(scripts, key=lambda path: len(fetch(port, path)[2]))
    plain = fetch(port, bundle)
    packed = fetch(port, bundle, gzip=True)
    assert plain[1].get("content-encoding") is None
    assert packed[1].get("content-encoding") == "gzip"
    assert len(packed[2]) < len(plain[2]) / 2
    stats = fetch(port, "/api/stats", gzip=True)
    assert stats[1].get("content-encoding") == "gzip"
