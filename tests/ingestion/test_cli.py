"""ingest.py as a user runs it: exit codes, one-line errors, the summary line."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import db
from tests.support.ingest import LogWriter, ROOT, event_line, ingester, run_cli


def test_plain_run_ingests_and_prints_one_summary_line(sqlite_url, log_dir):
    LogWriter(log_dir).write(*[event_line(i) for i in range(20)])
    r = run_cli("--log-dir", str(log_dir), "--db", sqlite_url)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1
    assert re.match(r"files=1 lines=20 events=20 malformed=0 bytes=\d+ .* rate=[\d.]+MB/s", lines[0])
    again = run_cli("--log-dir", str(log_dir), "--db", sqlite_url)
    assert "lines=0 events=0" in again.stdout


def test_settings_come_from_the_environment(sqlite_url, log_dir):
    LogWriter(log_dir).write(event_line(1))
    r = run_cli(env={"SFTPGO_LOG_DIR": str(log_dir), "DATABASE_URL": sqlite_url})
    assert r.returncode == 0 and "events=1" in r.stdout


def test_missing_folder_is_a_one_line_error_with_exit_2(sqlite_url, tmp_path):
    r = run_cli("--log-dir", str(tmp_path / "nope"), "--db", sqlite_url)
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: log folder not found: {tmp_path / 'nope'}"


def test_bad_database_url_is_a_one_line_error_with_exit_2(log_dir):
    for url in ("not a url", "postgresql+nothing://x/y", "mysql+pymysql://u:secret@127.0.0.1:1/db"):
        r = run_cli("--log-dir", str(log_dir), "--db", url)
        assert r.returncode == 2, (url, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error: ")
        assert "secret" not in r.stderr and "Traceback" not in r.stderr


def test_rollup_check_and_rebuild(sqlite_url, log_dir):
    LogWriter(log_dir).write(*[event_line(i, user=f"u{i % 3}") for i in range(30)])
    assert run_cli("--log-dir", str(log_dir), "--db", sqlite_url).returncode == 0
    ok = run_cli("--db", sqlite_url, "--check-rollups")
    assert ok.returncode == 0 and "matches" in ok.stdout
    import sqlalchemy as sa
    import db
    with db.make_engine(sqlite_url).begin() as conn:
        conn.execute(sa.text("UPDATE daily_stats SET events = events + 1 WHERE username = 'u1'"))
    bad = run_cli("--db", sqlite_url, "--check-rollups")
    assert bad.returncode == 1 and "differs" in bad.stderr
    assert run_cli("--db", sqlite_url, "--rebuild-rollups").returncode == 0
    assert run_cli("--db", sqlite_url, "--check-rollups").returncode == 0


def test_on_a_terminal_it_shows_a_progress_bar(sqlite_url, log_dir):
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    from tests.support.ingest import ROOT
    LogWriter(log_dir).write(*[event_line(i) for i in range(5000)])
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 160, 0, 0))
    proc = subprocess.Popen([sys.executable, "ingest.py", "--log-dir", str(log_dir), "--db",
                             sqlite_url], cwd=ROOT, stdin=slave, stdout=subprocess.PIPE,
                            stderr=slave, env={**os.environ, "INGEST_BATCH_BYTES": "65536"})
    os.close(slave)
    out, _ = proc.communicate(timeout=60)
    screen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
    os.close(master)
    assert proc.returncode == 0
    assert b"ingest: 100%" in screen and b"events=5000" in screen
    assert b"events=5000" in out


def test_a_deleted_database_file_is_reported_never_recreated(sqlite_url, log_dir):
    """The SQLite file deleted under a running ingester: each pass says so (one line, no
    traceback), and no new, empty database appears at the path to count lines into."""
    path = Path(db.sqlite_file(sqlite_url))
    w = LogWriter(log_dir)
    w.write(*[event_line(i) for i in range(10)])
    engine = db.connect_checked(sqlite_url)
    ing = ingester(engine, log_dir)
    path.unlink()
    with pytest.raises(db.DatabaseBroken, match="deleted or replaced"):
        ing.run_pass()
    assert not path.exists()

    db.dispose_engines(sqlite_url)
    assert run_cli("--log-dir", str(log_dir), "--db", sqlite_url, "--quiet").returncode == 0
    proc = subprocess.Popen([sys.executable, "ingest.py", "--log-dir", str(log_dir), "--db",
                             sqlite_url, "--follow", "--quiet"], cwd=ROOT,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    path.unlink()
    w.write(*[event_line(i) for i in range(10, 20)])
    time.sleep(3)
    assert not path.exists(), "a new database file was created at the deleted one's path"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "database file was deleted or replaced" in err and "Traceback" not in err


@pytest.mark.parametrize("days", ["-1", "1000000"])
def test_a_retention_out_of_range_is_refused_with_a_message(days, tmp_path):
    r = run_cli("--log-dir", str(tmp_path), "--db", f"sqlite:///{tmp_path / 'x.db'}",
                "--events-retention-days", days)
    assert r.returncode == 2, r.stderr
    assert "EVENTS_RETENTION_DAYS" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.db").exists()


def test_help_answers_without_importing_sqlalchemy():
    """`ingest.py --help` parses its arguments before the database layer is imported: the
    help is there at once, and the run shows (through -X importtime) that SQLAlchemy, the
    database layer and the ingester were never imported."""
    r = subprocess.run([sys.executable, "-X", "importtime", "ingest.py", "--help"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "--log-dir" in r.stdout and "--follow" in r.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines()
                if line.startswith("import time:")}
    assert "argparse" in imported          # the report is real: it lists what was imported
    assert not {m for m in imported if m.split(".")[0] in ("sqlalchemy", "db", "ingestion")}
