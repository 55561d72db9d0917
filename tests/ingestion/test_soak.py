"""The concurrent soak: a live lumberjack-style writer and a --follow ingester killed -9, together.

The writer (tests/support/soak_writer.py) writes >= 2,000 lines/s, rotates every 256 KB,
gzips each backup in a background mill (a third as several members) and deletes backups
beyond 30, leaves partial copies of the live file in a subfolder, while `ingest.py
--follow` runs and is SIGKILLed at random moments and restarted. Rotations therefore land
at every seam of a pass, not only between passes. Afterwards the database must hold what
the writer wrote, exactly once, and report as lost exactly the bytes that were never read.

Run alone:  ./test.sh -k soak      (SOAK_SECONDS, default 20, sets the writer's run time;
            SOAK_SEEDS=1-20 runs twenty seeds instead of the default 1,2,3)
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import orjson
import pytest
import sqlalchemy as sa

import db
from ingestion import rollups
from tests.support.ingest import ROOT, db_events, expected_events, run_cli, scalar

SECONDS = float(os.environ.get("SOAK_SECONDS", "20"))
RATE = 2000


def _seeds(spec: str) -> list[int]:
    """Returns the seeds of '1,2,3' or '1-20'."""
    if "-" in spec:
        first, last = spec.split("-", 1)
        return list(range(int(first), int(last) + 1))
    return [int(x) for x in spec.split(",")]


def _follower(db_url: str, log_dir, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "ingest.py", "--log-dir", str(log_dir), "--db",
                             db_url, "--follow", "--quiet"], cwd=ROOT,
                            env={**os.environ, **(env or {})})


@pytest.mark.slow
@pytest.mark.parametrize("seed", _seeds(os.environ.get("SOAK_SEEDS", "1,2,3")))
def test_soak_writer_and_killed_follower_at_once(db_url, engine, log_dir, tmp_path, seed):
    _soak(db_url, engine, log_dir, tmp_path, seed)


@pytest.mark.slow
def test_soak_with_a_backlog_at_its_start(db_url, engine, log_dir, tmp_path):
    """The follower starts 2 s after the writer, so its first passes find a backlog
    (INGEST_BACKLOG_BYTES made small): on SQLite they drop the secondary indexes, and the
    kills land in the backlog as in the live tail. At the end every index is there."""
    _soak(db_url, engine, log_dir, tmp_path, 4, backlog=True)
    from ingestion import backlog
    with engine.connect() as conn:
        assert backlog.deferred(conn) == []
        present = {ix["name"] for ix in sa.inspect(conn).get_indexes("events")}
    assert {"ix_events_ts", "ix_events_user", "ix_events_ip"} <= present
    if engine.dialect.name == "sqlite":
        assert set(backlog.DEFERRABLE) <= present


def _soak(db_url, engine, log_dir, tmp_path, seed, backlog: bool = False):
    rng = random.Random(seed)
    record = tmp_path / "record.json"
    writer = subprocess.Popen([sys.executable, "-m", "tests.support.soak_writer", str(log_dir),
                               str(SECONDS), str(RATE), str(seed), str(record)], cwd=ROOT)
    env = None
    if backlog:
        env = {"INGEST_BACKLOG_BYTES": "150000"}
        time.sleep(2.0)
    follower = _follower(db_url, log_dir, env)
    kills, lost_seen, saw_backlog = 0, 0, False
    next_kill = time.monotonic() + rng.uniform(0.5, 2.5)
    while writer.poll() is None:
        time.sleep(0.05)
        try:   # a pass must never report lost what is still there, not even for one pass
            lost_seen = max(lost_seen, scalar(engine, "SELECT COALESCE(SUM(bytes_lost), 0)"
                                              " FROM log_files") or 0)
        except Exception:        # the schema may not exist yet, or SQLite is busy: look again
            pass
        if backlog and not saw_backlog:
            try:
                saw_backlog = bool(scalar(engine, "SELECT COUNT(*) FROM deferred_indexes"))
            except Exception:
                pass
        if time.monotonic() >= next_kill:
            follower.send_signal(signal.SIGKILL)
            assert follower.wait() == -signal.SIGKILL
            kills += 1
            follower = _follower(db_url, log_dir, env)
            next_kill = time.monotonic() + rng.uniform(0.3, 2.5)
    assert writer.returncode == 0
    follower.send_signal(signal.SIGKILL)
    follower.wait()
    done = run_cli("--log-dir", str(log_dir), "--db", db_url, "--quiet")
    assert done.returncode == 0, done.stderr

    rec = orjson.loads(record.read_bytes())
    written = [x.encode() + b"" for x in rec["lines"]]
    assert len(written) >= SECONDS * RATE * 0.9, "the writer did not keep its rate"
    assert rec["rotations"] >= 20 and kills >= 3, (rec["rotations"], kills)
    assert rec["members"] >= 3 and rec["copies"] >= 3, (rec["members"], rec["copies"])

    got, want = db_events(engine), expected_events(written)
    assert not (got - want), "rows that no written line accounts for (duplicates)"
    written_bytes = sum(map(len, written))
    committed = scalar(engine, "SELECT COALESCE(SUM(committed_offset), 0) FROM checkpoints")
    lost = scalar(engine, "SELECT COALESCE(SUM(bytes_lost), 0) FROM log_files")
    print(f"soak seed={seed} {engine.dialect.name}: lines={len(written)} "
          f"rotations={rec['rotations']} kills={kills} deleted={len(rec['deleted'])} "
          f"multi-member={rec['members']} copies={rec['copies']} "
          f"deleted_bytes={rec['deleted_bytes']} committed={committed} lost={lost} "
          f"events={sum(got.values())}/{sum(want.values())}")
    # Every byte written was read once or is reported lost, no more, no less.
    assert committed + lost == written_bytes
    if lost == 0:
        assert got == want
        assert scalar(engine, "SELECT SUM(line_count) FROM checkpoints") == len(written)
        assert lost_seen == 0, f"a pass reported {lost_seen} bytes lost that were not"
    else:              # only backups the writer deleted can have been lost
        assert rec["deleted"], "bytes reported lost, yet the writer deleted nothing"
        assert lost <= rec["deleted_bytes"], (lost, rec["deleted_bytes"])
    assert rollups.check(engine) == []
    if backlog:    # on SQLite a pass deferred the indexes; MariaDB never does
        assert saw_backlog == (engine.dialect.name == "sqlite")
    db.dispose_engines(db_url)
