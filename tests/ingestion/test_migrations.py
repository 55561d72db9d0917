"""Schema upgrades in place: a database made by an older version keeps its rows and takes
the new columns and tables (003: the analysis columns; NULL for events stored before)."""
from __future__ import annotations

import sqlalchemy as sa

import db
from tests.ingestion.support import run_all

OLD_EVENT = ("INSERT INTO events (file_id, start_offset, end_offset, ts, day, kind, username,"
             " size_bytes, failed, action, remote_ip, protocol, file_path, partial) VALUES"
             " (999, 0, 10, '2024-09-18 04:00:06.777', '2024-09-18', 'upload', 'alice', 5, 0,"
             " 'Upload', '10.0.0.1', 'SFTP', '/x', 0)")


def _migrate_to(engine, last: int) -> None:
    """Applies the migrations up to ``last`` only: the schema an older release left."""
    d = db.dialect(engine)
    collation = "utf8mb4_nopad_bin" if d == "mysql" else ""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for version, path in db.migrations(d):
            if version <= last:
                for stmt in db._statements(path.read_text().replace("{BIN}", collation)):
                    conn.exec_driver_sql(stmt)
                conn.execute(sa.text("INSERT INTO schema_version VALUES (:v)"), {"v": version})


def test_a_version_2_database_is_upgraded_in_place(db_url, log_dir):
    engine = db.make_engine(db_url)
    _migrate_to(engine, 2)
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
