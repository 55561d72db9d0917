"""A real crash: SIGKILL an ingester at random moments, then finish; compare with one clean pass."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

import db
from tests.support.ingest import LogWriter, ROOT, event_line, gzip_file, noise_line, run_cli

ROW_QUERY = ("SELECT f.first_path, e.start_offset, e.end_offset, e.ts, e.day, e.kind, e.username,"
             " e.size_bytes, e.failed, e.action, e.remote_ip, e.protocol, e.file_path, e.partial"
             " FROM events e JOIN log_files f ON f.id = e.file_id")


def snapshot(url: str) -> tuple[list, list, list]:
    """Returns every event row (by file path and offset), the rollups and the checkpoints."""
    engine = db.make_engine(url)
    with engine.connect() as conn:
        events = sorted(tuple(map(str, r)) for r in conn.execute(sa.text(ROW_QUERY)))
        daily = sorted(tuple(map(str, r)) for r in conn.execute(sa.text(
            "SELECT day, kind, username, events, bytes, failed FROM daily_stats")))
        points = sorted(tuple(map(str, r)) for r in conn.execute(sa.text(
            "SELECT f.first_path, c.committed_offset, c.line_count, c.event_count"
            " FROM checkpoints c JOIN log_files f ON f.id = c.file_id")))
    return events, daily, points


def committed(url: str) -> int:
    """Returns the bytes committed so far over all files (0 before the schema exists)."""
    try:
        with db.make_engine(url).connect() as conn:
            return conn.execute(sa.text("SELECT COALESCE(SUM(committed_offset), 0)"
                                        " FROM checkpoints")).scalar()
    except sa.exc.DBAPIError:
        return 0


def big_folder(log_dir) -> None:
    """About 12 MB over five generations: rotated, gzipped, a subfolder, identical bursts."""
    w = LogWriter(log_dir)
    seq = 0
    for k in range(4):
        lines = []
        for _ in range(9000):
            seq += 1
            lines.append(event_line(seq, user=f"u{seq % 7}", sender="Download" if seq % 2 else
                                    "Upload") if seq % 3 else noise_line(seq))
        lines += [event_line(seq, ms=1)] * 50
        w.write(*lines)
        backup = w.rotate()
        if k % 2:
            gzip_file(backup)
    w.write(*[event_line(i) for i in range(100000, 103000)])


@pytest.mark.slow
def test_random_sigkills_then_finish_equal_one_clean_pass(db_url, log_dir, tmp_path, request):
    big_folder(log_dir)
    rng = random.Random(int(os.environ.get("CRASH_SEED", "7")))
    env = {**os.environ, "INGEST_BATCH_BYTES": "8192"}    # many commits to land a kill between
    kills = 0
    for _ in range(12):
        before = committed(db_url)
        proc = subprocess.Popen([sys.executable, "ingest.py", "--log-dir", str(log_dir), "--db",
                                 db_url, "--quiet"], cwd=ROOT, env=env)
        while proc.poll() is None and committed(db_url) <= before:
            time.sleep(0.005)        # kill only once this run has committed something
        time.sleep(rng.uniform(0.0, 0.12))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            assert proc.wait() == -signal.SIGKILL
            kills += 1
        else:
            assert proc.returncode == 0
            break
    assert kills >= 3, f"the ingester finished after only {kills} kills"
    assert run_cli("--log-dir", str(log_dir), "--db", db_url, "--quiet").returncode == 0

    clean_url = (f"sqlite:///{tmp_path}/clean.db" if db_url.startswith("sqlite")
                 else request.getfixturevalue("mariadb_url"))
    assert run_cli("--log-dir", str(log_dir), "--db", clean_url, "--quiet").returncode == 0
    crashed, clean = snapshot(db_url), snapshot(clean_url)
    assert len(clean[0]) > 20000
    assert crashed[0] == clean[0]
    assert crashed[1] == clean[1]
    assert crashed[2] == clean[2]
