"""Backlog mode (ingestion/backlog.py, docs/database.md#backlog-mode), on both backends.

A real `ingest.py` is killed with SIGKILL at each seam of a backlog (during the load, between
the load and the build, during the build: before and after an index's commit); the database
it leaves is then looked at (which indexes are missing, which are marked), and the next start
must leave every line stored exactly once, every rollup equal to the events, and every index
there. On MariaDB a backlog never drops an index: the same kills find them all in place.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

import db
import db_locks
from ingestion import backlog
from tests.support.ingest import (LogWriter, ban_line, db_events, event_line, expected_events,
                                  failure_line, ingester, noise_line, rare_mismatch, run_cli,
                                  total_lines)

SECONDARY = {"ix_events_ts", "ix_events_user", "ix_events_ip", "ix_events_failed",
             "ix_events_kind"}              # SQLite's; a backlog drops backlog.DEFERRABLE's
DEFERRED = set(backlog.DEFERRABLE)
KEPT = SECONDARY - DEFERRED
BACKLOG = {"INGEST_BACKLOG_BYTES": "100000", "INGEST_BATCH_BYTES": "200000"}


def lines(start: int, n: int) -> list[bytes]:
    """A backlog's lines: transfers of several users, failed logins, bans and noise."""
    out = []
    for i in range(start, start + n):
        r = i % 10
        if r < 6:
            out.append(event_line(i, user=f"u{i % 7}", error="EOF" if i % 13 == 0 else None))
        elif r < 8:
            out.append(failure_line(i, user=f"x{i % 5}", ip=f"203.0.113.{i % 9}"))
        elif r == 8:
            out.append(ban_line(i, ip=f"198.51.100.{i % 4}"))
        else:
            out.append(noise_line(i))
    return out


def write_backlog(log_dir) -> LogWriter:
    """About 2.4 MB in two files: a rotated backup and the live file."""
    w = LogWriter(log_dir)
    w.write(*lines(0, 6000))
    w.rotate()
    w.write(*lines(6000, 4000))
    return w


def indexes(engine) -> set[str]:
    """Returns the secondary indexes of events present (on MariaDB: its own names)."""
    with engine.connect() as conn:
        return {ix["name"] for ix in sa.inspect(conn).get_indexes("events")} & SECONDARY


def marked(engine) -> set[str]:
    with engine.connect() as conn:
        return {name for name, _node, _since in backlog.deferred(conn)}


def expected_indexes(engine) -> set[str]:
    """SQLite: all five; MariaDB: ix_events_ts, _user, _ip (the rare ones are events_rare's)."""
    return SECONDARY if engine.dialect.name == "sqlite" else \
        {"ix_events_ts", "ix_events_user", "ix_events_ip"}


def assert_whole(engine, w: LogWriter) -> None:
    """Every line once, the rollups equal to the events, every index there, none marked."""
    assert db_events(engine) == expected_events(w.written)
    assert total_lines(engine) == len(w.written)
    assert rare_mismatch(engine) == []
    assert indexes(engine) == expected_indexes(engine)
    assert marked(engine) == set()
    check = run_cli("--db", str(engine.url.render_as_string(hide_password=False)),
                    "--check-rollups")
    assert check.returncode == 0, check.stdout + check.stderr


def url_of(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


# (seam, batches committed first, what the kill leaves on SQLite: indexes built, marked)
SEAM_CASES = [
    ("after_commit", 3, "none built"),                # during the load
    ("after_insert_before_checkpoint", 2, "none built"),
    ("backlog_loaded", 0, "none built"),             # between the load and the build
    ("index_built", 0, "none built"),                # during the build: before its commit
    ("index_committed", 0, "one built"),             # during the build: after one committed
]


@pytest.mark.parametrize("point,after,left", SEAM_CASES, ids=[c[0] for c in SEAM_CASES])
def test_kill_at_each_seam_of_a_backlog_then_a_start_makes_it_whole(db_url, engine, log_dir,
                                                                  point, after, left):
    w = write_backlog(log_dir)
    killed = run_cli("--log-dir", str(log_dir), "--db", db_url, "--quiet", env=BACKLOG,
                     crash_at=(point, after))
    if engine.dialect.name == "sqlite":
        assert killed.returncode == -9, killed.stderr
        present, marks = indexes(engine), marked(engine)
        assert present | marks == SECONDARY and not present & marks and marks <= DEFERRED
        assert len(present - KEPT) == (1 if left == "one built" else 0), present
        # the rollups are exact at the commit the kill left, indexes or not
        check = run_cli("--db", db_url, "--check-rollups")
        assert check.returncode == 0, check.stdout + check.stderr
        # that start (db.migrate) built the marked indexes: no pass of the node was under way
        assert indexes(engine) == SECONDARY and marked(engine) == set()
    else:
        # MariaDB: a kill during the load is a kill; the build's seams are never reached
        during_load = point in ("after_commit", "after_insert_before_checkpoint")
        assert killed.returncode == (-9 if during_load else 0), killed.stderr
        assert indexes(engine) == expected_indexes(engine) and marked(engine) == set()
    done = run_cli("--log-dir", str(log_dir), "--db", db_url, "--quiet", env=BACKLOG)
    assert done.returncode == 0, done.stderr
    assert_whole(engine, w)


def test_kill_during_the_load_and_the_next_run_finishes_the_backlog(sqlite_url, log_dir):
    """The restart repairs the indexes, finds the rest still a backlog, defers again and
    builds once at its end."""
    w = write_backlog(log_dir)
    assert run_cli("--log-dir", str(log_dir), "--db", sqlite_url, "--quiet", env=BACKLOG,
                   crash_at=("after_commit", 1)).returncode == -9
    engine = db.make_engine(sqlite_url)
    assert indexes(engine) == KEPT and marked(engine) == DEFERRED
    # the second run is killed between its load and its build: its backlog was real
    again = run_cli("--log-dir", str(log_dir), "--db", sqlite_url, "--quiet", env=BACKLOG,
                    crash_at=("backlog_loaded", 0))
    assert again.returncode == -9
    assert db_events(engine) == expected_events(w.written)
    assert indexes(engine) == KEPT and marked(engine) == DEFERRED
    db.migrate(engine)
    assert_whole(engine, w)


def test_a_start_leaves_a_backlog_whose_pass_is_under_way_alone(sqlite_url, log_dir):
    write_backlog(log_dir)
    assert run_cli("--log-dir", str(log_dir), "--db", sqlite_url, "--quiet", env=BACKLOG,
                   crash_at=("backlog_loaded", 0)).returncode == -9
    engine = db.make_engine(sqlite_url)
    with engine.connect() as conn:
        (node,) = {n for _i, n, _s in backlog.deferred(conn)}
    with db_locks.exclusive(engine, db_locks.ingest_lock(node), wait=False):  # its pass, as it were
        assert db.repair_deferred_indexes(engine) == 0
        assert indexes(engine) == KEPT and marked(engine) == DEFERRED
    assert db.repair_deferred_indexes(engine) == len(DEFERRED)
    assert indexes(engine) == SECONDARY and marked(engine) == set()


def test_no_backlog_mode_under_the_threshold_or_on_a_larger_database(engine, log_dir):
    """A pass defers only with more than INGEST_BACKLOG_BYTES to read and at least as much
    as is stored; 0 turns it off. Watched through the seam it calls when it drops them."""
    started = []
    seam = started.append
    w = LogWriter(log_dir)
    w.write(*lines(0, 2000))                          # ~480 KB
    for threshold in (0, 10_000_000):                 # off; more than there is
        ing = ingester(engine, log_dir, seam=seam, backlog_bytes=threshold)
        ing.run_pass(max_bytes=100_000)
        ing.close()
    assert "backlog_started" not in started
    ing = ingester(engine, log_dir, seam=seam, backlog_bytes=50_000)
    ing.run_until_done()
    ing.close()
    assert ("backlog_started" in started) == (engine.dialect.name == "sqlite")
    # now ~480 KB stored: a 240 KB backlog is over the threshold but under what is stored
    started.clear()
    w.write(*lines(2000, 1000))
    ing = ingester(engine, log_dir, seam=seam, backlog_bytes=50_000)
    ing.run_until_done()
    ing.close()
    assert "backlog_started" not in started
    assert db_events(engine) == expected_events(w.written)
    assert indexes(engine) == expected_indexes(engine) and marked(engine) == set()


def test_ticks_keep_deferring_until_the_backlog_is_small_then_build(sqlite_url, log_dir):
    """Dashboard-like bounded passes: the backlog spans several of them (the marker in the
    database, not the process, says so), and the pass that leaves less than the threshold
    builds the indexes; the alert rules wait for them."""
    w = write_backlog(log_dir)
    engine = db.make_engine(sqlite_url)
    db.migrate(engine)
    seen = []
    for _ in range(40):
        ing = ingester(engine, log_dir, backlog_bytes=600_000, batch_bytes=100_000)
        p = ing.run_pass(max_bytes=400_000)        # a new process each tick, as it were
        ing.close()
        seen.append((len(indexes(engine)), p.bytes_pending, ing.alerts.last is not None))
        if p.complete:
            break
    deferred_ticks = [pending for n, pending, _j in seen if n == len(KEPT)]
    assert len(deferred_ticks) >= 3, seen           # several ticks without the indexes
    assert min(deferred_ticks) >= 600_000           # ... while the backlog was large
    assert seen[-1][0] == 5
    # the alert rules, whose reads walk those indexes, are judged only once they are back
    assert [judged for n, _p, judged in seen] == [n == 5 for n, _p, _j in seen], seen
    assert db_events(engine) == expected_events(w.written)
    assert_whole(engine, w)


def test_pages_read_the_same_answers_during_a_backlog(sqlite_url, log_dir):
    """The raw-event answers (/api/events by every index's filter, a user's page) and the
    rollups' (/api/stats, /api/security) are the same with the indexes dropped as with them
    built."""
    from tests.support.dashboard import client_for
    write_backlog(log_dir)
    assert run_cli("--log-dir", str(log_dir), "--db", sqlite_url, "--quiet", env=BACKLOG,
                   crash_at=("backlog_loaded", 0)).returncode == -9
    engine = db.make_engine(sqlite_url)
    assert indexes(engine) == KEPT
    span = "start=2024-09-18&end=2024-09-18"
    urls = [f"/api/events?{span}&limit=500", f"/api/events?{span}&limit=50&user=u3",
            f"/api/events?{span}&limit=50&ip=203.0.113.4", f"/api/events?{span}&failed=1",
            f"/api/events?{span}&kind=ban&limit=40", f"/api/events?{span}&kind=login_failed",
            f"/api/users/u2?{span}", f"/api/stats?{span}", f"/api/security?{span}"]

    def answers():
        client = client_for(sqlite_url, log_dir)
        out = {}
        for u in urls:
            r = client.get(u)
            assert r.status_code == 200, (u, r.get_data(as_text=True)[:300])
            out[u] = r.get_json()
        return out

    with engine.connect() as conn:
        (node,) = {n for _i, n, _s in backlog.deferred(conn)}
    with db_locks.exclusive(engine, db_locks.ingest_lock(node), wait=False):   # its pass goes on
        during = answers()
        assert indexes(engine) == KEPT, "the app's start built the indexes of a live backlog"
    db.repair_deferred_indexes(engine)
    assert indexes(engine) == SECONDARY
    after = answers()
    for u in urls:
        assert during[u] == after[u], u
    assert len(during[urls[0]]["events"]) == 500
    assert during[urls[3]]["events"] and during[urls[4]]["events"]

