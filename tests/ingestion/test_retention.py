"""Retention (issue 12, part 3): old raw events go, in bounded batches; rollups, checkpoints,
files and malformed lines stay; pruning while ingesting loses and re-reads nothing."""
from __future__ import annotations

import math
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

import db
from ingestion import retention, rollups
from ingestion.follow import follow
from tests.support.ingest import (LogWriter, _T0, ban_line, db_events, event_line, expected_events,
                                  failure_line, gzip_file,
                                  ingester, noise_line,
                                  rare_mismatch, run_all,
                                  run_cli, scalar, total_lines)

STEP_MS = 15 * 60_000                   # a line every 15 minutes: 96 lines a day
CUT = date(2024, 9, 25)                 # the tests' cutoff: 2024-09-18..24 go, 25.. stay


def lines(start: int, n: int, t0: datetime = _T0, step_ms: int = STEP_MS) -> list[bytes]:
    """Returns n lines from line number ``start`` on, one every ``step_ms`` after ``t0``: transfers
    of three users, failed logins, bans, debug noise and now and then a malformed line."""
    base = int((t0 - _T0).total_seconds() * 1000)
    out = []
    for i in range(start, start + n):
        ms = base + i * step_ms
        if i % 10 == 0:
            out.append(noise_line(i))
        elif i % 97 == 5:
            out.append(b"not json at all %d\n" % i)
        elif i % 7 == 3:
            out.append(failure_line(i, user=["admin", "root", ""][i % 3], ms=ms))
        elif i % 13 == 4:
            out.append(ban_line(i, ms=ms))
        else:
            out.append(event_line(i, user=["alice", "bob", "Alice"][i % 3], size=i * 3,
                                  sender="Upload" if i % 2 else "Download", ms=ms))
    return out


def kept(expected: Counter, cutoff: date) -> Counter:
    """Returns the events of days from ``cutoff`` on."""
    return Counter({k: v for k, v in expected.items() if k[0][:10] >= cutoff.isoformat()})


TABLES = {"daily_stats": "day, kind, username, node", "bans_daily": "day, ip, node",
          "login_failures_ip_daily": "day, ip, node",
          "login_failures_user_daily": "day, username, node",
          "login_failures_method_daily": "day, method, protocol, node",
          "login_failure_pairs": "ip, username, node",
          "login_failure_pair_days": "ip, username, day, node",
          "checkpoints": "file_id", "log_files": "id", "malformed_lines": "file_id, start_offset"}


def snapshot(engine) -> dict:
    """Returns every row of the tables pruning must not touch."""
    with engine.connect() as conn:
        return {t: [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {t} ORDER BY {k}"))]
                for t, k in TABLES.items()}


def written(engine, log_dir, n=1600) -> LogWriter:
    """Writes n lines (about 17 days) into a gzipped backup and the live file; ingests them."""
    w = LogWriter(log_dir)
    w.write(*lines(0, n // 2))
    gzip_file(w.rotate())
    w.write(*lines(n // 2, n - n // 2))
    cut_ms = int((datetime.combine(CUT, datetime.min.time()) - _T0).total_seconds() * 1000)
    w.write(event_line(90_001, user="edge", ms=cut_ms - 1),   # the last millisecond dropped
            event_line(90_002, user="edge", ms=cut_ms))       # the first kept
    run_all(engine, log_dir)
    return w


def test_prune_drops_exactly_the_events_before_the_cutoff_and_nothing_else(engine, log_dir):
    w = written(engine, log_dir)
    expected = expected_events(w.written)
    assert db_events(engine) == expected
    before = snapshot(engine)
    assert before["malformed_lines"] and before["bans_daily"] and before["login_failure_pairs"]
    due = sum(expected.values()) - sum(kept(expected, CUT).values())
    with engine.connect() as conn:
        assert retention.due(conn, CUT) == due > 500

    done = retention.prune(engine, CUT, batch_rows=200)

    assert (done.deleted, done.batches, done.done) == (due, math.ceil(due / 200), True)
    assert db_events(engine) == kept(expected, CUT)
    assert rare_mismatch(engine) == []                 # MariaDB: their rare keys went too
    assert scalar(engine, "SELECT COUNT(*) FROM events WHERE username = 'edge'") == 1
    assert snapshot(engine) == before                  # rollups, files, checkpoints, malformed
    with engine.connect() as conn:
        assert retention.pruned_before(conn) == CUT
    assert scalar(engine, "SELECT events_pruned FROM events_retention") == due
    assert rollups.check(engine) == []
    assert run_all(engine, log_dir).lines == 0        # nothing is read again
    assert retention.prune(engine, CUT).deleted == 0
    assert retention.prune(engine, CUT - timedelta(days=3)).deleted == 0
    with engine.connect() as conn:                     # an earlier cut never lowers the mark
        assert retention.pruned_before(conn) == CUT


def test_a_prune_scoped_to_some_files_leaves_the_others_alone(engine, log_dir):
    w = written(engine, log_dir)
    late = date(2024, 9, 30)
    backup, live = (scalar(engine, f"SELECT file_id FROM events ORDER BY ts {o} LIMIT 1")
                    for o in ("ASC", "DESC"))
    assert backup != live
    before = {f: scalar(engine, "SELECT COUNT(*) FROM events WHERE file_id = :f", f=f)
              for f in (backup, live)}
    old_live = scalar(engine, "SELECT COUNT(*) FROM events WHERE file_id = :f AND ts < :t",
                      f=live, t="2024-09-30 00:00:00.000")
    assert old_live > 0
    done = retention.prune(engine, late, file_ids=[backup])
    assert done.deleted == before[backup]              # the backup ends on 2024-09-26
    assert scalar(engine, "SELECT COUNT(*) FROM events WHERE file_id = :f", f=live) == before[live]
    assert retention.prune(engine, late, file_ids=[]).deleted == 0
    retention.prune(engine, late, file_ids=[live])
    assert db_events(engine) == kept(expected_events(w.written), late)


def test_batches_are_bounded_transactions_deleting_by_key(engine, log_dir):
    written(engine, log_dir)
    deletes: list[tuple[str, int]] = []

    def after(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("DELETE FROM EVENTS "):   # not events_rare
            deletes.append((statement, cursor.rowcount))
    per_batch: list[int] = []

    def seam(name):
        if name == "prune_deleted":                    # inside the batch's transaction
            per_batch.append(sum(n for _, n in deletes) - sum(per_batch))
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        first = retention.prune(engine, CUT, batch_rows=150, max_rows=400, seam=seam)
        assert (first.deleted, first.batches, first.done) == (400, 3, False)
        assert per_batch == [150, 150, 100]
        rest = retention.prune(engine, CUT, batch_rows=150, seam=seam)
    finally:
        sa.event.remove(engine, "after_cursor_execute", after)
    assert rest.done and max(per_batch) == 150 and len(per_batch) == 3 + rest.batches
    assert sum(per_batch) == 400 + rest.deleted
    assert deletes and all("file_id = " in s and ("start_offset IN" in s or "start_offset = " in s)
               and "ts <" not in s for s, _ in deletes)


def test_a_prune_batch_locks_rows_not_the_table(mariadb_url, log_dir):
    """MariaDB: while a prune batch is uncommitted, another connection stores new events
    (in the same file, and an old one in another) without waiting for it."""
    engine = db.make_engine(mariadb_url)
    db.migrate(engine)
    written(engine, log_dir)
    other = sa.create_engine(mariadb_url, poolclass=sa.pool.NullPool)
    live = scalar(engine, "SELECT file_id FROM events ORDER BY ts DESC LIMIT 1")
    end = scalar(engine, "SELECT MAX(end_offset) FROM events WHERE file_id = :f", f=live)
    stored = []

    def seam(name):
        if name != "prune_deleted" or stored:
            return
        with other.begin() as conn:
            conn.exec_driver_sql("SET SESSION innodb_lock_wait_timeout = 1")
            for f, off, ts in ((live, end + 10, "2024-10-20 10:00:00.000"),
                               (live + 100, 0, "2024-09-18 03:00:00.000")):
                conn.execute(sa.text(
                    "INSERT INTO events (file_id, start_offset, end_offset, ts, day, kind,"
                    " username, failed, action) VALUES (:f, :o, :o + 5, :ts, :d, 'login', 'x',"
                    " 0, 'login')"), {"f": f, "o": off, "ts": ts, "d": ts[:10]})
                # as an ingester stores it: its key in events_rare too (migration 013)
                conn.execute(sa.text(
                    "INSERT INTO events_rare (file_id, start_offset, rare_kind, rare_ts)"
                    " VALUES (:f, :o, 'login', :ts)"), {"f": f, "o": off, "ts": ts})
        stored.append(True)
    try:
        assert retention.prune(engine, CUT, batch_rows=300, seam=seam).deleted > 300
    finally:
        other.dispose()
    assert stored
    # the old row stored during the first batch went in a later one (or waits for the next run)
    assert scalar(engine, "SELECT COUNT(*) FROM events WHERE ts < '2024-09-25'") <= 1
    assert rare_mismatch(engine) == []


def test_pruning_a_transfer_after_the_last_rare_key_never_holds_up_a_new_rare_one(
        mariadb_url, log_dir):
    """MariaDB: a due transfer has no events_rare key. Deleting its key there anyway would
    lock the gap after the last rare key, where the live file's next rare event goes; the
    pruner deletes only keys events_rare holds, so that insert does not wait."""
    engine = db.make_engine(mariadb_url)
    db.migrate(engine)
    w = LogWriter(log_dir)
    day = 60 * 60_000 * 24
    w.write(failure_line(1, ms=0),                                     # the last rare key
            *(event_line(i, ms=i * 1000) for i in range(2, 40)))       # then due transfers
    w.rotate()
    late = int((datetime.combine(CUT, datetime.min.time()) - _T0).total_seconds() * 1000)
    w.write(*(event_line(i, ms=late + day + i) for i in range(40, 60)))   # kept transfers
    run_all(engine, log_dir)
    live = scalar(engine, "SELECT MAX(file_id) FROM events")
    end = scalar(engine, "SELECT MAX(end_offset) FROM events WHERE file_id = :f", f=live)
    assert scalar(engine, "SELECT COUNT(*) FROM events_rare") == 1
    other = sa.create_engine(mariadb_url, poolclass=sa.pool.NullPool)
    stored = []

    def seam(name):
        if name != "prune_deleted" or stored:
            return
        ts = f"{CUT + timedelta(days=2)} 10:00:00.000"
        with other.begin() as conn:           # an ingester's rare event, during the prune
            conn.exec_driver_sql("SET SESSION innodb_lock_wait_timeout = 1")
            conn.execute(sa.text(
                "INSERT INTO events (file_id, start_offset, end_offset, ts, day, kind,"
                " username, failed, action) VALUES (:f, :o, :o + 5, :ts, :d, 'login', 'x',"
                " 0, 'login')"), {"f": live, "o": end + 10, "ts": ts, "d": ts[:10]})
            conn.execute(sa.text(
                "INSERT INTO events_rare (file_id, start_offset, rare_kind, rare_ts)"
                " VALUES (:f, :o, 'login', :ts)"), {"f": live, "o": end + 10, "ts": ts})
        stored.append(True)
    try:
        assert retention.prune(engine, CUT, seam=seam).deleted == 39
    finally:
        other.dispose()
    assert stored
    assert rare_mismatch(engine) == []
    assert scalar(engine, "SELECT COUNT(*) FROM events_rare") == 1   # the new one
    engine.dispose()


def test_passes_prune_as_they_go_within_their_budget(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*lines(0, 1600))
    ing = ingester(engine, log_dir, events_retention_days=7)
    ing.pruner.today = lambda: date(2024, 10, 2)          # cut: 2024-09-25
    ing.pruner.max_rows = 250
    try:
        first = ing.run_pass()
        assert first.lines == 1600 and first.pruned == 250
        passes = 1
        while _due(engine):
            prog = ing.run_pass()
            passes += 1
            assert prog.lines == 0 and 0 < prog.pruned <= 250
        assert passes > 2
        assert ing.run_pass().pruned == 0
    finally:
        ing.close()
    assert db_events(engine) == kept(expected_events(w.written), CUT)
    assert rollups.check(engine) == []


def _due(engine) -> int:
    with engine.connect() as conn:
        return retention.due(conn, CUT)


def test_passes_keep_everything_by_default(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*lines(0, 400))
    prog = run_all(engine, log_dir)
    assert prog.pruned == 0 and db_events(engine) == expected_events(w.written)


def test_check_and_rebuild_cover_the_kept_days_only(engine, log_dir):
    written(engine, log_dir)
    retention.prune(engine, CUT)
    pruned_days = snapshot(engine)
    with engine.begin() as conn:             # a wrong cell on a kept day is still found
        conn.execute(sa.text("UPDATE daily_stats SET events = events + 1 WHERE day = '2024-09-26'"
                             " AND kind = 'upload'"))
        conn.execute(sa.text("UPDATE bans_daily SET events = events + 5 WHERE day = '2024-09-27'"))
    diff = rollups.check(engine)
    assert diff and {str(r[0])[:10] for r in diff
                     if r[0] not in ("bans_daily", "stats_totals")} == {"2024-09-26"}
    assert any(r[0] == "bans_daily" for r in diff)
    # the all-time totals no longer add up to the edited days: their upload cells differ
    assert {r[1] for r in diff if r[0] == "stats_totals"} == {"upload"}
    rollups.rebuild(engine)
    assert rollups.check(engine) == []
    assert snapshot(engine) == pruned_days   # the pruned days' rollups were kept as they were


def test_kill_9_in_the_middle_of_a_prune_leaves_whole_batches(db_url, engine, log_dir):
    """A real SIGKILL inside the third batch's transaction: two batches stay done, the third
    is rolled back; nothing is read again; the next --prune finishes."""
    t0 = datetime.combine(date.today() - timedelta(days=30), datetime.min.time())
    w = LogWriter(log_dir)
    w.write(*lines(0, 9000, t0, 240_000))     # 25 days, 360 lines a day
    gzip_file(w.rotate())
    w.write(*lines(9000, 1000, t0, 240_000))  # 3 more days, to 2 days ago
    run_all(engine, log_dir)
    cutoff = date.today() - timedelta(days=4)
    expected = expected_events(w.written)
    due = sum(expected.values()) - sum(kept(expected, cutoff).values())
    assert due > 3 * retention.BATCH_ROWS
    before = snapshot(engine)
    killed = run_cli("--db", db_url, "--prune", "--events-retention-days", "4",
                     crash_at=("prune_deleted", 2))
    assert killed.returncode == -9, killed.stderr
    assert sum(db_events(engine).values()) == sum(expected.values()) - 2 * retention.BATCH_ROWS
    assert kept(db_events(engine), cutoff) == kept(expected, cutoff)
    assert snapshot(engine) == before and rollups.check(engine) == []
    again = run_cli("--log-dir", str(log_dir), "--db", db_url, "--quiet")
    assert again.returncode == 0 and total_lines(engine) == len(w.written)
    assert "lines=0" in run_cli("--log-dir", str(log_dir), "--db", db_url).stdout
    done = run_cli("--db", db_url, "--prune", "--events-retention-days", "4")
    assert done.returncode == 0, done.stderr
    assert f"pruned={due - 2 * retention.BATCH_ROWS} " in done.stdout
    assert db_events(engine) == kept(expected, cutoff)
    assert snapshot(engine) == before and rollups.check(engine) == []


def test_prune_needs_a_retention(db_url, engine):
    done = run_cli("--db", db_url, "--prune")
    assert done.returncode == 2
    assert "--prune needs a retention" in done.stderr


def test_pruning_while_ingesting_loses_nothing_kept_and_reads_nothing_twice(engine, log_dir):
    """A writer appends and rotates (gzipping backups), an ingester follows, a pruner
    prunes in a loop, all at once. Afterwards: the kept days equal the reference, every
    line was read once, the rollups count every line ever written."""
    w = LogWriter(log_dir)
    stop_ingest, stop_prune = threading.Event(), threading.Event()
    errors, pruned = [], []

    def tail():
        ing = ingester(engine, log_dir, batch_bytes=40_000)
        try:
            follow(ing, stop_ingest.is_set, idle_max_s=0.05)
        except BaseException as exc:      # pragma: no cover - reported below
            errors.append(exc)
        finally:
            ing.close()

    def prune():
        try:
            while not stop_prune.is_set():
                pruned.append(retention.prune(engine, CUT, batch_rows=100).deleted)
                time.sleep(0.01)
        except BaseException as exc:      # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=tail), threading.Thread(target=prune)]
    for t in threads:
        t.start()
    try:
        n = 0
        for chunk in range(12):           # 2400 lines, 25 days, across the cut
            w.write(*lines(n, 200))
            n += 200
            if chunk % 3 == 2:
                backup = w.rotate()
                if chunk % 2:
                    time.sleep(0.1)
                    gzip_file(backup)
            time.sleep(0.05)
        deadline = time.monotonic() + 120
        while total_lines(engine) < len(w.written) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop_ingest.set()
        threads[0].join()
        stop_prune.set()
        threads[1].join()
    assert errors == []
    assert total_lines(engine) == len(w.written)
    assert sum(pruned) > 0
    retention.prune(engine, CUT)                     # what the ingester stored last
    expected = expected_events(w.written)
    assert db_events(engine) == kept(expected, CUT)
    assert scalar(engine, "SELECT SUM(events) FROM daily_stats") == sum(expected.values())
    assert scalar(engine, "SELECT COALESCE(SUM(bytes_lost), 0) FROM log_files") == 0
    assert scalar(engine, "SELECT SUM(event_count) FROM checkpoints") == sum(expected.values())
    assert rollups.check(engine) == []
    assert run_all(engine, log_dir).lines == 0
    assert db_events(engine) == kept(expected, CUT)


@pytest.mark.parametrize("days,today,cut", [(0, date(2024, 9, 30), None),
                                            (30, date(2024, 9, 30), date(2024, 8, 31)),
                                            (1, date(2024, 3, 1), date(2024, 2, 29))])
def test_the_cutoff_keeps_days_more_than_n_days_old_out(days, today, cut):
    assert retention.cutoff_day(days, today) == cut
