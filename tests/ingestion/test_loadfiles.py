"""LOAD DATA's files (the MySQL/MariaDB bulk path): removed after their statement, and those
of a process killed during one swept at the next start, never a live process's.

A real ingester on a real MariaDB, held inside LOAD DATA by a table lock, killed with SIGKILL;
and the sweep's rules on real files, real locks and real (dead and live) processes."""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

import db
from ingestion import loadfiles
from tests.support.ingest import ROOT, event_line, run_cli

SHM = Path(loadfiles.FOLDER or "/tmp")


def old(path: Path, seconds: float) -> Path:
    """Sets ``path``'s times ``seconds`` into the past."""
    when = time.time() - seconds
    os.utime(path, (when, when))
    return path


def dead_pid() -> int:
    """Returns the pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_load_file_is_locked_while_it_exists_and_removed_whatever_happens(tmp_path):
    with loadfiles.load_file(b"a\tb\n", str(tmp_path)) as path:
        assert Path(path).read_bytes() == b"a\tb\n"
        assert Path(path).name.startswith(f"sftpgo-dash-{os.getpid()}-")
        fd = os.open(path, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                raise AssertionError("the writer's lock is not held")
            except BlockingIOError:
                pass
        finally:
            os.close(fd)
    assert list(tmp_path.iterdir()) == []
    try:
        with loadfiles.load_file(b"x", str(tmp_path)):
            raise KeyboardInterrupt          # Ctrl-C during the statement
    except KeyboardInterrupt:
        pass
    assert list(tmp_path.iterdir()) == []


def test_the_sweep_takes_only_files_whose_writer_is_gone(tmp_path):
    gone, day = dead_pid(), loadfiles.STALE_S + 60
    cases = [  # (what, file name, age in seconds, removed)
        ("dead writer", f"sftpgo-dash-{gone}-ab12_x.tsv", 60, True),
        ("dead writer, just written", f"sftpgo-dash-{gone}-cd34.tsv", 0, False),
        ("live writer (this process)", f"sftpgo-dash-{os.getpid()}-ef56.tsv", 60, False),
        ("a running pid, a day old (reused)", f"sftpgo-dash-{os.getppid()}-gh78.tsv", day, True),
        ("older build, an hour old", "sftpgo-dash-ij90kl.tsv", 3600, False),
        ("older build, a day old", "sftpgo-dash-mn12op.tsv", day, True),
        ("someone else's name", f"other-{gone}-x.tsv", day, False),
        ("not a .tsv", f"sftpgo-dash-{gone}-x.tsv.bak", day, False),
        ("locked: a writer in another PID namespace", f"sftpgo-dash-{gone}-qr34.tsv", 60, False),
    ]
    for _what, name, age, _removed in cases:
        (tmp_path / name).write_bytes(b"x")
        if age:
            old(tmp_path / name, age)
    (tmp_path / f"sftpgo-dash-{gone}-dir.tsv").mkdir()           # not a plain file
    old(tmp_path / f"sftpgo-dash-{gone}-dir.tsv", day)
    link = tmp_path / f"sftpgo-dash-{gone}-link.tsv"              # nor a link
    link.symlink_to(tmp_path / f"other-{gone}-x.tsv")
    held = os.open(tmp_path / f"sftpgo-dash-{gone}-qr34.tsv", os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)          # alive, though its pid is not one of ours
    try:
        removed = loadfiles.sweep(str(tmp_path))
    finally:
        os.close(held)
    assert sorted(removed) == sorted(str(tmp_path / name) for _w, name, _a, gone_ in cases
                                     if gone_)
    for what, name, _age, gone_ in cases:
        assert (tmp_path / name).exists() != gone_, what
    assert link.is_symlink() and (tmp_path / f"sftpgo-dash-{gone}-dir.tsv").is_dir()


def count(url: str, sql: str) -> int:
    with db.make_engine(url).connect() as conn:
        return conn.execute(sa.text(sql)).scalar()


def test_a_file_left_by_a_sigkill_inside_load_data_is_swept_at_the_next_start(mariadb_url,
                                                                              log_dir):
    """An ingester is held inside LOAD DATA (another session locks the events table) and
    killed with SIGKILL: its file stays behind. The next ingester removes it before its
    first commit, and the events are exactly the lines."""
    marker = f"u{uuid.uuid4().hex[:12]}"                # our rows, among other tests' files
    lines = [event_line(i, user=marker) for i in range(2000)]
    (log_dir / "sftpgo.log").write_bytes(b"".join(lines))
    db.connect_checked(mariadb_url)                  # the schema, nothing else yet
    admin = sa.create_engine(mariadb_url, poolclass=sa.pool.NullPool)
    with admin.connect() as lock:
        lock.exec_driver_sql("LOCK TABLES events WRITE")
        proc = subprocess.Popen([sys.executable, "ingest.py", "--log-dir", str(log_dir),
                                 "--db", mariadb_url, "--quiet"], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            mine: list[Path] = []
            while not mine and time.monotonic() < deadline and proc.poll() is None:
                mine = [p for p in SHM.glob("sftpgo-dash-*.tsv")
                        if _holds(p, marker)]
                time.sleep(0.02)
            assert mine, "the ingester never reached LOAD DATA"
            time.sleep(0.2)                          # it waits inside the statement
            proc.send_signal(signal.SIGKILL)
            assert proc.wait() == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            lock.exec_driver_sql("UNLOCK TABLES")
    admin.dispose()
    assert all(p.exists() for p in mine)             # kill -9: nothing could remove it
    assert count(mariadb_url, "SELECT COUNT(*) FROM events") == 0
    time.sleep(loadfiles.SETTLE_S)
    done = run_cli("--log-dir", str(log_dir), "--db", mariadb_url, "--quiet")
    assert done.returncode == 0, done.stderr
    assert not any(p.exists() for p in mine), mine
    assert count(mariadb_url, f"SELECT COUNT(*) FROM events WHERE username = '{marker}'") == 2000
    assert not [p for p in SHM.glob("sftpgo-dash-*.tsv") if _holds(p, marker)]


def _holds(path: Path, marker: str) -> bool:
    try:
        return marker.encode() in path.read_bytes()
    except OSError:
        return False
