"""Issue 13 end to end through the Ingester: newline bombs, links out of the folder,
unlistable folders and impossible times never stop ingestion and are told."""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from datetime import datetime

import pytest
import sqlalchemy as sa

from tests.support.ingest import (LogWriter, PASSWD_LINK, ROOT, deep_folder, event_line, run_all,
                                  scalar, total_lines)


def _malformed(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT reason, start_offset, end_offset, line_count FROM malformed_lines"
            " ORDER BY file_id, start_offset"))]


def _newline_bomb(path, n: int) -> None:
    """Writes ``n`` newlines as one gzip member (5 M newlines: about 5 KB)."""
    with gzip.open(path, "wb", compresslevel=9) as f:
        for _ in range(n // 1_000_000):
            f.write(b"\n" * 1_000_000)
        f.write(b"\n" * (n % 1_000_000))


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_a_million_blank_lines_are_one_counted_row(engine, log_dir, compressed):
    n = 1_000_000
    w = LogWriter(log_dir)
    w.write(event_line(1))
    w.write_raw(b"\n" * n + b"  \r\n\t\n")
    w.write(event_line(2))
    backup = w.rotate()
    if compressed:
        data = backup.read_bytes()
        with gzip.open(str(backup) + ".gz", "wb") as f:
            f.write(data)
        backup.unlink()
    run_all(engine, log_dir)
    start = len(event_line(1))
    assert _malformed(engine) == [("empty", start, start + n + 6, n + 2)]
    assert total_lines(engine) == n + 4
    assert scalar(engine, "SELECT SUM(malformed_count) FROM checkpoints") == n + 2
    assert scalar(engine, "SELECT COUNT(*) FROM events") == 2


def test_runs_split_by_batches_stay_exact(engine, log_dir):
    w = LogWriter(log_dir)
    w.write_raw(b"\n" * 10_000 + b"\0\0\0\n" * 3)
    w.write(event_line(1))
    run_all(engine, log_dir, batch_bytes=4096)
    rows = _malformed(engine)
    assert sum(r[3] for r in rows if r[0] == "empty") == 10_000 and len(rows) <= 5
    assert [r for r in rows if r[0] == "nul_run"] == [("nul_run", 10_000, 10_012, 3)]
    for a, b in zip(rows, rows[1:]):               # contiguous, never overlapping
        assert a[2] == b[1]
    assert total_lines(engine) == 10_004
    assert scalar(engine, "SELECT SUM(malformed_count) FROM checkpoints") == 10_003


def test_newline_bomb_peak_rss_stays_under_300_mb(db_url, tmp_path):
    """5 M newlines in a ~5 KB gzip used to make 5 M rows and a 642 MB peak RSS."""
    logs = tmp_path / "bomb"
    logs.mkdir()
    bomb = logs / "sftpgo-2024-02-02T00-00-00.000.log.gz"
    _newline_bomb(bomb, 5_000_000)
    assert bomb.stat().st_size < 10_000
    probe = ("import resource, subprocess, sys\n"
             "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
             "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
             "sys.stderr.write(r.stdout + r.stderr)\n")
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", probe, sys.executable, str(ROOT / "ingest.py"),
                          "--log-dir", str(logs), "--db", db_url, "--quiet"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    code, peak_kb = map(int, out.stdout.split())
    print(f"newline bomb: {time.monotonic() - started:.1f} s, peak RSS {peak_kb / 1024:.0f} MB")
    assert code == 0, out.stderr
    assert peak_kb < 300 * 1024
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        assert scalar(engine, "SELECT SUM(line_count) FROM malformed_lines") == 5_000_000
        assert scalar(engine, "SELECT COUNT(*) FROM malformed_lines") <= 5
        assert total_lines(engine) == 5_000_000
    finally:
        engine.dispose()


def test_a_symlink_to_etc_passwd_is_not_read_and_is_reported(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(event_line(1))
    os.symlink("/etc/passwd", log_dir / PASSWD_LINK)
    run_all(engine, log_dir)
    assert scalar(engine, "SELECT COUNT(*) FROM malformed_lines") == 0
    assert scalar(engine, "SELECT COUNT(*) FROM log_files") == 1
    assert scalar(engine, "SELECT COUNT(*) FROM events") == 1
    error = scalar(engine, "SELECT last_error FROM node_status")
    assert f"{log_dir / PASSWD_LINK}: points outside the log folder" in error


def test_an_unlistable_folder_is_reported_and_the_rest_is_read(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(event_line(1))
    deep_folder(log_dir)
    run_all(engine, log_dir)
    assert scalar(engine, "SELECT COUNT(*) FROM events") == 1
    error = scalar(engine, "SELECT last_error FROM node_status")
    assert error.startswith(f"not readable now, will retry: {log_dir / 'nest'}")
    assert "folder not readable" in error


def test_a_time_more_than_a_day_after_the_file_is_bad_time(engine, log_dir):
    far = event_line(2).replace(b'"2024-09-18T03:00:00.002"', b'"9999-12-31T23:59:59.999"')
    soon = event_line(3).replace(b'"2024-09-18T03:00:00.003"', b'"2024-09-19T02:00:00.000"')
    assert far != event_line(2) and soon != event_line(3)
    w = LogWriter(log_dir)
    w.write(event_line(1), far, soon)
    backup = w.rotate()
    mtime = datetime(2024, 9, 18, 4, 0, 0).timestamp()
    os.utime(backup, (mtime, mtime))
    run_all(engine, log_dir)
    assert scalar(engine, "SELECT COUNT(*) FROM events") == 2
    assert [r[0] for r in _malformed(engine)] == ["bad_time"]
    assert str(scalar(engine, "SELECT MAX(day) FROM daily_stats")) == "2024-09-19"


def test_a_blank_torn_tail_after_blank_lines_keeps_its_own_row(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(event_line(1))
    w.write_raw(b"\n" * 5 + b"  ")                 # the writer died mid-line, after blanks
    backup = w.rotate()
    run_all(engine, log_dir, tail_grace_s=0.0)
    start = len(event_line(1))
    assert _malformed(engine) == [("empty", start, start + 5, 5),
                                  ("torn_tail", start + 5, start + 7, 1)]
    assert total_lines(engine) == 7
    assert scalar(engine, "SELECT committed_offset FROM checkpoints") == os.path.getsize(backup)
