"""daily_stats always equals the raw events grouped by day, kind and user (issue: scale)."""
from __future__ import annotations

import sqlalchemy as sa

from ingestion import rollups
from tests.ingestion.support import (LogWriter, ban_line, event_line, failure_line, gzip_file,
                                     noise_line, run_all, run_cli, scalar)


def busy_lines(start: int, n: int) -> list[bytes]:
    users = ["alice", "Alice", "alice ", "bob", "<img src=x onerror=alert(1)>"]
    out = []
    for i in range(start, start + n):
        if i % 5 == 0:
            out.append(noise_line(i))
        elif i % 7 == 3:            # failed logins and bans: the security rollups
            out.append(failure_line(i, user=users[i % 5], ip=["203.0.113.9", "", "2001:db8::9"][i % 3],
                                    method=["password", "publickey"][i % 2],
                                    protocol=None if i % 4 == 0 else "SSH", ms=i * 60_000))
        elif i % 13 == 4:
            out.append(ban_line(i, ip=["203.0.113.9", "198.51.100.1"][i % 2], ms=i * 60_000))
        else:
            out.append(event_line(i, user=users[(i // 2) % len(users)], size=i * 7,
                                  sender="Upload" if i % 2 else "Download",
                                  ms=i * 60_000, error="EOF" if i % 11 == 0 else None))
    return out


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
    env = {"SFTPGO_DASH_CRASH_AT": "after_insert_before_checkpoint",
           "SFTPGO_DASH_CRASH_AFTER_BATCHES": "3", "INGEST_BATCH_BYTES": "60000"}
    killed = run_cli("--log-dir", str(log_dir), "--db", db_url, "--quiet", env=env)
    assert killed.returncode == -9
    assert rollups.check(engine) == []
    assert 0 < scalar(engine, "SELECT COUNT(*) FROM events") < 4800
    assert run_cli("--log-dir", str(log_dir), "--db", db_url, "--quiet").returncode == 0
    assert rollups.check(engine) == []
    assert scalar(engine, "SELECT SUM(events) FROM daily_stats") == 4800


def test_check_rollups_catches_each_corrupted_security_rollup(engine, log_dir):
    """Every security rollup is checked: a cell off by one, a missing and an extra row are
    each reported with the rollup's name, and a rebuild repairs them."""
    from ingestion.store import SECURITY_ROLLUPS
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
