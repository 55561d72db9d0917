"""Schema upgrades in place: a database made by an older version keeps its rows and takes
the new columns and tables (003: the analysis columns; NULL for events stored before; 010:
the coarse security rollups, from a 005 database as from an 008 one)."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

import db
from tests.support.ingest import migrate_to, rare_mismatch, run_all, scalar

OLD_EVENT = ("INSERT INTO events (file_id, start_offset, end_offset, ts, day, kind, username,"
             " size_bytes, failed, action, remote_ip, protocol, file_path, partial) VALUES"
             " (999, 0, 10, '2024-09-18 04:00:06.777', '2024-09-18', 'upload', 'alice', 5, 0,"
             " 'Upload', '10.0.0.1', 'SFTP', '/x', 0)")


def test_a_version_2_database_is_upgraded_in_place(db_url, log_dir):
    engine = db.make_engine(db_url)
    migrate_to(engine, 2)
    with engine.begin() as conn:
        conn.exec_driver_sql(OLD_EVENT)
        conn.exec_driver_sql(OLD_EVENT.replace("(999, 0, 10,", "(999, 10, 20,")
                             .replace("'upload', 'alice', 5", "'login_failed', 'root', NULL")
                             .replace("'Upload'", "'connection_failed'"))
    assert db.migrate(engine) == max(v for v, _ in db.migrations(db.dialect(engine)))
    with engine.connect() as conn:
        old = conn.execute(sa.text("SELECT username, size_bytes, elapsed_ms, connection_id,"
                                   " method, error FROM events WHERE kind = 'upload'")).one()
        failures = conn.execute(sa.text("SELECT day, method, protocol, events"
                                        " FROM login_failures_method_daily")).all()
    assert tuple(old) == ("alice", 5, None, None, None, None)     # no log to read them from
    # the security rollups are filled from the events already stored (method unknown: '')
    assert [(str(d), *r) for d, *r in failures] == [("2024-09-18", "", "SFTP", 1)]
    (log_dir / "sftpgo.log").write_bytes(
        b'{"level":"info","time":"2024-09-19T04:00:06.777","sender":"Upload","remote_addr":'
        b'"10.0.0.2:1","elapsed_ms":77,"size_bytes":9,"username":"bob","file_path":"/y",'
        b'"connection_id":"SFTP_x_1","protocol":"SFTP","error":"EOF"}\n'
        b'{"level":"info","time":"2024-09-19T04:00:07.000","sender":"defender",'
        b'"client_ip":"10.0.0.3","protocol":"SSH","event":"banned"}\n')
    run_all(engine, log_dir)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT kind, username, elapsed_ms, connection_id, error"
                                    " FROM events WHERE day = '2024-09-19' ORDER BY ts")).all()
        ban = conn.execute(sa.text("SELECT events FROM daily_stats WHERE kind = 'ban'"
                                   " AND username = ''")).scalar()
    assert [tuple(r) for r in rows] == [("upload", "bob", 77, "SFTP_x_1", "EOF"),
                                        ("ban", "", None, None, None)]
    assert ban == 1
    engine.dispose()


def _failure(i: int) -> dict:
    """A failed login or ban of the 005 era: names, IPs, methods, protocols varied, some
    missing, over three days."""
    day = f"2024-09-{17 + i % 3}"
    kind = "ban" if i % 9 == 4 else "login_failed"
    return {"f": 7, "o": i * 10, "e": i * 10 + 9, "ts": f"{day} {i % 24:02d}:{i % 60:02d}:07.{i:03d}",
            "day": day, "kind": kind,
            "user": "" if kind == "ban" else ["root", "admin", "admin ", "", "Admin"][i % 5],
            "action": "defender" if kind == "ban" else "connection_failed",
            "ip": [None, "203.0.113.9", "2001:db8::9", "", "198.51.100.7"][i // 3 % 5 if i % 7 else 0],
            "proto": None if i % 6 == 0 else ["SSH", "FTP"][i % 2],
            "method": None if i % 8 == 0 else ["password", "publickey"][i % 2]}


def _security_tables(engine) -> dict:
    from ingestion.rollup_tables import SECURITY_ROLLUPS
    with engine.connect() as conn:
        return {r.table: sorted(tuple(str(v) for v in row) for row in conn.execute(sa.text(
            f"SELECT {', '.join(r.columns)} FROM {r.table}"))) for r in SECURITY_ROLLUPS}


LOG_FILE = ("INSERT INTO log_files (id, head, dev, ino, path, first_path, compressed, state,"
            " size_seen, bytes_lost, created_at, updated_at) VALUES (:id, :head, :id, :id, :p,"
            " :p, 0, 'active', 0, 0, '2024-09-18 04:00:00', '2024-09-18 04:00:00')")


@pytest.mark.parametrize("version", [5, 8])
def test_an_older_database_gets_the_coarse_security_rollups_filled(db_url, version):
    """010 fills its rollups from login_failures_daily (no log re-read), node included, and
    drops it; they equal a rebuild from the events, and ingestion then keeps them. From 005
    (the release in the field) 007 makes every row the upgrading node's first; from 008 the
    failures are already on two nodes, and stay so."""
    from ingestion import rollups
    engine = db.make_engine(db_url)
    migrate_to(engine, version)
    rows = [_failure(i) for i in range(300)]
    if version >= 7:                                   # half the files on another node
        rows = [{**r, "f": 7 + i % 2} for i, r in enumerate(rows)]
    node_of = {7: "node-a", 8: "node-b"} if version >= 7 else {7: "upgrader"}
    with engine.begin() as conn:
        for f in node_of:
            conn.execute(sa.text(LOG_FILE), {"id": f, "head": b"h%d" % f, "p": f"/log/{f}"})
            if version >= 7:
                conn.execute(sa.text("UPDATE log_files SET node = :n WHERE id = :id"),
                             {"n": node_of[f], "id": f})
        conn.execute(sa.text(
            "INSERT INTO events (file_id, start_offset, end_offset, ts, day, kind, username,"
            " failed, action, remote_ip, protocol, method, partial) VALUES (:f, :o, :e, :ts,"
            " :day, :kind, :user, 0, :action, :ip, :proto, :method, 0)"), rows)
        # the rollups as their migrations fill them from events (004; 007 adds the node)
        node = ", lf.node" if version >= 7 else ""
        conn.exec_driver_sql(
            f"INSERT INTO login_failures_daily (day, ip, username, method, protocol{node.replace('lf.', '')},"
            f" events, first_ts, last_ts) SELECT day, COALESCE(remote_ip, ''), username,"
            f" COALESCE(method, ''), COALESCE(protocol, ''){node}, COUNT(*), MIN(ts), MAX(ts)"
            f" FROM events JOIN log_files lf ON lf.id = events.file_id"
            f" WHERE kind = 'login_failed' GROUP BY day, COALESCE(remote_ip, ''), username,"
            f" COALESCE(method, ''), COALESCE(protocol, ''){node}")
        conn.exec_driver_sql(
            f"INSERT INTO bans_daily (day, ip{node.replace('lf.', '')}, events)"
            f" SELECT day, COALESCE(remote_ip, ''){node}, COUNT(*)"
            f" FROM events JOIN log_files lf ON lf.id = events.file_id WHERE kind = 'ban'"
            f" GROUP BY day, COALESCE(remote_ip, ''){node}")
    assert db.migrate(engine, "upgrader") == max(v for v, _ in db.migrations(db.dialect(engine)))
    with engine.connect() as conn:
        assert not sa.inspect(conn).has_table("login_failures_daily")
    migrated = _security_tables(engine)
    assert len(migrated["login_failure_pairs"]) > 10 and len(migrated["login_failures_ip_daily"]) > 10
    nodes = {row[-4] for row in migrated["login_failures_ip_daily"]}   # (.., node, events, ..)
    assert nodes == set(node_of.values())
    assert [d for d in rollups.check(engine) if d[0] in migrated] == []   # (daily_stats unfilled)
    rollups.rebuild(engine)
    assert _security_tables(engine) == migrated
    engine.dispose()


def _user_event(i: int) -> dict:
    """A user kind's event of the 010 era: users, IPs (some missing or empty), protocols
    (some missing) and sizes (some missing) varied, on two files of two nodes, three days."""
    day = f"2024-09-{17 + i % 3}"
    kind = ["upload", "download", "file_op", "login", "login_failed"][i % 5]
    return {"f": 7 + i % 2, "o": i * 10, "e": i * 10 + 9,
            "ts": f"{day} {i % 24:02d}:{i % 60:02d}:07.{i:03d}", "day": day, "kind": kind,
            "user": ["alice", "bob", "alice "][i % 3], "action": kind,
            "ip": [None, "10.0.0.1", "", "2001:db8::1"][i // 5 % 4],
            "proto": None if i % 7 == 0 else ["SFTP", "FTP"][i % 2],
            "size": None if i % 11 == 0 or kind not in ("upload", "download") else i * 1000}


def test_011_fills_the_user_rollups_from_the_events_of_an_older_database(db_url):
    """011 fills user_ips_daily and user_protocols_daily from the events already stored,
    each in its file's node; they equal a rebuild, and /api/users' queries read them."""
    from ingestion import rollups
    from ingestion.rollup_tables import USER_ROLLUPS
    engine = db.make_engine(db_url)
    migrate_to(engine, 10)
    rows = [_user_event(i) for i in range(400)]
    with engine.begin() as conn:
        for f, node in ((7, "node-a"), (8, "node-b")):
            conn.execute(sa.text(LOG_FILE), {"id": f, "head": b"h%d" % f, "p": f"/log/{f}"})
            conn.execute(sa.text("UPDATE log_files SET node = :n WHERE id = :id"),
                         {"n": node, "id": f})
        conn.execute(sa.text(
            "INSERT INTO events (file_id, start_offset, end_offset, ts, day, kind, username,"
            " size_bytes, failed, action, remote_ip, protocol, partial) VALUES (:f, :o, :e,"
            " :ts, :day, :kind, :user, :size, 0, :action, :ip, :proto, 0)"), rows)
    assert db.migrate(engine, "upgrader") == max(v for v, _ in db.migrations(db.dialect(engine)))

    def tables():
        with engine.connect() as conn:
            return {r.table: sorted(tuple(str(v) for v in row) for row in conn.execute(sa.text(
                f"SELECT {', '.join(r.columns)} FROM {r.table}"))) for r in USER_ROLLUPS}

    migrated = tables()
    user_kinds = ("upload", "download", "file_op", "login")
    with_ip = [r for r in rows if r["kind"] in user_kinds and r["ip"]]
    transfers = [r for r in rows if r["kind"] in ("upload", "download")]
    ips = migrated["user_ips_daily"]
    assert sum(int(c[-1]) for c in ips) == len(with_ip) > 100
    assert {(c[0], c[3]) for c in ips} >= {("alice", "node-a"), ("bob", "node-b")}
    protocols = migrated["user_protocols_daily"]
    assert sum(int(c[-2]) for c in protocols) == len(transfers)
    assert sum(int(c[-1]) for c in protocols) == sum(r["size"] or 0 for r in transfers)
    assert {c[2] for c in protocols} == {"", "SFTP", "FTP"}
    assert [d for d in rollups.check(engine) if d[0] in migrated] == []   # (daily_stats unfilled)
    rollups.rebuild(engine)
    assert tables() == migrated


def _schema_12_with_events(engine, n: int) -> list[dict]:
    """Makes the schema of 012 and stores ``n`` events of _user_event's (every fourth one
    failed) in two files; returns their rows."""
    migrate_to(engine, 12)
    rows = [{**_user_event(i), "failed": int(i % 4 == 1)} for i in range(n)]
    with engine.begin() as conn:
        for f in (7, 8):
            conn.execute(sa.text(LOG_FILE), {"id": f, "head": b"h%d" % f, "p": f"/log/{f}"})
        conn.execute(sa.text(
            "INSERT INTO events (file_id, start_offset, end_offset, ts, day, kind, username,"
            " size_bytes, failed, action, remote_ip, protocol, partial) VALUES (:f, :o, :e,"
            " :ts, :day, :kind, :user, :size, :failed, :action, :ip, :proto, 0)"), rows)
    return rows


def test_013_moves_the_rare_rows_keys_of_an_older_database_to_events_rare(db_url):
    """013 (MariaDB) copies the keys of the failed and non-transfer events into events_rare
    and drops 010's indexes on virtual columns; pages of failed=1 and of one rare kind read
    the same rows through it as through a filter on events. (SQLite: nothing to move.)"""
    from dashboard import audit
    from dashboard.audit import Filters
    engine = db.make_engine(db_url)
    rows = _schema_12_with_events(engine, 400)
    assert db.migrate(engine, "upgrader") >= 13
    assert rare_mismatch(engine) == []
    if db.dialect(engine) == "mysql":
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM events_rare")).scalar() == \
                sum(1 for r in rows if r["failed"] or r["kind"] not in ("upload", "download"))
            names = {c["name"] for c in sa.inspect(conn).get_columns("events")}
            assert not names & {"failed_ts", "rare_kind", "rare_ts"}
    for kw, want in (({"failed": 1}, [r for r in rows if r["failed"]]),
                     ({"kinds": ("login",)}, [r for r in rows if r["kind"] == "login"])):
        f = Filters(start=date(2024, 9, 17), end=date(2024, 9, 19), **kw)
        got = [(e["ts"], e["username"]) for e in audit.page(engine, f, limit=500)["events"]]
        assert sorted(got) == sorted((r["ts"].replace(" ", "T"), r["user"]) for r in want) \
            and len(got) > 50
    engine.dispose()


def test_013_started_over_after_a_first_run_stopped_before_its_end(mariadb_url):
    """MariaDB: a first run of 013 that stopped after CREATE TABLE (it commits on its own)
    and part of the copy leaves the schema at 12; the next migrate() starts 013 over and
    ends with events_rare mirroring the events."""
    engine = db.make_engine(mariadb_url)
    rows = _schema_12_with_events(engine, 200)
    path = dict(db.migrations("mysql"))[13]
    first = db._statements(path.read_text().replace("{BIN}", "utf8mb4_nopad_bin"))
    with engine.begin() as conn:
        conn.exec_driver_sql(first[1])                   # CREATE TABLE events_rare
        conn.exec_driver_sql("INSERT INTO events_rare (file_id, start_offset, rare_kind,"
                             " rare_ts) VALUES (7, 0, 'upload', NULL)")   # a partial copy
    with engine.connect() as conn:
        assert db.schema_version(conn) == 12
    assert db.migrate(engine, "upgrader") >= 13
    assert rare_mismatch(engine) == []
    assert scalar(engine, "SELECT COUNT(*) FROM events_rare") == \
        sum(1 for r in rows if r["failed"] or r["kind"] not in ("upload", "download")) > 50
    engine.dispose()


def test_an_ingestion_pass_stops_on_a_database_a_newer_version_upgraded(db_url, log_dir):
    """A node left running while another node's newer build migrates the shared database
    stops at its next pass, with the reason recorded, instead of storing rows without what
    the newer schema keeps beside them."""
    from tests.support.ingest import LogWriter, event_line, ingester
    engine = db.make_engine(db_url)
    latest = db.migrate(engine)
    w = LogWriter(log_dir)
    w.write(event_line(1))
    ing = ingester(engine, log_dir)
    assert ing.run_pass().events == 1
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO schema_version (version) VALUES (:v)"),
                     {"v": latest + 1})
    w.write(event_line(2))
    with pytest.raises(db.DatabaseError, match="newer than this build"):
        ing.run_pass()
    ing.close()
    assert scalar(engine, "SELECT COUNT(*) FROM events") == 1
    assert "newer than this build" in scalar(
        engine, "SELECT last_error FROM node_status WHERE node = :n", n=ing.settings.node)
    engine.dispose()


def test_a_database_a_newer_version_upgraded_is_refused(db_url):
    """A build that does not know the database's schema (a newer version migrated it) would
    write rows without what that schema keeps beside them: migrate() refuses, untouched."""
    engine = db.make_engine(db_url)
    latest = db.migrate(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO schema_version (version) VALUES (:v)"),
                     {"v": latest + 1})
    with pytest.raises(db.DatabaseError, match=f"schema {latest + 1}, newer"):
        db.migrate(engine)
    with engine.connect() as conn:
        assert db.schema_version(conn) == latest + 1
    engine.dispose()


def test_a_database_that_skipped_a_migration_is_refused(db_url):
    """migrate() applies the files above the database's version; one below it that was never
    applied (a build with other migrations made it) would be skipped for ever: refused."""
    engine = db.make_engine(db_url)
    migrate_to(engine, 8)
    with engine.begin() as conn:                    # as if 007 had not existed in its build
        conn.execute(sa.text("DELETE FROM schema_version WHERE version = 7"))
    with pytest.raises(db.DatabaseError, match="007_nodes"):
        db.migrate(engine)
    with engine.connect() as conn:                  # nothing was applied meanwhile
        assert db.schema_version(conn) == 8
    engine.dispose()


def _insight_log() -> bytes:
    """Returns four days of 2.7 logins (SSH, FTP with and without TLS, HTTP), 2.6 SSH text
    logins with a client version, and transfers into nested folders."""
    import json
    lines = []
    for day in range(15, 19):
        for i in range(12):
            t = f"2024-09-{day}T{i + 5:02d}:0{i % 10}:00.{i:03d}"
            if i % 4 == 0:
                proto = ["SSH", "FTP", "FTP", "HTTP"][i // 4 % 4 if day % 2 else (i // 4 + 1) % 4]
                lines.append({"level": "info", "time": t, "sender": "login", "ip": "8.8.8.8",
                              "username": "alice", "method": "password", "protocol": proto,
                              "client": "SSH-2.0-OpenSSH_9.6" if proto == "SSH" else "",
                              "encrypted": proto != "FTP" or i % 8 == 0})
            elif i % 4 == 1:
                lines.append({"level": "info", "time": t, "sender": "SSH", "message":
                              'User "bob" logged in with "password", from ip "1.1.1.1", '
                              'client version "SSH-2.0-rclone/v1.66.0"'})
            lines.append({"level": "info", "time": t, "sender": ["Upload", "Download"][i % 2],
                          "remote_addr": "10.0.0.1:22", "size_bytes": 1000 * i + day,
                          "username": ["alice", "bob"][i % 2], "protocol": "SFTP",
                          "file_path": f"/srv/data/{['a', 'b'][i % 2]}/{i % 3}/f{i}.bin"})
    return b"".join(json.dumps(x).encode() + b"\n" for x in lines)


def _insight_tables(engine) -> dict:
    from ingestion.rollup_tables import INSIGHT_ROLLUPS
    with engine.connect() as conn:
        return {r.table: sorted(tuple(str(v) for v in row) for row in conn.execute(sa.text(
            f"SELECT {', '.join(r.columns)} FROM {r.table}"))) for r in INSIGHT_ROLLUPS}


def test_018_fills_what_it_can_for_the_events_of_an_older_database(db_url, log_dir):
    """A database of the previous round (018 undone), some of its days pruned, upgraded: the
    stored logins keep client NULL, the 2.7 SSH ones get encrypted = 1 (SFTPGo always writes
    true there) and the others NULL; the three rollups equal what ingestion kept for the days
    still whole, rollup_coverage says from which day, /api/paths says it for a range that
    starts before; and ingestion goes on keeping them."""
    from dashboard import insight
    from dashboard.span import Span
    from ingestion import retention, rollups
    from tests.support.ingest import undo_018
    engine = db.make_engine(db_url)
    db.migrate(engine)
    (log_dir / "sftpgo.log").write_bytes(_insight_log())
    run_all(engine, log_dir)
    retention.prune(engine, date(2024, 9, 16))
    kept = _insight_tables(engine)
    undo_018(engine)
    assert db.migrate(engine, "upgrader") == db.latest_version(db.dialect(engine))
    with engine.connect() as conn:
        logins = conn.execute(sa.text("SELECT action, protocol, client, encrypted FROM events"
                                      " WHERE kind = 'login'")).all()
        cover = dict(conn.execute(sa.text("SELECT rollup_table, first_day FROM rollup_coverage"))
                     .all())
    assert {(a, p, c, e) for a, p, c, e in logins} == {
        ("login", "SSH", None, 1), ("login", "FTP", None, None), ("login", "HTTP", None, None),
        ("SSH", "SSH", None, None)}
    assert {k: str(v) for k, v in cover.items()} == dict.fromkeys(
        ("path_daily", "login_clients_daily", "events_hourly"), "2024-09-16")
    migrated = _insight_tables(engine)
    for table in ("path_daily", "events_hourly"):
        assert migrated[table] == [r for r in kept[table] if r[table == "path_daily"] >= "2024-09-16"]
    assert sum(int(r[-1]) for r in migrated["login_clients_daily"]) == \
        sum(int(r[-1]) for r in kept["login_clients_daily"] if r[0] >= "2024-09-16")
    assert {r[1] for r in migrated["login_clients_daily"]} == {""}     # no client to read
    assert rollups.check(engine) == []
    body = insight.paths(engine, Span(date(2024, 9, 15), date(2024, 9, 18)), 2)
    assert body["covers_from"] == "2024-09-16"
    assert "covers_from" not in insight.paths(engine, Span(date(2024, 9, 16),
                                                           date(2024, 9, 18)), 2)
    (log_dir / "sftpgo.log").write_bytes(_insight_log() + _insight_log().replace(
        b"2024-09-1", b"2024-09-2"))
    run_all(engine, log_dir)
    assert rollups.check(engine) == []
    assert _insight_tables(engine)["login_clients_daily"][-1][1] == "SSH-2.0-rclone/v1.66.0"
    engine.dispose()


def test_018_started_over_after_a_first_run_stopped_after_its_alter(mariadb_url, log_dir):
    """MariaDB: DDL commits on its own, so a first run of 018 that stopped after its ALTER
    leaves the columns but the schema at the version before (MySQL 8 has no ADD COLUMN IF NOT EXISTS); the
    next migrate() goes on past the ALTER and ends with everything 018 makes."""
    from ingestion import rollups
    from tests.support.ingest import undo_018
    engine = db.make_engine(mariadb_url)
    db.migrate(engine)
    (log_dir / "sftpgo.log").write_bytes(_insight_log())
    run_all(engine, log_dir)
    undo_018(engine)
    path = dict(db.migrations("mysql"))[18]
    alter = db._statements(path.read_text().replace("{BIN}", "utf8mb4_nopad_bin"))[0]
    assert alter.startswith("ALTER TABLE events")
    with engine.begin() as conn:
        conn.exec_driver_sql(alter)
    with engine.connect() as conn:
        assert db.schema_version(conn) == max(v for v, _p in db.migrations("mysql") if v < 18)
    assert db.migrate(engine, "upgrader") == db.latest_version("mysql")
    assert rollups.check(engine) == []
    assert scalar(engine, "SELECT COUNT(*) FROM events WHERE encrypted = 1") == \
        scalar(engine, "SELECT COUNT(*) FROM events WHERE action = 'login' AND protocol = 'SSH'") > 0
    with engine.begin() as conn:                 # any other failing ALTER still stops it
        conn.exec_driver_sql("DELETE FROM schema_version WHERE version >= 18")
        conn.exec_driver_sql("ALTER TABLE events DROP COLUMN encrypted")
    with pytest.raises(sa.exc.OperationalError, match="Duplicate column"):
        db.migrate(engine, "upgrader")
    engine.dispose()


def test_020_started_over_after_a_first_run_stopped_after_its_index(mariadb_url):
    """MariaDB: a first run of 020 that stopped after its CREATE INDEX (committed on its own)
    but before its version was recorded leaves the index; the next migrate() goes on past it
    and ends at the latest version, with the index there once."""
    engine = db.make_engine(mariadb_url)
    assert db.migrate(engine) == db.latest_version("mysql") >= 20
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM schema_version WHERE version >= 20")
    assert db.migrate(engine, "upgrader") == db.latest_version("mysql")
    names = [ix["name"] for ix in sa.inspect(engine).get_indexes("path_daily")]
    assert names.count("path_daily_by_folder") == 1
    engine.dispose()
