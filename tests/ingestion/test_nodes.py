"""Nodes: several SFTPGo nodes' folders ingested into one database (issue #12).

Each node's pass sees, judges and locks only its own files; the same bytes in two nodes'
folders are two nodes' lines; a database from before nodes becomes the upgrading node's; an
emptied (unmounted) folder releases nothing. Both backends (SQLite: the nodes one after the
other into one file; MariaDB: the same, the concurrent case is test_cluster.py).
"""
from __future__ import annotations

import shutil
from collections import Counter

import pytest
import sqlalchemy as sa

import db
import db_locks
from ingestion import increments, rollups, sqlgen
from tests.support.ingest import (LogWriter, db_events, event_line, expected_events, failure_line,
                                  gzip_file, ingester,
                                  node_events, noise_line,
                                  run_all, scalar)


def lines(start: int, n: int, user: str = "alice") -> list[bytes]:
    out = []
    for i in range(start, start + n):
        out.append(noise_line(i) if i % 4 == 0 else event_line(i, user=user))
    return out


def test_same_bytes_in_two_nodes_folders_are_two_nodes_lines(engine, tmp_path):
    a, b = LogWriter(tmp_path / "a"), LogWriter(tmp_path / "b")
    same = lines(0, 40)
    a.write(*same)
    b.write(*same)                               # byte for byte the same file
    run_all(engine, a.dir, node="node-a")
    run_all(engine, b.dir, node="node-b")
    assert node_events(engine, "node-a") == expected_events(same)
    assert node_events(engine, "node-b") == expected_events(same)
    assert db_events(engine) == expected_events(same + same)
    assert scalar(engine, "SELECT COUNT(*) FROM log_files") == 2
    run_all(engine, a.dir, node="node-a")    # read again: nothing new for either
    run_all(engine, b.dir, node="node-b")
    assert db_events(engine) == expected_events(same + same)
    assert rollups.check(engine) == []


def test_one_folder_under_two_node_names_is_read_once(engine, tmp_path, caplog):
    """One folder ingested as node-a, then (SFTPGO_NODE unset, a renamed host) as node-b:
    node-b reads nothing, says whose the files are, and starts no file of the folder, not
    even a new live file after a rotation; node-a reads on. The same inode and head as
    another node's generation is the same physical file (a copy is another inode)."""
    from dashboard import queries
    a = LogWriter(tmp_path / "a")
    a.write(*lines(0, 20))
    gzip_file(a.rotate())
    a.write(*lines(20, 20))
    a.rotate()
    a.write(*lines(40, 15))
    run_all(engine, a.dir, node="node-a")
    assert db_events(engine) == expected_events(a.written)
    b = ingester(engine, a.dir, node="node-b")
    try:
        with caplog.at_level("ERROR", logger="ingestion.tracker"):
            for _ in range(3):
                prog = b.run_pass()
                assert not prog.busy and prog.lines == 0 and prog.bytes_done == 0
        refusals = [r for r in caplog.records if "another node's file" in r.getMessage()]
        assert len(refusals) == 3                  # once per file, not once per pass
        assert all("owner=node-a" in r.getMessage() for r in refusals)
        assert scalar(engine, "SELECT COUNT(*) FROM log_files WHERE node = 'node-b'") == 0
        assert db_events(engine) == expected_events(a.written)     # nothing twice
        st = queries.status(engine)
        by = {n["node"]: n for n in st["nodes"]}
        error = by["node-b"]["last_error"]
        assert "already node 'node-a''s files (same device, inode and first bytes)" in error
        assert "SFTPGO_NODE=node-a" in error and by["node-a"]["last_error"] is None
        # node-a reads on: new lines, a rotation; node-b, passing first, starts not even the
        # new live file (no node has it yet) while the folder holds node-a's files
        a.write(*lines(100, 10))
        gzip_file(a.rotate())
        a.write(*lines(110, 10))
        assert b.run_pass().lines == 0
        assert scalar(engine, "SELECT COUNT(*) FROM log_files WHERE node = 'node-b'") == 0
        run_all(engine, a.dir, node="node-a")
        assert b.run_pass().lines == 0
    finally:
        b.close()
    assert node_events(engine, "node-a") == expected_events(a.written)
    assert db_events(engine) == expected_events(a.written)
    assert scalar(engine, "SELECT COUNT(*) FROM log_files WHERE node <> 'node-a'") == 0
    assert rollups.check(engine) == []
    # a copy of the folder is other inodes: under node-b it is node-b's, and read
    c = tmp_path / "c"
    shutil.copytree(a.dir, c)
    run_all(engine, c, node="node-b")
    assert node_events(engine, "node-b") == expected_events(a.written)
    assert db_events(engine) == expected_events(a.written + a.written)


def test_a_pass_never_judges_another_nodes_files(engine, tmp_path):
    a, b = LogWriter(tmp_path / "a"), LogWriter(tmp_path / "b")
    a.write(*lines(0, 20))
    b.write(*lines(100, 20, user="bob"))
    b.write_raw(event_line(200, user="bob")[:30])     # an unterminated tail: bytes pending
    run_all(engine, a.dir, node="node-a")
    run_all(engine, b.dir, node="node-b")
    before = _files(engine, "node-b")
    for _ in range(3):                                # A's folder holds none of B's files
        run_all(engine, a.dir, node="node-a")
    assert _files(engine, "node-b") == before
    assert scalar(engine, "SELECT COUNT(*) FROM log_files WHERE state <> 'active'") == 0
    assert scalar(engine, "SELECT COALESCE(SUM(bytes_lost), 0) FROM log_files") == 0
    # A's rotation and the loss of a backup are judged in A's rows only
    gz = gzip_file(a.rotate())
    a.write(*lines(300, 5))
    run_all(engine, a.dir, node="node-a")
    gz.unlink()
    run_all(engine, a.dir, node="node-a")
    assert _files(engine, "node-b") == before
    assert scalar(engine, "SELECT COUNT(*) FROM log_files WHERE node = 'node-a'"
                          " AND state = 'missing'") == 1
    assert node_events(engine, "node-a") == expected_events(a.written)


def _files(engine, node: str) -> list:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT f.id, f.state, f.path, f.size_seen, f.bytes_lost, f.updated_at,"
            " c.committed_offset FROM log_files f JOIN checkpoints c ON c.file_id = f.id"
            " WHERE f.node = :n ORDER BY f.id"), {"n": node})]


def test_the_lock_is_per_node(engine, tmp_path):
    a, b = LogWriter(tmp_path / "a"), LogWriter(tmp_path / "b")
    a.write(*lines(0, 10))
    b.write(*lines(50, 10))
    with db_locks.exclusive(engine, db_locks.ingest_lock("node-a"), wait=False):
        assert ingester(engine, a.dir, node="node-a").run_pass().busy
        prog = ingester(engine, b.dir, node="node-b").run_pass()
        assert not prog.busy and prog.lines == 10
    assert not ingester(engine, a.dir, node="node-a").run_pass().busy
    assert db_events(engine) == expected_events(a.written + b.written)


def test_an_emptied_or_missing_folder_releases_nothing(engine, tmp_path):
    a = LogWriter(tmp_path / "a")
    a.write(*lines(0, 30))
    backup = a.rotate()
    a.write(*lines(30, 5))
    a.write_raw(event_line(99)[:20])                  # bytes still pending in the live file
    run_all(engine, a.dir, node="node-a")
    hidden = tmp_path / "hidden"
    shutil.move(str(a.dir), hidden)
    a.dir.mkdir()                                  # the mount point, empty
    for _ in range(3):
        run_all(engine, a.dir, node="node-a")
    assert scalar(engine, "SELECT COUNT(*) FROM log_files WHERE state <> 'active'") == 0
    assert scalar(engine, "SELECT COALESCE(SUM(bytes_lost), 0) FROM log_files") == 0
    a.dir.rmdir()                                  # not even the mount point
    with pytest.raises(Exception):
        ingester(engine, a.dir, node="node-a").run_pass()
    assert scalar(engine, "SELECT COALESCE(SUM(bytes_lost), 0) FROM log_files") == 0
    shutil.move(str(hidden), a.dir)                # mounted again
    assert backup.exists()
    a.write_raw(b"\n")
    a.write(*lines(40, 5))
    run_all(engine, a.dir, node="node-a")
    assert scalar(engine, "SELECT COUNT(*) FROM log_files WHERE state <> 'active'") == 0
    assert scalar(engine, "SELECT COALESCE(SUM(bytes_lost), 0) FROM log_files") == 0
    assert scalar(engine, "SELECT COUNT(*) FROM log_files") == 2
    assert db_events(engine) == expected_events(a.written)


def test_status_reports_each_node(engine, tmp_path):
    from dashboard import queries
    a, b = LogWriter(tmp_path / "a"), LogWriter(tmp_path / "b")
    a.write(*lines(0, 12))
    b.write(*lines(50, 8), failure_line(70))
    b.write_raw(b'{"level":"info"')
    run_all(engine, a.dir, node="node-a")
    run_all(engine, b.dir, node="node-b")
    st = queries.status(engine, stale_after_s=3600)
    by = {n["node"]: n for n in st["nodes"]}
    assert set(by) == {"node-a", "node-b"} and st["stale_nodes"] == []
    assert by["node-a"]["files_known"] == 1 and by["node-a"]["bytes_pending"] == 0
    assert by["node-b"]["bytes_pending"] == len(b'{"level":"info"')
    assert by["node-a"]["lines_read"] == 12 and by["node-b"]["lines_read"] == 9
    assert st["lines_read"] == 21 and st["bytes_pending"] == by["node-b"]["bytes_pending"]
    assert all(n["last_pass_at"] and 0 <= n["seconds_since_pass"] < 60 for n in by.values())
    only_b = queries.status(engine, nodes=("node-b",))
    assert [n["node"] for n in only_b["nodes"]] == ["node-b"] and only_b["lines_read"] == 9
    assert queries.status(engine, stale_after_s=-1)["stale_nodes"] == ["node-a", "node-b"]
    with engine.begin() as conn:                       # node-a's last pass an hour ago
        conn.execute(sa.text("UPDATE node_status SET last_pass_epoch = last_pass_epoch - 3600"
                             " WHERE node = 'node-a'"))
    assert queries.status(engine, stale_after_s=30)["stale_nodes"] == ["node-a"]


def test_a_database_from_before_nodes_becomes_the_upgrading_nodes(db_url, tmp_path):
    """A single-node database (schema 5, rows as an ingester of then wrote them) upgraded by
    a process of node 'old-host': its files, checkpoints, rollups and status are that node's
    (007 keys login_failures_daily by node, 010 makes the coarse security rollups of it, node
    included, and drops it), its ingester goes on where it was (nothing read again), another
    node starts beside it."""
    from ingestion import batch, reader, store
    from tests.support.ingest import migrate_to
    engine = db.make_engine(db_url)
    migrate_to(engine, 5)
    a = LogWriter(tmp_path / "a")
    a.write(*lines(0, 40), failure_line(41))
    content = a.live.read_bytes()
    st = a.live.stat()
    rows = batch.build(1, 0, content.split(b"\n")[:-1], None, False)
    daily = [r[:3] + r[4:] for r in increments.rollup_rows(rows.events, "x")]
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO log_files (id, head, dev, ino, path, first_path, compressed, state,"
            " size_seen, bytes_lost, created_at, updated_at) VALUES (1, :h, :d, :i, :p, :p, 0,"
            " 'active', :z, 0, '2024-09-18 04:00:00', '2024-09-18 04:00:00')"),
            {"h": content[:reader.HEAD_BYTES], "d": st.st_dev, "i": st.st_ino,
             "p": str(a.live), "z": len(content)})
        conn.execute(sa.text(
            "INSERT INTO checkpoints (file_id, committed_offset, marker, line_count,"
            " event_count, updated_at) VALUES (1, :o, :m, 41, :e, '2024-09-18 04:00:00')"),
            {"o": len(content), "m": content[-reader.MARKER_BYTES:], "e": len(rows.events)})
        old = [c for c in store.EVENT_COLUMNS if c not in ("client", "encrypted")]  # 018's
        conn.exec_driver_sql(sqlgen.insert_sql("events", tuple(old),
                                           "sqlite" if engine.dialect.name == "sqlite"
                                           else "mysql"),
                             [tuple(getattr(e, c) for c in old) for e in rows.events])
        conn.execute(sa.text("INSERT INTO daily_stats (day, kind, username, events, bytes,"
                             " failed) VALUES (:a, :b, :c, :d, :e, :f)"),
                     [dict(zip("abcdef", r)) for r in daily])
        # the 005-era rollup, as its migration (004) fills it from events
        conn.exec_driver_sql(
            "INSERT INTO login_failures_daily (day, ip, username, method, protocol, events,"
            " first_ts, last_ts) SELECT day, COALESCE(remote_ip, ''), username,"
            " COALESCE(method, ''), COALESCE(protocol, ''), COUNT(*), MIN(ts), MAX(ts) FROM events"
            " WHERE kind = 'login_failed' GROUP BY day, COALESCE(remote_ip, ''), username,"
            " COALESCE(method, ''), COALESCE(protocol, '')")
        conn.execute(sa.text("UPDATE ingest_status SET last_pass_at = '2024-09-18 04:00:01'"))
    db.migrate(engine, "old-host")
    assert scalar(engine, "SELECT COUNT(*) FROM log_files WHERE node = 'old-host'") == 1
    assert scalar(engine, "SELECT COUNT(*) FROM daily_stats WHERE node <> 'old-host'") == 0
    with engine.connect() as conn:
        assert not sa.inspect(conn).has_table("login_failures_daily")
    for table in ("login_failures_ip_daily", "login_failures_user_daily",
                  "login_failures_method_daily", "login_failure_pairs",
                  "login_failure_pair_days"):
        assert scalar(engine, f"SELECT COUNT(*) FROM {table} WHERE node = 'old-host'") == 1
        assert scalar(engine, f"SELECT COUNT(*) FROM {table}") == 1
    assert scalar(engine, "SELECT last_pass_at FROM node_status WHERE node = 'old-host'") == \
        "2024-09-18 04:00:01"
    assert rollups.check(engine) == []
    assert ingester(engine, a.dir, node="old-host").run_pass().lines == 0   # nothing re-read
    a.write(*lines(100, 10))
    b = LogWriter(tmp_path / "b")
    b.write(*lines(200, 10, user="bob"))
    run_all(engine, a.dir, node="old-host")
    run_all(engine, b.dir, node="new-host")
    assert node_events(engine, "old-host") == expected_events(a.written)
    assert node_events(engine, "new-host") == expected_events(b.written)
    assert scalar(engine, "SELECT SUM(line_count) FROM checkpoints") == 41 + 10 + 10
    assert rollups.check(engine) == []
    assert rollups.rebuild(engine) > 0 and rollups.check(engine) == []
    db.dispose_engines(db_url)


def test_rebuild_and_check_keep_each_nodes_cells(engine, tmp_path):
    a, b = LogWriter(tmp_path / "a"), LogWriter(tmp_path / "b")
    a.write(*lines(0, 30), failure_line(31))
    b.write(*lines(0, 30), failure_line(31, user="root"))
    run_all(engine, a.dir, node="node-a")
    run_all(engine, b.dir, node="node-b")
    with engine.begin() as conn:                       # one node's cell wrong
        conn.execute(sa.text("UPDATE daily_stats SET events = events + 1 WHERE node = 'node-b'"
                             " AND kind = 'upload'"))
    diff = rollups.check(engine)
    assert diff and all(row[3] == "node-b" for row in diff)
    rollups.rebuild(engine)
    assert rollups.check(engine) == []
    assert scalar(engine, "SELECT COUNT(DISTINCT node) FROM daily_stats") == 2
    for table in ("login_failures_ip_daily", "login_failures_user_daily",
                  "login_failures_method_daily", "login_failure_pairs",
                  "login_failure_pair_days"):
        assert scalar(engine, f"SELECT COUNT(DISTINCT node) FROM {table}") == 2


def test_a_nodes_passes_prune_only_its_own_events(engine, tmp_path):
    a, b = LogWriter(tmp_path / "a"), LogWriter(tmp_path / "b")
    a.write(*lines(0, 40))
    b.write(*lines(100, 40, user="bob"))
    run_all(engine, b.dir, node="node-b")                     # no retention: b keeps its events
    kept_b = node_events(engine, "node-b")
    assert sum(kept_b.values()) == 30
    # Every line is from 2024: all due with a 30-day retention. node-a's pass prunes after it
    # ingests, but only the events of node-a's files.
    prog = run_all(engine, a.dir, node="node-a", events_retention_days=30)
    assert prog.pruned == 30
    assert node_events(engine, "node-a") == Counter()
    assert node_events(engine, "node-b") == kept_b
    # node-b's own passes (same retention) prune its events in turn.
    prog = run_all(engine, b.dir, node="node-b", events_retention_days=30)
    assert prog.pruned == 30 and node_events(engine, "node-b") == Counter()
    assert rollups.check(engine) == []


def test_a_process_over_an_empty_folder_is_no_node(engine, tmp_path):
    """A dashboard on a host without logs passes over an empty folder: it is not listed (nor
    ever stale); a node with files is, and so is one whose folder is missing (its error)."""
    from dashboard import queries
    a, empty = LogWriter(tmp_path / "a"), tmp_path / "empty"
    empty.mkdir()
    a.write(*lines(0, 8))
    run_all(engine, a.dir, node="node-a")
    run_all(engine, empty, node="dash-host")
    st = queries.status(engine, stale_after_s=3600)
    assert [n["node"] for n in st["nodes"]] == ["node-a"] and st["stale_nodes"] == []
    with pytest.raises(Exception):
        run_all(engine, tmp_path / "gone", node="node-c")
    assert [n["node"] for n in queries.status(engine)["nodes"]] == ["node-a", "node-c"]
