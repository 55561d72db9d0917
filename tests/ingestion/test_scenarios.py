"""The failure checklist (docs/testing.md: groups A, B, C, E, F), on both backends.

Each test writes real files (real renames, real gzip), ingests, and compares the database
with the lines written: every complete line exactly once, identical lines included.
"""
from __future__ import annotations

import os
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from ingestion import run as run_mod
from tests.support.ingest import (LogWriter, assert_exactly_once, db_events, event_line,
                                  expected_events, gzip_file,
                                  ingester, mixed, noise_line,
                                  run_all, run_cli, scalar,
                                  total_lines)


# --- A. crash and restart ------------------------------------------------------------------

@pytest.mark.parametrize("point", ["after_read", "after_insert_before_checkpoint",
                                   "after_checkpoint_before_commit", "after_commit"])
def test_kill_at_every_commit_phase_loses_and_duplicates_nothing(db_url, engine, log_dir, point):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 3000))
    killed = run_cli("--log-dir", str(log_dir), "--db", db_url, "--quiet",
                     env={"INGEST_BATCH_BYTES": "40000"}, crash_at=(point, 1))
    assert killed.returncode == -9, killed.stderr
    done = run_cli("--log-dir", str(log_dir), "--db", db_url, "--quiet")
    assert done.returncode == 0, done.stderr
    assert_exactly_once(engine, w)


def test_resumes_from_checkpoint_after_restart(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 100))
    run_all(engine, log_dir)
    w.write(*mixed(100, 50))
    run_all(engine, log_dir)         # a new Ingester: nothing carried over in memory
    assert_exactly_once(engine, w)


def test_sigterm_in_follow_mode_commits_and_exits_promptly(db_url, engine, log_dir):
    import signal
    import subprocess
    import sys
    w = LogWriter(log_dir)
    w.write(*mixed(0, 2000))
    proc = subprocess.Popen([sys.executable, "ingest.py", "--log-dir", str(log_dir), "--db",
                             db_url, "--follow", "--quiet"], cwd=run_mod.__file__.rsplit("/", 2)[0])

    def wait_for(lines: int) -> None:
        deadline = time.monotonic() + 30
        while total_lines(engine) < lines and time.monotonic() < deadline:
            time.sleep(0.05)
        assert total_lines(engine) == lines
    wait_for(2000)
    w.write(*mixed(2000, 10))        # a tailer: appended lines are picked up while it runs
    wait_for(2010)
    assert_exactly_once(engine, w)
    w.write(*mixed(2010, 20000))     # then a stop while it is busy with a backlog
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    stored = int(total_lines(engine))  # what it committed before it stopped is a clean prefix
    assert 2010 <= stored <= len(w.written)
    assert scalar(engine, "SELECT committed_offset FROM checkpoints") == \
        sum(map(len, w.written[:stored]))
    assert db_events(engine) == expected_events(w.written[:stored])
    run_all(engine, log_dir)
    assert_exactly_once(engine, w)


def test_lost_checkpoint_is_rebuilt_from_rows(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*[event_line(i) for i in range(50)])
    run_all(engine, log_dir)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM checkpoints"))
    w.write(*[event_line(i) for i in range(50, 60)])
    run_all(engine, log_dir)
    assert db_events(engine) == expected_events(w.written)


def test_second_pass_while_one_holds_the_lock_is_refused(engine, log_dir):
    import db_locks
    w = LogWriter(log_dir)
    w.write(*mixed(0, 10))
    lock = db_locks.ingest_lock(ingester(engine, log_dir).settings.node)
    with db_locks.exclusive(engine, lock, wait=False):
        assert ingester(engine, log_dir).run_pass().busy
        with pytest.raises(db_locks.Busy):
            with db_locks.exclusive(engine, lock, wait=False):
                pass
    assert not ingester(engine, log_dir).run_pass().busy
    assert_exactly_once(engine, w)


def test_two_processes_at_once_never_double_insert(db_url, engine, log_dir):
    import subprocess
    import sys
    w = LogWriter(log_dir)
    for k in range(4):
        w.write(*mixed(k * 3000, 3000))
        w.rotate()
    w.write(*mixed(99000, 500))
    root = run_mod.__file__.rsplit("/", 2)[0]
    procs = [subprocess.Popen([sys.executable, "ingest.py", "--log-dir", str(log_dir), "--db",
                               db_url, "--quiet"], cwd=root,
                              env={**os.environ, "INGEST_BATCH_BYTES": "65536"})
             for _ in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    run_all(engine, log_dir)
    assert_exactly_once(engine, w)


def test_database_outage_blocks_and_retries_without_advancing(sqlite_url, log_dir):
    import db
    engine = db.connect_checked(sqlite_url)
    w = LogWriter(log_dir)
    w.write(*mixed(0, 100))
    path = engine.url.database
    # Hold SQLite's write lock from another connection: the ingester must fail, not advance.
    import sqlite3
    blocker = sqlite3.connect(path, timeout=1)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        eng2 = sa.create_engine(sqlite_url, connect_args={"timeout": 0.5})
        ing = ingester(eng2, log_dir)
        with pytest.raises(sa.exc.OperationalError):
            ing.run_pass()
    finally:
        blocker.rollback()
        blocker.close()
    assert scalar(engine, "SELECT COUNT(*) FROM events") == 0
    run_all(engine, log_dir)
    assert_exactly_once(engine, w)


# --- B. rotation of the live file ------------------------------------------------------------

def test_follows_rename_rotation_and_drains_the_backup(engine, log_dir):
    w = LogWriter(log_dir)
    ing = ingester(engine, log_dir)
    w.write(*mixed(0, 100))
    ing.run_pass()
    w.write(*mixed(100, 20))         # written just before the rename, not yet read
    w.rotate()
    w.write(*mixed(120, 20))
    ing.run_pass()
    assert_exactly_once(engine, w)
    assert scalar(engine, "SELECT COUNT(*) FROM log_files") == 2


@pytest.mark.parametrize("rotations", [1, 2, 3, 6])
def test_rotations_while_down_or_within_one_poll_are_all_read(engine, log_dir, rotations):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 30))
    run_all(engine, log_dir)
    for k in range(rotations):       # the tailer sees none of the intermediate states
        w.write(*mixed(100 * (k + 1), 30))
        w.rotate()
    w.write(*mixed(5000, 5))
    run_all(engine, log_dir)
    assert scalar(engine, "SELECT COUNT(*) FROM log_files") == rotations + 1
    assert_exactly_once(engine, w)


def test_pruned_undrained_backup_is_reported_lost(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 30))
    run_all(engine, log_dir)
    w.write(*mixed(30, 30))
    size = os.path.getsize(w.live)
    seen = scalar(engine, "SELECT committed_offset FROM checkpoints")
    ingester(engine, log_dir).run_pass(max_bytes=0)    # looks at the file: records its size
    backup = w.rotate()
    os.remove(backup)                                   # MaxBackups pruned it before we read it
    w.write(*mixed(60, 5))
    p = run_all(engine, log_dir)
    lost = scalar(engine, "SELECT SUM(bytes_lost) FROM log_files")
    assert size - seen > 0
    assert lost == size - seen               # exactly the bytes never read
    assert p.bytes_lost == lost


def test_kill_during_rotation_still_drains_backup(db_url, engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 50))
    assert run_cli("--log-dir", str(log_dir), "--db", db_url, "--quiet").returncode == 0
    w.write(*mixed(50, 50))
    w.rotate(create=False)           # renamed, new file not created yet
    killed = run_cli("--log-dir", str(log_dir), "--db", db_url, "--quiet",
                     crash_at=("after_read", 0))
    assert killed.returncode == -9
    w.live.touch()
    w.write(*mixed(100, 10))
    assert run_cli("--log-dir", str(log_dir), "--db", db_url, "--quiet").returncode == 0
    assert_exactly_once(engine, w)


def test_writer_restart_appends_to_the_same_generation(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 10))
    run_all(engine, log_dir)
    w.write(*mixed(10, 10))          # SFTPGo restarted: O_APPEND on the same file
    run_all(engine, log_dir)
    assert scalar(engine, "SELECT COUNT(*) FROM log_files") == 1
    assert_exactly_once(engine, w)


def test_empty_new_file_window_creates_no_generation(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 10))
    run_all(engine, log_dir)
    w.rotate()                       # sftpgo.log exists at 0 bytes
    assert os.path.getsize(w.live) == 0
    p = ingester(engine, log_dir).run_pass()
    assert not p.busy
    assert scalar(engine, "SELECT COUNT(*) FROM log_files") == 1
    w.write(event_line(999))
    run_all(engine, log_dir)
    assert_exactly_once(engine, w)


# --- C. rotated folder and compression ----------------------------------------------------

def test_gzip_of_a_read_backup_inserts_nothing(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 200))
    backup = w.rotate()
    run_all(engine, log_dir)
    before = db_events(engine)
    ino = os.stat(backup).st_ino
    gz = gzip_file(backup)
    assert os.stat(gz).st_ino != ino and not backup.exists()    # a new inode, new bytes
    run_all(engine, log_dir)
    assert db_events(engine) == before
    assert scalar(engine, "SELECT compressed FROM log_files WHERE path LIKE '%.gz'") == 1


def test_gzip_of_a_partly_read_backup_resumes_at_the_offset(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 3000))
    ingester(engine, log_dir, batch_bytes=30000).run_pass(max_bytes=30000)
    done = scalar(engine, "SELECT committed_offset FROM checkpoints")
    assert 0 < done < os.path.getsize(w.live)
    backup = w.rotate()
    gzip_file(backup)
    run_all(engine, log_dir)
    assert_exactly_once(engine, w)


def test_truncated_gzip_is_not_accepted_until_complete(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 2000))
    backup = w.rotate()
    gz = gzip_file(backup)
    data = gz.read_bytes()
    gz.write_bytes(data[: len(data) // 2])           # the mill is still writing it
    w.write(*mixed(5000, 5))
    run_all(engine, log_dir)
    assert db_events(engine) == expected_events(w.written[-5:])
    assert gz.name in scalar(engine, "SELECT last_error FROM node_status")
    gz.write_bytes(data)
    run_all(engine, log_dir)
    assert_exactly_once(engine, w)


def test_preexisting_folder_with_log_and_gz_twin_is_read_once(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 100))
    b1 = w.rotate()
    w.write(*mixed(100, 100))
    b2 = w.rotate()
    gzip_file(b1)
    gzip_file(b2, remove=False)      # compression in progress: .log and .log.gz both present
    sub = log_dir / "old-server"
    sub.mkdir()
    w2 = LogWriter(sub)
    w2.write(*mixed(9000, 50))
    w2.rotate()
    w.write(*mixed(200, 10))
    run_all(engine, log_dir)
    assert db_events(engine) == expected_events(w.written + w2.written)
    os.remove(b2)                    # the mill finishes: only the .gz is left
    run_all(engine, log_dir)
    assert db_events(engine) == expected_events(w.written + w2.written)


def test_folder_of_archives_added_later_and_copied_twice(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 20))
    run_all(engine, log_dir)
    archive = log_dir.parent / "archive"
    a = LogWriter(archive)
    a.write(*mixed(7000, 300))
    gz = gzip_file(a.rotate())
    new_folder = log_dir / "2023"
    new_folder.mkdir()
    (new_folder / gz.name).write_bytes(gz.read_bytes())
    run_all(engine, log_dir)
    copy2 = log_dir / "2023-again"
    copy2.mkdir()
    (copy2 / gz.name).write_bytes(gz.read_bytes())
    run_all(engine, log_dir)
    assert db_events(engine) == expected_events(w.written + a.written)


def test_backup_deleted_while_down_records_bytes_lost(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 100))
    ingester(engine, log_dir, batch_bytes=2000).run_pass(max_bytes=2000)
    read = scalar(engine, "SELECT committed_offset FROM checkpoints")
    backup = w.rotate()
    size = os.path.getsize(backup)
    assert 0 < read < size
    os.remove(backup)
    w.write(*mixed(100, 5))
    run_all(engine, log_dir)
    assert scalar(engine, "SELECT SUM(bytes_lost) FROM log_files") == size - read


# --- E. partial lines and content edge cases --------------------------------------------

def test_partial_line_waits_for_newline(engine, log_dir):
    w = LogWriter(log_dir)
    line = event_line(1)
    w.write_raw(line[:40])
    run_all(engine, log_dir)
    assert scalar(engine, "SELECT COUNT(*) FROM events") == 0
    assert scalar(engine, "SELECT committed_offset FROM checkpoints") == 0
    w.write_raw(line[40:])
    w.written.append(line)
    run_all(engine, log_dir)
    assert_exactly_once(engine, w)


def test_partial_line_across_restart_is_completed_once(db_url, engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 10))
    line = event_line(77)
    w.write_raw(line[:25])
    assert run_cli("--log-dir", str(log_dir), "--db", db_url, "--quiet").returncode == 0
    w.write_raw(line[25:])
    w.written.append(line)
    assert run_cli("--log-dir", str(log_dir), "--db", db_url, "--quiet").returncode == 0
    assert_exactly_once(engine, w)


def test_torn_tail_of_a_rotated_file_is_stored_once_flagged(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 10))
    last = event_line(500)
    w.write_raw(last[:-1])                 # the writer crashed before the newline
    backup = w.rotate()
    run_all(engine, log_dir, tail_grace_s=0.0)
    assert scalar(engine, "SELECT COUNT(*) FROM events WHERE partial = 1") == 1
    gzip_file(backup)
    run_all(engine, log_dir, tail_grace_s=0.0)
    assert db_events(engine) == expected_events(w.written + [last])


def test_identical_lines_are_all_kept(engine, log_dir):
    w = LogWriter(log_dir)
    same = event_line(1, ms=5)
    w.write(*[same] * 1000)
    w.rotate()
    w.write(same, same)
    run_all(engine, log_dir)
    assert db_events(engine)[next(iter(expected_events([same])))] == 1002
    assert_exactly_once(engine, w)


def test_empty_lines_crlf_invalid_utf8_and_multibyte_keep_exact_offsets(engine, log_dir):
    w = LogWriter(log_dir)
    lines = [b"\n", event_line(1).replace(b"\n", b"\r\n"), b'{"level":"info","ti\xff\xfe"}\n',
             event_line(2, user="j\u00fcrgen-\u6587\u4ef6-\U0001F600"),
             b"\x00\x00\x00" + event_line(3), b"\x00\x00\n"]
    w.write(*lines)
    run_all(engine, log_dir, batch_bytes=64)       # tiny reads: lines straddle the buffer
    assert db_events(engine) == expected_events(w.written)
    with engine.connect() as conn:
        starts = [r[0] for r in conn.execute(sa.text(
            "SELECT start_offset FROM events UNION ALL SELECT start_offset FROM malformed_lines"
            " ORDER BY 1"))]
    offsets, pos = [], 0
    for line in lines:
        offsets.append(pos)
        pos += len(line)
    assert starts == offsets
    with engine.connect() as conn:
        reasons = Counter(r for (r,) in conn.execute(sa.text("SELECT reason FROM malformed_lines")))
    assert reasons == Counter({"empty": 1, "not_json": 1, "nul_run": 1})


def test_over_long_line_is_kept_as_malformed_and_never_stalls(engine, log_dir):
    w = LogWriter(log_dir)
    huge = b'{"level":"debug","message":"' + b"x" * (5 * 1024 * 1024) + b'"}\n'
    w.write(event_line(1), huge, event_line(2))
    run_all(engine, log_dir, max_line_bytes=1024 * 1024)
    assert db_events(engine) == expected_events([event_line(1), event_line(2)])
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT reason, start_offset, end_offset, sample FROM malformed_lines")).one()
    start = len(event_line(1))
    assert (row[0], row[1], row[2]) == ("too_long", start, start + len(huge))
    assert bytes(row[3]) == huge[:1024]


def test_five_megabyte_json_line_within_the_limit_is_parsed(engine, log_dir):
    w = LogWriter(log_dir)
    big = event_line(1).replace(b'"/srv', b'"/' + b"p" * (5 * 1024 * 1024) + b"/srv")
    w.write(big, event_line(2))
    run_all(engine, log_dir)
    assert scalar(engine, "SELECT COUNT(*) FROM events") == 2
    assert total_lines(engine) == 2


# --- F. identity and inode reuse -------------------------------------------------------

def test_inode_reuse_reads_the_new_file_from_zero(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 50))
    run_all(engine, log_dir)
    ino = os.stat(w.live).st_ino
    os.remove(w.live)
    w.write(*mixed(1000, 60))
    new_ino = os.stat(w.live).st_ino
    if new_ino != ino:   # the filesystem chose another inode: make the stored one collide
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE log_files SET ino = :i"), {"i": new_ino})
    assert scalar(engine, "SELECT ino FROM log_files") == os.stat(w.live).st_ino
    run_all(engine, log_dir)
    assert_exactly_once(engine, w)


@pytest.mark.parametrize("regrown", [5, 60], ids=["shorter-than-before", "regrown-past-offset"])
def test_truncated_live_file_is_a_new_generation(engine, log_dir, regrown):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 20))
    run_all(engine, log_dir)
    size = os.path.getsize(w.live)
    with open(w.live, "r+b") as f:        # truncated while the tailer is down...
        f.truncate(0)
    assert os.path.getsize(w.live) == 0 < size
    w.write(*mixed(100, regrown))         # ...then written again, short of or past the offset
    assert (os.path.getsize(w.live) > size) == (regrown == 60)
    run_all(engine, log_dir)
    assert scalar(engine, "SELECT COUNT(*) FROM log_files") == 2
    assert_exactly_once(engine, w)


def test_same_head_different_files_are_two_generations(engine, log_dir):
    banner = b"".join(noise_line(i) for i in range(10))   # > 1 KiB identical start
    assert len(banner) > 1024
    a, b = LogWriter(log_dir / "a"), LogWriter(log_dir / "b")
    a.write(banner, *mixed(100, 20))
    b.write(banner, *mixed(200, 20))
    a.rotate(create=False)
    b.rotate(create=False)
    run_all(engine, log_dir)
    assert scalar(engine, "SELECT COUNT(*) FROM log_files") == 2
    assert db_events(engine) == expected_events(a.written + b.written)


def test_short_head_grows_without_reingestion(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(b'{"a":1}\n')
    run_all(engine, log_dir)
    w.write(*mixed(0, 30))
    run_all(engine, log_dir)
    assert scalar(engine, "SELECT COUNT(*) FROM log_files") == 1
    assert scalar(engine, "SELECT LENGTH(head) FROM log_files") == 1024
    assert_exactly_once(engine, w)


def test_rename_outside_the_glob_and_back_is_not_reread(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 30))
    run_all(engine, log_dir)
    hidden = log_dir / "elsewhere.txt"
    os.rename(w.live, hidden)
    run_all(engine, log_dir)
    os.rename(hidden, w.live)
    w.write(*mixed(30, 5))
    run_all(engine, log_dir)
    assert scalar(engine, "SELECT COUNT(*) FROM log_files") == 1
    assert_exactly_once(engine, w)


def test_head_length_change_between_runs_causes_no_reingestion(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 50))
    run_all(engine, log_dir, head_bytes=256)
    w.write(*mixed(50, 5))
    run_all(engine, log_dir, head_bytes=1024)
    assert scalar(engine, "SELECT COUNT(*) FROM log_files") == 1
    assert_exactly_once(engine, w)


def test_odd_strings_round_trip_byte_for_byte(engine, log_dir):
    names = ["tab\there", "back\\slash", "new\nline", "nul\x00byte", "cr\rlf", "quote\"s'",
             "\\N", "emoji-\U0001F600", "trailing ", "Trailing "]
    w = LogWriter(log_dir)
    w.write(*[event_line(i, user=n) for i, n in enumerate(names)])
    run_all(engine, log_dir)
    with engine.connect() as conn:
        got = sorted(r[0] for r in conn.execute(sa.text("SELECT username FROM events")))
        paths = {r[0] for r in conn.execute(sa.text("SELECT file_path FROM events"))}
    assert got == sorted(names)
    assert f"/srv/sftpgo/data/{names[1]}/f1.bin" in paths


def test_bounded_passes_report_progress_and_stay_within_budget(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 6000))
    w.rotate()
    w.write(*mixed(6000, 6000))
    total = sum(len(x) for x in w.written)
    ing = ingester(engine, log_dir)
    p = ing.run_pass(max_bytes=100_000)
    assert 100_000 <= p.bytes_done < 100_000 + 4096 + 1024
    assert p.files == 2 and p.files_pending == 2
    assert p.bytes_done + p.bytes_pending == total
    steps = 1
    while not p.complete:
        p = ing.run_pass(max_bytes=100_000)
        steps += 1
    assert steps >= total // 110_000
    assert_exactly_once(engine, w)


def test_backup_deleted_while_being_read_is_read_through_the_open_file(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 3000))
    backup = w.rotate()
    w.write(*mixed(3000, 10))
    deleted = []

    def delete_after_first_batch(_progress):
        if not deleted:
            os.remove(backup)            # MaxBackups pruned it while we were reading it
            deleted.append(True)

    ingester(engine, log_dir, batch_bytes=20_000).run_pass(on_batch=delete_after_first_batch)
    assert deleted and not backup.exists()
    assert_exactly_once(engine, w)
    run_all(engine, log_dir)
    assert scalar(engine, "SELECT SUM(bytes_lost) FROM log_files") == 0


def test_losing_the_sqlite_wal_rolls_rows_and_checkpoints_back_together(sqlite_url, log_dir,
                                                                        tmp_path):
    import shutil
    import db
    w = LogWriter(log_dir)
    w.write(*mixed(0, 5000))
    engine = db.connect_checked(sqlite_url)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")   # schema in the main file
    ing = ingester(engine, log_dir, batch_bytes=30_000)
    ing.run_pass(max_bytes=100_000)        # these commits live only in the -wal file
    assert total_lines(engine) > 0
    copy = tmp_path / "powercut.db"        # the main file alone: the WAL tail was lost
    shutil.copy(engine.url.database, copy)
    lost = db.connect_checked(f"sqlite:///{copy}")
    assert total_lines(lost) < total_lines(engine)
    from ingestion import rollups
    assert rollups.check(lost) == []
    run_all(lost, log_dir)
    assert_exactly_once(lost, w)


def test_follow_waits_out_a_locked_database_and_catches_up(sqlite_url, log_dir):
    import signal
    import sqlite3
    import subprocess
    import sys
    import db
    w = LogWriter(log_dir)
    w.write(*mixed(0, 100))
    engine = db.connect_checked(sqlite_url)
    proc = subprocess.Popen([sys.executable, "ingest.py", "--log-dir", str(log_dir), "--db",
                             sqlite_url, "--follow", "--quiet"],
                            cwd=run_mod.__file__.rsplit("/", 2)[0])
    try:
        deadline = time.monotonic() + 20
        while total_lines(engine) < 100 and time.monotonic() < deadline:
            time.sleep(0.05)
        blocker = sqlite3.connect(engine.url.database, timeout=5)
        blocker.execute("BEGIN IMMEDIATE")          # the database is locked for 3 s
        w.write(*mixed(100, 200))
        time.sleep(3)
        assert total_lines(engine) == 100           # nothing advanced while locked
        blocker.rollback()
        blocker.close()
        deadline = time.monotonic() + 20
        while total_lines(engine) < 300 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert_exactly_once(engine, w)


# --- D. copytruncate and files reached twice ---------------------------------------------

def test_copytruncate_with_the_copy_in_the_folder_reads_each_line_once(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 200))
    run_all(engine, log_dir, tail_grace_s=0.0)
    w.write(*mixed(200, 50))                     # not read yet when logrotate copies
    copy = log_dir / "sftpgo-2024-09-18T05-00-00.000.log"
    copy.write_bytes(w.live.read_bytes())
    run_all(engine, log_dir, tail_grace_s=0.0)   # the copy, next to the live file, is not re-read
    assert_exactly_once(engine, w)
    size = os.path.getsize(w.live)
    with open(w.live, "r+b") as f:               # ...then truncates the live file
        f.truncate(0)
    assert os.path.getsize(w.live) < size
    w.write(*mixed(1000, 30))
    run_all(engine, log_dir, tail_grace_s=0.0)
    assert_exactly_once(engine, w)


def test_a_hard_link_and_an_old_live_file_in_a_subfolder(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*mixed(0, 100))
    (log_dir / "links").mkdir()
    os.link(w.live, log_dir / "links" / "sftpgo-2024-01-01T00-00-00.000.log")
    old = LogWriter(log_dir / "old-server")      # another server's sftpgo.log, copied in
    old.write(*mixed(5000, 40))
    run_all(engine, log_dir)
    w.write(*mixed(100, 10))
    run_all(engine, log_dir)
    assert db_events(engine) == expected_events(w.written + old.written)
    assert total_lines(engine) == len(w.written) + len(old.written)


def test_odd_values_never_stop_a_file(engine, log_dir):
    w = LogWriter(log_dir)
    odd = [b'{"sender":[1],"time":"2024-09-18T03:00:00.000"}\n',
           b'{"level":"info","time":"2024-09-18T03:00:00.000","sender":"Upload",'
           b'"size_bytes":1e30,"username":"a","file_path":"/x"}\n',
           b'{"level":"info","time":"2024-09-18T03:00:00.000","sender":"Upload",'
           b'"size_bytes":18446744073709551616,"username":"a","file_path":"/x"}\n',
           b'{"level":"info","time":"2024-09-18T03:00:00.000","sender":"Download",'
           b'"size_bytes":1024.0,"username":"a","file_path":"/x"}\n',
           b'{"time":"2024-09-18T03:00:00.000","message":"User \\"z\\" logged in with \\"x\\""}\n']
    w.write(event_line(1), *odd, event_line(2))
    run_all(engine, log_dir)
    with engine.connect() as conn:
        kinds = sorted((r[0], r[1], r[2]) for r in conn.execute(sa.text(
            "SELECT kind, username, size_bytes FROM events")))
        reasons = [r[0] for r in conn.execute(sa.text("SELECT reason FROM malformed_lines"))]
    assert kinds == sorted([("upload", "alice", 1000), ("upload", "alice", 1000),
                            ("download", "a", 1024), ("login", "z", None)])
    assert sorted(reasons) == ["bad_size", "bad_size"]
    assert total_lines(engine) == 7 and scalar(engine, "SELECT SUM(malformed_count) FROM checkpoints") == 0


def test_over_long_torn_tail_of_a_rotated_file_drains(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(event_line(1))
    w.write_raw(b'{"level":"debug","message":"' + b"y" * 300_000)   # crashed mid-write
    backup = w.rotate()
    ing = ingester(engine, log_dir, max_line_bytes=100_000, tail_grace_s=0.0)
    ing.run_pass()
    p = ing.run_pass()
    assert p.bytes_pending == 0 and p.files_pending == 0
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT reason, start_offset, end_offset FROM malformed_lines")).one()
    assert row == ("torn_tail", len(event_line(1)), os.path.getsize(backup))
