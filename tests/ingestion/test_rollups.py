"""daily_stats always equals the raw events grouped by day, kind and user (issue: scale)."""
from __future__ import annotations

import sqlalchemy as sa

from ingestion import rollups
from tests.support.ingest import (LogWriter, busy_lines, gzip_file, run_all, run_cli, scalar,
                                  user_lines)


def test_backfill_rotation_and_rebuild_keep_rollups_equal_to_events(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*busy_lines(0, 4000))
    gzip_file(w.rotate())
    w.write(*busy_lines(4000, 3000))
    run_all(engine, log_dir, batch_bytes=50_000)
    assert rollups.check(engine) == []
    w.rotate()
    w.write(*busy_lines(7000, 500))
    run_all(engine, log_dir)
    assert rollups.check(engine) == []
    assert scalar(engine, "SELECT COUNT(DISTINCT day) FROM daily_stats") > 5
    assert scalar(engine, "SELECT COUNT(DISTINCT username) FROM daily_stats"
                  " WHERE username <> ''") == 5
    before = scalar(engine, "SELECT SUM(events) FROM daily_stats")
    failures = scalar(engine, "SELECT SUM(events) FROM login_failures_ip_daily")
    assert failures == scalar(engine, "SELECT COUNT(*) FROM events WHERE kind = 'login_failed'") > 100
    assert scalar(engine, "SELECT SUM(events) FROM bans_daily") \
        == scalar(engine, "SELECT COUNT(*) FROM events WHERE kind = 'ban'") > 10
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM daily_stats WHERE kind = 'upload'"))
        conn.execute(sa.text("UPDATE login_failures_ip_daily SET last_ts = first_ts"))
        conn.execute(sa.text("DELETE FROM bans_daily WHERE ip = '198.51.100.1'"))
    diff = rollups.check(engine)
    assert {row[0] for row in diff} >= {"login_failures_ip_daily", "bans_daily"}
    rollups.rebuild(engine)
    assert rollups.check(engine) == []
    assert scalar(engine, "SELECT SUM(events) FROM daily_stats") == before
    assert scalar(engine, "SELECT SUM(events) FROM login_failures_ip_daily") == failures


def test_kill_in_the_middle_of_a_backfill_keeps_rollups_equal(db_url, engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*busy_lines(0, 6000))
    killed = run_cli("--log-dir", str(log_dir), "--db", db_url, "--quiet",
                     env={"INGEST_BATCH_BYTES": "60000"},
                     crash_at=("after_insert_before_checkpoint", 3))
    assert killed.returncode == -9
    assert rollups.check(engine) == []
    assert 0 < scalar(engine, "SELECT COUNT(*) FROM events") < 4800
    assert run_cli("--log-dir", str(log_dir), "--db", db_url, "--quiet").returncode == 0
    assert rollups.check(engine) == []
    assert scalar(engine, "SELECT SUM(events) FROM daily_stats") == 4800


def test_check_rollups_catches_each_corrupted_security_rollup(engine, log_dir):
    """Every security rollup is checked: a cell off by one, a missing and an extra row are
    each reported with the rollup's name, and a rebuild repairs them."""
    from ingestion.rollup_tables import SECURITY_ROLLUPS
    w = LogWriter(log_dir)
    w.write(*busy_lines(0, 3000))
    run_all(engine, log_dir, batch_bytes=40_000)
    assert rollups.check(engine) == []
    for r in SECURITY_ROLLUPS:
        key = " AND ".join(f"{k} = :{k}" for k in r.key)
        with engine.begin() as conn:
            row = conn.execute(sa.text(f"SELECT {', '.join(r.columns)} FROM {r.table}"
                                       " ORDER BY events DESC")).mappings().first()
            cell = {k: row[k] for k in r.key}
            conn.execute(sa.text(f"UPDATE {r.table} SET events = events + 1 WHERE {key}"), cell)
        assert [d[0] for d in rollups.check(engine)] == [r.table], r.table
        with engine.begin() as conn:
            conn.execute(sa.text(f"DELETE FROM {r.table} WHERE {key}"), cell)
        assert [d[0] for d in rollups.check(engine)] == [r.table], r.table
        with engine.begin() as conn:
            conn.execute(sa.text(f"INSERT INTO {r.table} ({', '.join(r.columns)}) VALUES"
                                 f" ({', '.join(':' + c for c in r.columns)})"),
                         {**dict(row), "events": 1})
        diff = rollups.check(engine)
        assert [d[0] for d in diff] == [r.table] and diff[0][-2][0] == 1, r.table
        rollups.rebuild(engine)
        assert rollups.check(engine) == []
    with engine.begin() as conn:       # the times too: first/last of a day x IP cell
        conn.execute(sa.text("UPDATE login_failures_ip_daily SET first_ts = last_ts"
                             " WHERE first_ts < last_ts"))
        conn.execute(sa.text("UPDATE login_failure_pairs SET last_day = first_day"
                             " WHERE first_day < last_day"))
    assert {d[0] for d in rollups.check(engine)} == {"login_failures_ip_daily",
                                                     "login_failure_pairs"}


def _table(engine, r) -> list[tuple]:
    with engine.connect() as conn:
        return sorted(tuple(str(v) for v in row) for row in conn.execute(sa.text(
            f"SELECT {', '.join(r.columns)} FROM {r.table}")))


def test_user_rollups_equal_a_rebuild_and_check_catches_a_corrupted_cell(engine, log_dir):
    """user_ips_daily and user_protocols_daily, kept batch by batch, equal what a rebuild
    computes from the events (and the events' own counts); a cell off by one, a missing and
    an extra row are each reported with the rollup's name; a rebuild repairs them."""
    from ingestion.rollup_tables import USER_ROLLUPS
    w = LogWriter(log_dir)
    w.write(*user_lines(900))
    gzip_file(w.rotate())
    w.write(*user_lines(600)[300:])
    run_all(engine, log_dir, batch_bytes=20_000)
    assert rollups.check(engine) == []
    assert scalar(engine, "SELECT SUM(events) FROM user_ips_daily") == scalar(
        engine, "SELECT COUNT(*) FROM events WHERE kind IN ('upload', 'download', 'file_op',"
                " 'login') AND remote_ip <> ''") > 300
    assert scalar(engine, "SELECT SUM(transfers) FROM user_protocols_daily") == scalar(
        engine, "SELECT COUNT(*) FROM events WHERE kind IN ('upload', 'download')") > 300
    assert scalar(engine, "SELECT SUM(bytes) FROM user_protocols_daily") == scalar(
        engine, "SELECT SUM(size_bytes) FROM events WHERE kind IN ('upload', 'download')")
    assert scalar(engine, "SELECT COUNT(*) FROM user_protocols_daily WHERE protocol = ''") > 0
    kept = {r.table: _table(engine, r) for r in USER_ROLLUPS}
    rollups.rebuild(engine)
    assert {r.table: _table(engine, r) for r in USER_ROLLUPS} == kept
    for r in USER_ROLLUPS:
        value = r.values[0]
        key = " AND ".join(f"{k} = :{k}" for k in r.key)
        with engine.begin() as conn:
            row = conn.execute(sa.text(f"SELECT {', '.join(r.columns)} FROM {r.table}"
                                       f" ORDER BY {value} DESC")).mappings().first()
            cell = {k: row[k] for k in r.key}
            conn.execute(sa.text(f"UPDATE {r.table} SET {value} = {value} + 1 WHERE {key}"),
                         cell)
        assert [d[0] for d in rollups.check(engine)] == [r.table], r.table
        with engine.begin() as conn:
            conn.execute(sa.text(f"DELETE FROM {r.table} WHERE {key}"), cell)
        assert [d[0] for d in rollups.check(engine)] == [r.table], r.table
        with engine.begin() as conn:
            conn.execute(sa.text(f"INSERT INTO {r.table} ({', '.join(r.columns)}) VALUES"
                                 f" ({', '.join(':' + c for c in r.columns)})"),
                         {**dict(row), "username": "nobody"})
        assert [d[0] for d in rollups.check(engine)] == [r.table, r.table], r.table
        rollups.rebuild(engine)
        assert rollups.check(engine) == []
    assert {r.table: _table(engine, r) for r in USER_ROLLUPS} == kept


def test_events_rare_mirrors_the_rare_events_and_check_and_rebuild_cover_it(mariadb_url,
                                                                             log_dir):
    """MariaDB: events_rare (migration 013) holds exactly the failed and non-transfer events'
    keys after a backfill with rotations; a missing, a wrong and an extra row are each
    reported as events_rare by --check-rollups, and a rebuild repairs them."""
    import db
    from tests.support.ingest import rare_mismatch
    engine = db.make_engine(mariadb_url)
    db.migrate(engine)
    w = LogWriter(log_dir)
    w.write(*busy_lines(0, 700))
    gzip_file(w.rotate())
    w.write(*busy_lines(700, 500))
    run_all(engine, log_dir, batch_bytes=20_000)
    assert rare_mismatch(engine) == [] and rollups.check(engine) == []
    rare = scalar(engine, "SELECT COUNT(*) FROM events_rare")
    assert rare == scalar(engine, "SELECT COUNT(*) FROM events WHERE failed = 1"
                                  " OR kind NOT IN ('upload', 'download')") > 100
    assert scalar(engine, "SELECT COUNT(*) FROM events_rare WHERE failed_ts IS NOT NULL"
                          " AND rare_kind IS NULL") > 10          # failed transfers
    with engine.begin() as conn:
        first, second = conn.execute(sa.text(
            "SELECT file_id, start_offset FROM events_rare ORDER BY file_id, start_offset"
            " LIMIT 2")).all()
        conn.execute(sa.text("DELETE FROM events_rare WHERE file_id = :f AND start_offset = :o"),
                     {"f": first[0], "o": first[1]})
        conn.execute(sa.text("UPDATE events_rare SET rare_kind = 'upload' WHERE file_id = :f"
                             " AND start_offset = :o"), {"f": second[0], "o": second[1]})
        transfer = conn.execute(sa.text(
            "SELECT file_id, start_offset, ts FROM events WHERE failed = 0 AND kind = 'upload'"
            " LIMIT 1")).one()
        conn.execute(sa.text("INSERT INTO events_rare (file_id, start_offset, failed_ts)"
                             " VALUES (:f, :o, :ts)"), {"f": transfer[0], "o": transfer[1],
                                                       "ts": transfer[2]})
    diff = rollups.check(engine)
    assert sorted((d[0], d[1], d[2]) for d in diff) == sorted(
        ("events_rare", int(k[0]), int(k[1])) for k in (first, second, transfer))
    assert len(rare_mismatch(engine)) == 4       # missing, wrong (missing + extra), extra
    rollups.rebuild(engine)
    assert rollups.check(engine) == [] and rare_mismatch(engine) == []
    assert scalar(engine, "SELECT COUNT(*) FROM events_rare") == rare
    engine.dispose()
