"""Request limits: an over-size body is refused with 413 before it is read (declared or
chunked, with and without basic auth), and a real server's memory stays flat under a 50 MB
POST, on both production paths (gunicorn 'app:wsgi()' and python app.py)."""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import select
import socket
import subprocess
from pathlib import Path

import pytest
from werkzeug.test import EnvironBuilder

import db
import settings as settings_mod
from app import create_app
from settings import Settings

from tests.support.dashboard import (ROOT, add_stats, children, closed_port, get, server_command,
                                     wait_until_serving)

MB = 1024 * 1024
ROUTES = ("/", "/_dash-update-component", "/_dash-layout", "/api/stats", "/api/status",
          "/api/nowhere")


def client_for(db_url: str, log_dir, **changes):
    return create_app(Settings(db_url=db_url, log_dir=str(log_dir), **changes)).server.test_client()


def assert_413(response) -> None:
    assert response.status_code == 413
    assert response.get_json() == {"error": "request body larger than 1048576 bytes"}
    assert response.headers["Connection"] == "close"


@pytest.mark.parametrize("auth", [False, True])
def test_a_declared_body_over_the_limit_gets_413_json_on_every_route(sqlite_url, log_dir, auth):
    changes = {"auth_user": "ops", "auth_password": "pw"} if auth else {}
    client = client_for(sqlite_url, log_dir, **changes)
    for path in ROUTES:
        assert_413(client.post(path, data=b"x" * (MB + 1), content_type="application/json"))


def test_a_chunked_body_over_the_limit_gets_413(sqlite_url, log_dir):
    client = client_for(sqlite_url, log_dir)
    environ = EnvironBuilder(path="/_dash-update-component", method="POST",
                             input_stream=io.BytesIO(b"x" * (3 * MB)),
                             content_type="application/json").get_environ()
    environ.pop("CONTENT_LENGTH", None)          # no length: the server dechunks as it reads
    environ["wsgi.input_terminated"] = True
    assert_413(client.open(environ))


def test_a_body_within_the_limit_is_served(sqlite_url, log_dir):
    client = client_for(sqlite_url, log_dir)
    assert client.post("/api/stats", data=b"x" * MB).status_code == 405   # read, then refused by method
    assert client.get("/api/stats").status_code == 200


@pytest.mark.parametrize("length", ["²", "-1", "1e9", "12345678901234567890"])
def test_a_content_length_that_is_not_a_number_gets_400(sqlite_url, log_dir, length):
    server = create_app(Settings(db_url=sqlite_url, log_dir=str(log_dir))).server
    environ = EnvironBuilder(path="/api/status", method="POST").get_environ()
    environ["CONTENT_LENGTH"] = length
    started = []
    body = b"".join(server.wsgi_app(environ, lambda status, headers: started.append(status)))
    assert started == ["400 Bad Request"]
    assert json.loads(body) == {"error": "Content-Length is not a number"}


def test_the_limit_is_a_setting(sqlite_url, log_dir):
    cfg = settings_mod.from_env({"DASHBOARD_MAX_REQUEST_BYTES": "1000"})
    assert cfg.max_request_bytes == 1000
    client = client_for(sqlite_url, log_dir, max_request_bytes=1000)
    answer = client.post("/_dash-update-component", data=b"x" * 1001)
    assert answer.status_code == 413
    assert answer.get_json() == {"error": "request body larger than 1000 bytes"}


# --- a real server process ---------------------------------------------------------------

def rss_bytes(pid: int, field: str = "VmRSS") -> int:
    """Returns the resident set size of process ``pid`` (``field`` of /proc/<pid>/status:
    VmRSS now, VmHWM its peak so far)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for pid {pid}")


@pytest.fixture(params=["gunicorn", "app.py"])
def server(request, sqlite_url, log_dir, tmp_path):
    """A dashboard server process on 127.0.0.1; yields (port, pid of the serving process).
    Its output goes to a file: an unread pipe would fill up and stall the server."""
    port = closed_port()
    env = {**os.environ, "DATABASE_URL": sqlite_url, "SFTPGO_LOG_DIR": str(log_dir),
           "DASHBOARD_WORKERS": "1"}
    with (tmp_path / "server.log").open("wb") as output:
        proc = subprocess.Popen(server_command(request.param, port, sqlite_url, log_dir),
                                cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(proc, port)
        worker = children(proc.pid)[0]           # both run one gunicorn worker here
        yield port, worker
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def warm_up(port: int) -> None:
    for path in ("/", "/_dash-layout", "/_dash-dependencies", "/api/stats", "/api/status"):
        assert get(port, path) == 200


def _answer(sock) -> bytes:
    """Returns an HTTP answer read whole: its head, and its body up to its Content-Length (the
    head and the body may come in separate segments), or what came before the server closed."""
    answer = b""
    with contextlib.suppress(ConnectionResetError):
        while True:
            head, sep, body = answer.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length: *([0-9]+)", head)
            if sep and length and len(body) >= int(length.group(1)):
                break
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    return answer


def post_without_waiting(port: int, path: str, size: int) -> tuple[bytes, int]:
    """Declares a ``size``-byte body and sends it until the server answers; returns
    (the answer, body bytes the kernel accepted before that)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    with sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                     f"\r\nContent-Length: {size}\r\n\r\n".encode())
        chunk, sent = b"x" * (64 * 1024), 0
        sock.setblocking(False)
        while sent < size:
            readable, writable, _ = select.select([sock], [sock], [], 30)
            if readable or not writable:
                break                                  # the answer came (or nothing moves)
            try:
                sent += sock.send(chunk[:size - sent])
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
        sock.setblocking(True)
        answer = _answer(sock)
    return answer, sent


def test_a_50_mb_post_gets_413_unread_and_the_server_does_not_grow(server):
    port, pid = server
    warm_up(port)
    before = rss_bytes(pid)
    answer, sent = post_without_waiting(port, "/_dash-update-component", 50 * MB)
    after, peak = rss_bytes(pid), rss_bytes(pid, "VmHWM")
    print(f"RSS before {before / MB:.1f} MB, after {after / MB:.1f} MB, peak {peak / MB:.1f} MB, "
          f"body bytes sent {sent}")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split(b" ")[1] == b"413", answer[:300]
    assert json.loads(body) == {"error": "request body larger than 1048576 bytes"}
    assert sent < 50 * MB                              # the server stopped reading: never all of it
    assert after - before < 50 * MB and peak - before < 50 * MB, (before, after, peak)
    warm_up(port)                                      # and it still answers


def flood_request(port: int, request: bytes) -> str:
    """Sends one raw HTTP request; returns the answer's status code, or 'refused'/'reset'."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    except ConnectionRefusedError:
        return "refused"
    with sock:
        try:
            sock.sendall(request)
            head = sock.recv(64)
        except (ConnectionResetError, BrokenPipeError):
            return "reset"
    return head.split(b" ")[1].decode() if head.startswith(b"HTTP/") else "reset"


FLOOD = (
    # the biggest answer there is: every user of the range, at most 100,000
    b"GET /api/stats?start=2024-09-01&end=2024-09-30&users_limit=100000 HTTP/1.1\r\n"
    b"Host: x\r\nConnection: close\r\n\r\n",
    # a body far over the limit (its first 64 KB sent): refused unread
    b"POST /_dash-update-component HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    b"Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n" + b"x" * 65536,
    # the page and Dash's layout
    b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /_dash-layout HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
)


def test_a_chunked_body_over_the_limit_gets_413_from_a_real_server(server):
    port, pid = server
    before = rss_bytes(pid)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"POST /_dash-update-component HTTP/1.1\r\nHost: x\r\n"
                     b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n")
        chunk = b"%x\r\n" % (256 * 1024) + b"[" * (256 * 1024) + b"\r\n"
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(200):                          # 50 MB, unless refused before
                sock.sendall(chunk)
                if select.select([sock], [], [], 0)[0]:
                    break
        answer = _answer(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:200]
    assert json.loads(body) == {"error": "request body larger than 1048576 bytes"}
    assert rss_bytes(pid, "VmHWM") - before < 50 * MB


def test_a_flood_of_requests_is_answered_or_refused_without_ballooning(server, sqlite_url):
    """400 connections at once, asking for the largest answers or sending bodies over the
    limit: each gets an answer (or a refusal: 503 when it would wait too long for a thread),
    and the server's peak memory stays bounded, since it serves a few requests at a time and
    never starts a thread per connection."""
    from concurrent.futures import ThreadPoolExecutor

    port, pid = server
    add_stats(db.make_engine(sqlite_url), [("2024-09-02", "upload", f"user-{i:05d}", 1, i, 0)
                                            for i in range(5000)])
    warm_up(port)
    before = rss_bytes(pid)
    with ThreadPoolExecutor(max_workers=400) as pool:
        outcomes = list(pool.map(lambda i: flood_request(port, FLOOD[i % len(FLOOD)]),
                                 range(400)))
    peak = rss_bytes(pid, "VmHWM")
    print(f"flood: RSS before {before / MB:.1f} MB, peak {peak / MB:.1f} MB, "
          f"outcomes { {o: outcomes.count(o) for o in sorted(set(outcomes))} }")
    assert set(outcomes) <= {"200", "413", "503", "refused", "reset"}, set(outcomes)
    stats = outcomes[::len(FLOOD)]                               # every stats request answered,
    assert set(stats) <= {"200", "503"} and "200" in stats, stats   # or told to come back
    assert peak - before < 100 * MB, (before, peak)
    warm_up(port)                                                # and it still answers
