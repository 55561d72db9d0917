"""Idle and slow clients cannot hold the dashboard: real sockets against a real server, on
both production paths (gunicorn -c gunicorn.conf.py 'app:wsgi()' and python app.py).

Half-sent requests, silent connections, bodies that stop half way and kept-alive
connections that send half a second request hold no thread (dashboard/serving.py: the
worker's event loop reads each request before a thread takes it); a request not sent in
time is answered 408; when every connection is taken, the idle ones give way.
"""
from __future__ import annotations

import base64
import contextlib
import http.client
import os
import re
import socket
import subprocess
import time

import pytest

from tests.support.dashboard import ROOT, children, closed_port, server_command, wait_until_serving

AUTH = {"DASHBOARD_USER": "ops", "DASHBOARD_PASSWORD": "pw"}
HALF = b"GET / HTTP/1.1\r\nHost: x\r\n"            # the head never ends


@contextlib.contextmanager
def running(kind: str, sqlite_url: str, log_dir, tmp_path, env: dict | None = None,
            flags: tuple = ()):
    """Runs a dashboard server; yields (port, the serving worker's pid)."""
    port = closed_port()
    environ = {**os.environ, "DATABASE_URL": sqlite_url, "SFTPGO_LOG_DIR": str(log_dir),
               **(env or {})}
    command = server_command(kind, port, sqlite_url, log_dir)
    if kind == "gunicorn":
        command[-1:-1] = list(flags)
    with (tmp_path / f"server-{port}.log").open("wb") as output:
        proc = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=output,
                                stderr=subprocess.STDOUT)
    try:
        wait_until_serving(proc, port)
        yield port, children(proc.pid)[0]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:   # held by its clients: the test says why
            proc.kill()
            proc.wait()


def status(port: int, auth: bool, timeout: float = 5.0) -> tuple[int, float]:
    """Returns (status, seconds) of GET /api/status; raises TimeoutError past ``timeout``:
    a server held by the slow clients never answers (the test then fails, not waits)."""
    headers = {}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(b"ops:pw").decode()
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/api/status", headers=headers)
        answer = conn.getresponse()
        answer.read()
        return answer.status, time.monotonic() - started
    finally:
        conn.close()


def read_answer(sock: socket.socket) -> bytes:
    """Reads one whole answer (with a Content-Length) from ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: *(\d+)", head, re.I).group(1))
    while len(body) < length:
        body += sock.recv(65536)
    return head


def slow_clients(port: int, n: int) -> list[socket.socket]:
    """Opens 4 x ``n`` connections that never finish a request: half a head, nothing at all,
    half a declared body, and a kept-alive connection with half a second request."""
    socks = []
    for _ in range(n):
        half = socket.create_connection(("127.0.0.1", port), timeout=10)
        half.sendall(HALF)
        silent = socket.create_connection(("127.0.0.1", port), timeout=10)
        body = socket.create_connection(("127.0.0.1", port), timeout=10)
        body.sendall(b"POST /_dash-update-component HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"out")
        kept = socket.create_connection(("127.0.0.1", port), timeout=10)
        kept.sendall(b"GET /_dash-layout HTTP/1.1\r\nHost: x\r\n\r\n")
        read_answer(kept)
        kept.sendall(HALF)
        socks += [half, silent, body, kept]
    return socks


def still_open(sock: socket.socket) -> bool:
    """Whether the server has neither answered nor closed ``sock``."""
    sock.setblocking(False)
    try:
        sock.recv(1)                   # an answer, or b"": closed
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)


@pytest.mark.parametrize("auth", [False, True], ids=["open", "basic-auth"])
@pytest.mark.parametrize("kind", ["gunicorn", "app.py"])
def test_slow_clients_hold_no_thread(kind, auth, sqlite_url, log_dir, tmp_path):
    """16 half-sent requests (and as many silent connections, stopped bodies and stopped
    second requests) held open: /api/status still answers at once. Their deadline is a
    minute, so they are still open when it answers: they hold nothing, they were not cut."""
    env = {"DASHBOARD_REQUEST_TIMEOUT": "60", **(AUTH if auth else {})}
    with running(kind, sqlite_url, log_dir, tmp_path, env) as (port, _pid):
        assert status(port, auth)[0] == 200
        socks = slow_clients(port, 16)
        try:
            time.sleep(0.5)                    # the server has taken every one of them
            answers = [status(port, auth) for _ in range(5)]
            print(f"{kind} auth={auth}: /api/status with {len(socks)} slow clients: "
                  f"{max(t for _s, t in answers) * 1000:.1f} ms at most")
            assert [s for s, _t in answers] == [200] * 5
            assert all(still_open(s) for s in socks)
        finally:
            for s in socks:
                s.close()
        if auth:                               # and the credentials are still asked for
            assert status(port, False)[0] == 401


@pytest.mark.parametrize("kind", ["gunicorn", "app.py"])
def test_a_request_not_sent_in_time_is_answered_408_and_closed(kind, sqlite_url, log_dir,
                                                                tmp_path):
    """A head that never ends, and one sent a byte at a time (each byte in time, the whole
    too slow), are answered 408 with a JSON reason once DASHBOARD_REQUEST_TIMEOUT is up."""
    with running(kind, sqlite_url, log_dir, tmp_path,
                 {"DASHBOARD_REQUEST_TIMEOUT": "1"}) as (port, _pid):
        half = socket.create_connection(("127.0.0.1", port), timeout=15)
        half.sendall(HALF)
        trickle = socket.create_connection(("127.0.0.1", port), timeout=15)
        answer = b""
        for byte in b"GET /api/status HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"y" * 40:
            try:
                trickle.sendall(bytes([byte]))
            except OSError:                    # closed: the answer came
                break
            time.sleep(0.1)
        for sock in (half, trickle):
            with sock:
                answer = sock.recv(4096)
                assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
                assert b'{"error": "the request did not arrive within 1 seconds"}' in answer
                assert b"X-Content-Type-Options: nosniff" in answer
                assert sock.recv(4096) == b""  # and closed
        assert status(port, False)[0] == 200


@pytest.mark.parametrize("kind", ["gunicorn", "app.py"])
def test_requests_sent_in_pieces_pipelined_or_chunked_are_served(kind, sqlite_url, log_dir,
                                                                 tmp_path):
    """What the event loop reads before a thread takes it reaches the app intact: a head and
    body sent in pieces, two requests in one packet, a chunked body."""
    with running(kind, sqlite_url, log_dir, tmp_path) as (port, _pid):
        with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
            body = b'{"start": "2024-09-01"}' * 10
            request = (b"POST /api/stats HTTP/1.1\r\nHost: x\r\nContent-Type: "
                       b"application/json\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
            for i in range(0, len(request), 20):
                sock.sendall(request[i:i + 20])
                time.sleep(0.05)
            head = read_answer(sock)
            assert head.startswith(b"HTTP/1.1 405"), head      # read whole, refused by method
            sock.sendall(b"GET /api/status HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"GET /_dash-layout HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_answer(sock).startswith(b"HTTP/1.1 200")
            assert read_answer(sock).startswith(b"HTTP/1.1 200")
            chunk = b"x" * 10
            sock.sendall(b"POST /api/status HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                         b"\r\n\r\n" + b"%x\r\n" % len(chunk) + chunk + b"\r\n0\r\n\r\n")
            assert read_answer(sock).startswith(b"HTTP/1.1 405")  # read, then refused by method


def socket_count(pid: int) -> int:
    fds = os.listdir(f"/proc/{pid}/fd")
    count = 0
    for fd in fds:
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
    return count


@pytest.mark.parametrize("kind", ["gunicorn", "app.py"])
def test_when_every_connection_is_taken_idle_ones_give_way(kind, sqlite_url, log_dir,
                                                           tmp_path):
    """Connections stay bounded (10 here), and three times as many half-sent requests cannot
    keep a new client out: the oldest idle connection gives way to it."""
    env = {"DASHBOARD_REQUEST_TIMEOUT": "120", "DASHBOARD_MAX_CONNECTIONS": "10"}
    with running(kind, sqlite_url, log_dir, tmp_path, env,
                 flags=("--worker-connections", "10")) as (port, pid):
        baseline = socket_count(pid)
        socks = []
        try:
            for _ in range(30):
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                sock.sendall(HALF)
                socks.append(sock)
            time.sleep(1.5)
            held = socket_count(pid) - baseline
            code, seconds = status(port, False, timeout=30)
            print(f"{kind}: 30 half-sent requests, 10 connections at most: /api/status "
                  f"{code} after {seconds:.2f} s; held {held}")
            assert code == 200
            assert held <= 10
        finally:
            for sock in socks:
                sock.close()


@pytest.mark.parametrize("data, ready", [
    (b"GET / HTTP/1.1\r\nHost: x\r\n", False),
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", True),
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\n", True),        # pipelined
    (b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabc", False),
    (b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde", True),
    (b"POST / HTTP/1.1\r\ncontent-length:5\r\nHost: x\r\n\r\nabcde", True),
    (b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", True),    # the app's 413
    (b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", True),  # a 400
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n", False),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n", True),
    (b"GET / HTTP/1.1\r\nX: " + b"y" * (70 * 1024), None),            # a head over 64 KiB
])
def test_what_the_event_loop_waits_for(data, ready):
    from dashboard.serving import request_ready
    assert request_ready(data) is ready


@pytest.mark.parametrize("kind", ["gunicorn", "app.py"])
def test_a_head_over_64_kib_is_answered_431(kind, sqlite_url, log_dir, tmp_path):
    with running(kind, sqlite_url, log_dir, tmp_path) as (port, _pid):
        with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
            with contextlib.suppress(OSError):
                sock.sendall(b"GET / HTTP/1.1\r\nX: " + b"y" * (70 * 1024))
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
        assert status(port, False)[0] == 200
