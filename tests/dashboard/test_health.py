"""The database's health, told truthfully: a file that refuses writes, a file that is not a
database, and a file deleted or replaced while the dashboard runs, on real SQLite files.

Read-only: the tests run as root, for whom file modes do not stop writes, so the file is
made immutable with `chattr +i` (root cannot open it for writing either; SQLite then opens
it read-only and every write fails with "attempt to write a readonly database").
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import sqlalchemy as sa

import db
from app import create_app
from callbacks import graphs, live
from components import ids
from dashboard.context import AppContext
from settings import Settings
from tests.support.ingest import event_line

from tests.support.dashboard import (add_stats, children, closed_port, flatten, get,
                                     wait_until_serving)

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2024, 9, 18)


def path_of(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def banner(out: dict) -> str:
    return flatten(out["banner"]) if out["banner_open"] else ""


@contextlib.contextmanager
def immutable(path: Path):
    """Makes ``path`` immutable (chattr +i) for the block; every write to it fails, as root too."""
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def ready_database(url: str, log_dir) -> None:
    """Creates the database with one event in it, then closes every connection to it."""
    (log_dir / "sftpgo.log").write_bytes(event_line(1))
    context = AppContext(Settings(db_url=url, log_dir=str(log_dir)))
    live.tick(context, None, None, None, today=TODAY, now=1.0)
    db.dispose_engines(url)


def corrupt(path: Path) -> None:
    """Puts 4 KB of random bytes at ``path``: a file, but not a database."""
    path.write_bytes(os.urandom(4096))


# --- writes fail -------------------------------------------------------------------------

def test_a_read_only_database_is_an_error_in_status_and_on_the_page(sqlite_url, log_dir):
    ready_database(sqlite_url, log_dir)
    with immutable(path_of(sqlite_url)):
        client = create_app(Settings(db_url=sqlite_url, log_dir=str(log_dir))).server.test_client()
        answer = client.get("/api/status")
        assert answer.status_code == 503
        body = answer.get_json()
        assert body["database"] == "error" and body["database_reachable"] is True
        assert body["error"] == "writes fail: attempt to write a readonly database"
        assert body["events_read"] == 1                       # what it can still read is told
        assert client.get("/api/stats").status_code == 200     # and still served

        context = AppContext(Settings(db_url=sqlite_url, log_dir=str(log_dir)))
        with (log_dir / "sftpgo.log").open("ab") as f:
            f.write(event_line(2))
        out = live.tick(context, None, None, None, today=TODAY, now=2.0)
        assert banner(out).startswith("Database error. Writes fail: attempt to write a "
                                      "readonly database")
        db.dispose_engines(sqlite_url)


def test_a_healthy_database_passes_the_write_probe_and_keeps_its_rows(engine, db_url, log_dir):
    add_stats(engine, [("2024-09-18", "upload", "alice", 1, 5, 0)])
    client = create_app(Settings(db_url=db_url, log_dir=str(log_dir))).server.test_client()
    for _ in range(3):
        body = client.get("/api/status").get_json()
        assert body["database"] == "ok" and body["error"] is None
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT id FROM ingest_status")).scalars().all() == [1]


# --- not a database ----------------------------------------------------------------------

def test_ingest_says_a_corrupt_file_is_not_a_database_and_exits_2(sqlite_url, log_dir):
    corrupt(path_of(sqlite_url))
    done = subprocess.run([sys.executable, "ingest.py", "--db", sqlite_url, "--log-dir",
                           str(log_dir)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == (f"error: cannot use the database at {sqlite_url}: "
                           "file is not a database\n")
    assert done.stdout == ""


def test_the_dashboard_starts_on_a_corrupt_file_and_says_what_is_wrong(sqlite_url, log_dir):
    corrupt(path_of(sqlite_url))
    context = AppContext(Settings(db_url=sqlite_url, log_dir=str(log_dir)))
    out = live.tick(context, None, None, None, today=TODAY, now=1.0)
    assert banner(out).startswith(f"Database error. {sqlite_url} cannot be used: file is not "
                                  "a database")
    drawn = graphs.redraw(context, "2024-09-01", "2024-09-18", False, None, today=TODAY)
    assert drawn["message"] == (f"Figures unavailable: {sqlite_url} cannot be used: file is "
                                "not a database")
    assert drawn[ids.HEADLINE_USERS] == "–" and drawn["days"].layout.annotations

    port = closed_port()                     # and the real command starts, without a traceback
    with (log_dir.parent / "app.log").open("wb") as log:     # a file: a pipe could fill up
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--db",
                                 sqlite_url, "--log-dir", str(log_dir)], cwd=ROOT, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        wait_until_serving(proc, port)
        assert get(port, "/") == 200 and get(port, "/api/status") == 503
        assert children(proc.pid)                              # still serving
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    output = (log_dir.parent / "app.log").read_text()
    assert "Traceback" not in output
    assert "file is not a database" in output


def test_status_says_a_corrupt_file_is_an_error(sqlite_url, log_dir):
    corrupt(path_of(sqlite_url))
    answer = create_app(Settings(db_url=sqlite_url, log_dir=str(log_dir))).server.test_client() \
        .get("/api/status")
    assert answer.status_code == 503
    body = answer.get_json()
    assert body["database"] == "error" and body["database_reachable"] is False
    assert body["error"] == f"{sqlite_url} cannot be used: file is not a database"


def test_a_file_corrupted_in_use_shows_a_message_not_blank_figures(sqlite_url, log_dir):
    ready_database(sqlite_url, log_dir)
    context = AppContext(Settings(db_url=sqlite_url, log_dir=str(log_dir)))
    client = create_app(Settings(db_url=sqlite_url, log_dir=str(log_dir))).server.test_client()
    assert client.get("/api/stats").status_code == 200
    assert graphs.redraw(context, "2024-09-01", "2024-09-18", False, None,
                         today=TODAY)["message_open"] is False
    with path_of(sqlite_url).open("r+b") as f:                 # same file, garbage inside
        f.write(os.urandom(8192))
    db.dispose_engines(sqlite_url)
    drawn = graphs.redraw(context, "2024-09-01", "2024-09-18", False, None, today=TODAY)
    message = "Figures unavailable: database error: file is not a database"
    assert drawn["message"] == message and drawn["message_open"] is True
    assert all(drawn[k].layout.annotations[0].text == message for k in graphs.GRAPH_KEYS)
    assert all(drawn[k] == "–" for k in graphs.HEADLINE_KEYS)
    answer = client.get("/api/stats")
    assert answer.status_code == 500
    assert answer.get_json() == {"error": "database error: file is not a database"}


# --- deleted or replaced while running ---------------------------------------------------

def test_a_deleted_database_file_is_noticed_not_recreated(sqlite_url, log_dir):
    ready_database(sqlite_url, log_dir)
    context = AppContext(Settings(db_url=sqlite_url, log_dir=str(log_dir)))
    client = create_app(Settings(db_url=sqlite_url, log_dir=str(log_dir))).server.test_client()
    assert live.tick(context, None, None, None, today=TODAY, now=1.0)["banner_open"] is False
    assert client.get("/api/status").get_json()["database"] == "ok"

    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path_of(sqlite_url)}{suffix}")
    expected = (f"database file was deleted or replaced: {path_of(sqlite_url)} is gone; "
                "restart the dashboard to use what is at that path")
    out = live.tick(context, None, None, None, today=TODAY, now=2.0)
    assert banner(out).startswith(f"Database error. {expected}")
    status = client.get("/api/status")
    assert status.status_code == 503
    assert status.get_json()["database"] == "error" and status.get_json()["error"] == expected
    assert client.get("/api/stats").get_json() == {"error": f"database error: {expected}"}
    assert not path_of(sqlite_url).exists()                   # nothing made a new one
    db.dispose_engines(sqlite_url)


def test_a_database_file_replaced_by_a_second_ingester_is_reported(sqlite_url, log_dir):
    ready_database(sqlite_url, log_dir)
    context = AppContext(Settings(db_url=sqlite_url, log_dir=str(log_dir)))
    assert live.tick(context, None, None, None, today=TODAY, now=1.0)["banner_open"] is False
    path_of(sqlite_url).unlink()
    done = subprocess.run([sys.executable, "ingest.py", "--db", sqlite_url, "--log-dir",
                           str(log_dir), "--quiet"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and path_of(sqlite_url).exists()     # a new file at the path
    out = live.tick(context, None, None, None, today=TODAY, now=2.0)
    assert banner(out).startswith(f"Database error. database file was deleted or replaced: "
                                  f"{path_of(sqlite_url)} is another file now")
    drawn = graphs.redraw(context, "2024-09-01", "2024-09-18", False, None, today=TODAY)
    assert drawn["message_open"] is True and "deleted or replaced" in drawn["message"]
    db.dispose_engines(sqlite_url)
