"""A database that keeps dropping connections, or is not there yet: `ingest.py --follow` (a real
subprocess) and the dashboard's own passes (a real app.py) retry with a backoff, never exit,
say so in the node's status, and in the end hold every line exactly once.

A real MariaDB whose connections are killed (KILL CONNECTION, in a loop, from an admin
connection) while a writer appends lines; and a server not reachable at start (nothing
listens on its port), then reachable through a real TCP relay."""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

import db
from tests.support.dashboard import closed_port, wait_until_serving
from tests.support.ingest import ROOT, event_line, run_cli
from tests.support.poll import until

LINES = 3000


class Killer:
    """Kills every connection to one database, every ``every`` seconds, on its own thread."""

    def __init__(self, url: str, every: float = 0.3):
        parsed = make_url(url)
        self.database = parsed.database
        self.admin = sa.create_engine(parsed.set(database=None), poolclass=sa.pool.NullPool)
        self.every = every
        self.kills = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Killer":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()
        self.admin.dispose()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            with contextlib.suppress(sa.exc.DBAPIError), self.admin.connect() as conn:
                ids = conn.execute(sa.text(
                    "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = :db"
                    " AND ID <> CONNECTION_ID()"), {"db": self.database}).scalars().all()
                for thread_id in ids:
                    with contextlib.suppress(sa.exc.DBAPIError):   # ended meanwhile
                        conn.exec_driver_sql(f"KILL CONNECTION {int(thread_id)}")
                        self.kills += 1


def write_lines(log: Path, n: int, seconds: float) -> None:
    """Appends ``n`` event lines (each path unique) over about ``seconds``."""
    per = max(n // int(seconds * 10), 1)
    with log.open("ab") as f:
        for start in range(0, n, per):
            f.write(b"".join(event_line(i, user="flap") for i in range(start, min(start + per, n))))
            f.flush()
            time.sleep(0.1)


def events(url: str) -> list[str]:
    """Returns the file path of every event (each line's is unique); none before the
    schema is there."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("events"):
                return []
            return conn.execute(sa.text("SELECT file_path FROM events")).scalars().all()
    finally:
        engine.dispose()


def node_status(url: str) -> dict:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT last_error, last_pass_at FROM node_status")).one()
            return dict(row._mapping)
    finally:
        engine.dispose()


def assert_exactly_once(url: str) -> None:
    paths = events(url)
    assert len(paths) == LINES and len(set(paths)) == LINES
    assert set(paths) == {f"/srv/sftpgo/data/flap/f{i}.bin" for i in range(LINES)}
    check = run_cli("--db", url, "--check-rollups")
    assert check.returncode == 0, check.stdout + check.stderr


def follower(url: str, log_dir: Path, output: Path) -> subprocess.Popen:
    env = {**os.environ, "INGEST_BATCH_BYTES": "16384"}        # many commits to kill
    with output.open("wb") as out:
        return subprocess.Popen([sys.executable, "ingest.py", "--follow", "--log-dir",
                                 str(log_dir), "--db", url, "--quiet"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("--follow did not stop on SIGTERM") from None


def test_follow_outlives_a_database_that_keeps_dropping_its_connections(mariadb_url, log_dir,
                                                                        tmp_path):
    db.connect_checked(mariadb_url)
    db.dispose_engines(mariadb_url)
    log = log_dir / "sftpgo.log"
    log.write_bytes(b"")
    # every 50 ms, from before it starts: on a quiet machine a pass takes a few ms, and kills
    # 0.3 s apart all landed between passes (the pool's pre-ping reconnected; none failed)
    with Killer(mariadb_url, every=0.05) as killer:
        proc = follower(mariadb_url, log_dir, tmp_path / "follow.log")
        try:
            write_lines(log, LINES, 15)
            time.sleep(2)
            assert proc.poll() is None, (tmp_path / "follow.log").read_text()[-2000:]
        finally:
            if proc.poll() is not None:
                print((tmp_path / "follow.log").read_text()[-3000:])
    print(f"connections killed: {killer.kills}")
    assert killer.kills >= 20
    try:
        until(lambda: len(events(mariadb_url)) >= LINES, 90, "every line stored")
        assert proc.poll() is None
        until(lambda: (node_status(mariadb_url)["last_error"] or "").count("failed since"), 30,
              "the outage in the node's status")
    finally:
        assert stop(proc) == 0
    output = (tmp_path / "follow.log").read_text()
    assert "Ingestion pass failed, retrying in" in output or "Database unreachable" in output
    assert "Traceback" not in output, output[-3000:]
    assert_exactly_once(mariadb_url)


class Relay:
    """A TCP relay from a local port to the database server, started when told: before that
    nothing listens on the port (connections are refused, a real outage)."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = closed_port()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._spawn(self._accept)

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self._spawn(self._pump, client, server)
            self._spawn(self._pump, server, client)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()


def test_follow_waits_for_a_database_not_reachable_at_start(mariadb_url, log_dir, tmp_path):
    """Nothing listens where the database should be: a plain run fails (exit 2, as before),
    --follow retries with a backoff and starts once the server is there."""
    real = make_url(mariadb_url)
    relay = Relay((real.host, real.port))
    url = real.set(port=relay.port).render_as_string(hide_password=False)
    (log_dir / "sftpgo.log").write_bytes(b"".join(event_line(i, user="flap")
                                                  for i in range(LINES)))
    plain = run_cli("--log-dir", str(log_dir), "--db", url, "--quiet")
    assert plain.returncode == 2 and "cannot use the database" in plain.stderr
    proc = follower(url, log_dir, tmp_path / "follow.log")
    try:
        time.sleep(4)
        assert proc.poll() is None, (tmp_path / "follow.log").read_text()
        relay.start()
        until(lambda: len(events(mariadb_url)) >= LINES, 90, "every line stored")
    finally:
        code = stop(proc)
        relay.close()
    assert code == 0
    output = (tmp_path / "follow.log").read_text()
    assert output.count("Database unreachable, retrying in") >= 2, output
    assert "retrying in 0.5 s" in output and "retrying in 1.0 s" in output
    assert "Traceback" not in output
    assert_exactly_once(mariadb_url)


def test_the_dashboard_keeps_ingesting_while_its_database_flaps(mariadb_url, log_dir,
                                                                tmp_path):
    """python app.py on the flapping database: its background passes retry each interval,
    /api/status answers JSON all along (200, or 503 while the database is gone), and every
    line is stored once."""
    db.connect_checked(mariadb_url)
    db.dispose_engines(mariadb_url)
    log = log_dir / "sftpgo.log"
    log.write_bytes(b"")
    port = closed_port()
    env = {**os.environ, "DASHBOARD_INTERVAL": "1", "INGEST_BATCH_BYTES": "16384"}
    with (tmp_path / "app.log").open("wb") as out:
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--db",
                                 mariadb_url, "--log-dir", str(log_dir)], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    codes = []
    try:
        wait_until_serving(proc, port)
        with Killer(mariadb_url):
            writer = threading.Thread(target=write_lines, args=(log, LINES, 15))
            writer.start()
            while writer.is_alive():
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", "/api/status")
                answer = conn.getresponse()
                json.loads(answer.read())
                codes.append(answer.status)
                conn.close()
                time.sleep(0.3)
            writer.join()
        until(lambda: len(events(mariadb_url)) >= LINES, 120, "every line stored")
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"/api/status while flapping: { {c: codes.count(c) for c in set(codes)} }")
    assert set(codes) <= {200, 503} and codes.count(200) > 0
    assert_exactly_once(mariadb_url)


def test_follow_still_stops_on_what_waiting_cannot_fix(mariadb_url, log_dir):
    """A refused password (1045) is an answer, not an outage: --follow exits 2 at once with
    the reason, as a plain run does."""
    wrong = make_url(mariadb_url).set(password="not-the-password")
    url = wrong.render_as_string(hide_password=False)
    for flags in ((), ("--follow",)):
        started = time.monotonic()
        done = run_cli("--log-dir", str(log_dir), "--db", url, "--quiet", *flags, timeout=60)
        assert done.returncode == 2, done.stderr
        assert "Access denied" in done.stderr and time.monotonic() - started < 30
