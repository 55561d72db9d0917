"""store.py: rollup cells saturate instead of overflowing; runs of blank lines are one row."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from ingestion import generations, increments, rollup_tables, rollups
from ingestion import parse, store
from ingestion.identity import Generation
from tests.support.ingest import LogWriter, event_line, run_all, scalar, total_lines

PIB = 2 ** 50
CAP = 2 ** 62
DAY = "2024-09-18"


def _generation(conn) -> int:
    return generations.create_generation(conn, "n1", b"head", 1, 2, "/logs/sftpgo.log", False, 0, None)


def _uploads(fid: int, start: int, n: int, size: int = PIB, user: str = "alice") -> list[tuple]:
    return [(fid, start + i, start + i + 1, f"{DAY} 04:00:00.000", DAY, "upload", user, size, 0,
             "Upload", "10.0.0.1", "SFTP", "/x", 12, "SFTP_a_1", None, None, None, None, 0)
            for i in range(n)]


def _store(engine, fid: int, old: int, events=(), rejects=(), lines=None) -> int:
    events, rejects = list(events), list(rejects)
    new = max([e[2] for e in events] + [r[2] for r in rejects] + [old])
    with engine.begin() as conn:
        store.store_batch(conn, store_dialect(engine), fid, old, new, b"m", events, rejects,
                          len(events) + store.malformed_count(rejects) if lines is None else lines,
                          node="n1")
    return new


def store_dialect(engine) -> str:
    return "sqlite" if engine.dialect.name == "sqlite" else "mysql"


def _cell(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT events, bytes FROM daily_stats WHERE kind = 'upload'"
                                    " AND username = 'alice'")).one()


def test_rollup_rows_saturate_at_the_cap():
    rows = increments.rollup_rows(_uploads(1, 0, 5000), "n1")
    assert rows == [(DAY, "upload", "alice", "n1", 5000, CAP, 0)]
    assert increments.rollup_rows(_uploads(1, 0, 3), "n1") == [(DAY, "upload", "alice", "n1", 3,
                                                           3 * PIB, 0)]


def test_the_bytes_cell_saturates_within_and_across_batches(engine):
    with engine.begin() as conn:
        fid = _generation(conn)
    pos = _store(engine, fid, 0, _uploads(fid, 0, 2))             # two of 1 PiB in one batch
    pos = _store(engine, fid, pos, _uploads(fid, pos, 2))         # and across batches
    assert tuple(_cell(engine)) == (4, 4 * PIB)
    pos = _store(engine, fid, pos, _uploads(fid, pos, 9000))      # 2^63 and more in the cell
    pos = _store(engine, fid, pos, _uploads(fid, pos, 1))
    events, cell = _cell(engine)
    assert events == 9005 and type(cell) is int and cell == CAP
    if engine.dialect.name == "sqlite":                            # stored as an integer
        assert scalar(engine, "SELECT typeof(bytes) FROM daily_stats") == "integer"
    assert rollups.check(engine) == []                              # the recount saturates too
    assert rollups.rebuild(engine) == 1
    assert tuple(_cell(engine)) == (9005, CAP)


def test_rebuild_and_check_never_overflow_on_rows_stored_before_the_bounds(engine):
    """A database filled before sizes were bounded may hold int64 extremes (issue 13, #2)."""
    with engine.begin() as conn:
        fid = _generation(conn)
    legacy = (_uploads(fid, 0, 2, size=2 ** 63 - 1) + _uploads(fid, 2, 1, size=-2 ** 63)
              + _uploads(fid, 3, 3, size=2 ** 63 - 1, user="bob")
              + _uploads(fid, 6, 2, size=-2 ** 63, user="carol"))
    with engine.begin() as conn:
        conn.exec_driver_sql(store._SQL[store_dialect(engine)]["events"], legacy)
    assert rollups.rebuild(engine) == 3
    with engine.connect() as conn:
        cells = dict(conn.execute(sa.text("SELECT username, bytes FROM daily_stats")).all())
    assert cells == {"alice": CAP, "bob": CAP, "carol": 0}
    assert rollups.check(engine) == []


def test_the_issue_lines_are_bad_size_and_ingestion_completes(engine, log_dir):
    big = (b'{"level":"info","time":"2024-09-18T04:00:06.777","sender":"Upload",'
           b'"size_bytes":9223372036854775807,"username":"mallory","file_path":"/x"}\n')
    neg = big.replace(b"9223372036854775807", b"-4896")
    w = LogWriter(log_dir)
    w.write(event_line(1), big, big, neg, event_line(2))
    w.rotate()
    w.write(big, event_line(3))
    run_all(engine, log_dir)
    assert scalar(engine, "SELECT COUNT(*) FROM events") == 3
    assert scalar(engine, "SELECT COUNT(*) FROM malformed_lines WHERE reason = 'bad_size'") == 4
    assert scalar(engine, "SELECT SUM(malformed_count) FROM checkpoints") == 0
    assert total_lines(engine) == 7
    assert scalar(engine, "SELECT COUNT(*) FROM daily_stats WHERE username = 'mallory'") == 0
    assert scalar(engine, "SELECT last_error FROM node_status") is None
    assert rollups.check(engine) == []


# --- runs of blank lines ---------------------------------------------------------------------

def test_a_run_is_stored_as_one_row_and_counted_as_its_lines(engine):
    with engine.begin() as conn:
        fid = _generation(conn)
    rejects = [(fid, 0, 1000, parse.EMPTY, b"", 1000), (fid, 1000, 1010, parse.BAD_SIZE, b"{}")]
    pos = _store(engine, fid, 0, rejects=rejects, lines=1001)
    assert pos == 1010
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT start_offset, end_offset, reason, line_count"
                                    " FROM malformed_lines ORDER BY start_offset")).all()
    assert [tuple(r) for r in rows] == [(0, 1000, "empty", 1000), (1000, 1010, "bad_size", 1)]
    assert scalar(engine, "SELECT malformed_count FROM checkpoints") == 1000
    assert scalar(engine, "SELECT line_count FROM checkpoints") == 1001
    # a lost checkpoint is recounted from the rows, runs included
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM checkpoints"))
        gen = Generation(fid, b"head", 1, 2, "/logs/sftpgo.log", False, "active", 1010, None, 0,
                         generations._recover_offset(conn, fid), None)
        generations.restore_checkpoint(conn, gen, b"m")
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT committed_offset, line_count, malformed_count"
                                   " FROM checkpoints")).one()
    assert tuple(row) == (1010, 1001, 1000)


@pytest.mark.parametrize("reason", [parse.EMPTY, parse.NUL_RUN])
def test_old_rows_without_a_count_read_as_one_line(engine, reason):
    with engine.begin() as conn:
        fid = _generation(conn)
        conn.execute(sa.text("INSERT INTO malformed_lines (file_id, start_offset, end_offset,"
                             " reason, sample) VALUES (:f, 0, 1, :r, :s)"),
                     {"f": fid, "r": reason, "s": b""})
    assert scalar(engine, "SELECT line_count FROM malformed_lines") == 1


def test_ingesting_more_than_the_cap_in_pib_transfers_saturates_the_cell(engine, log_dir):
    w = LogWriter(log_dir)
    w.write(*[event_line(i, size=PIB, ms=i) for i in range(2000)])
    run_all(engine, log_dir, batch_bytes=100_000)                 # many batches
    w.write(*[event_line(i, size=PIB, ms=i) for i in range(2000, 5000)])
    run_all(engine, log_dir)                                      # one big batch
    events, cell = _cell(engine)
    assert (events, cell, type(cell)) == (5000, CAP, int)
    assert rollups.check(engine) == []


def _failure(pos: int, ts: str, ip, user: str = "root", method=None, protocol="SSH") -> tuple:
    return (1, pos, pos + 1, ts, ts[:10], "login_failed", user, None, 0, "connection_failed",
            ip, protocol, None, None, None, method, "invalid credentials", None, None, 0)


def test_security_rows_count_each_rollup_by_its_key_with_missing_values_as_empty():
    events = [_failure(0, f"{DAY} 04:00:00.000", None), _failure(1, f"{DAY} 03:00:00.000", ""),
              _failure(2, "2024-09-19 01:00:00.000", "10.0.0.1", "admin", "password", None),
              (1, 3, 4, f"{DAY} 05:00:00.000", DAY, "ban", "", None, 0, "defender", None, "SSH",
               None, None, None, None, None, None, None, 0)]
    rows = increments.security_rows(events, "n1")
    assert sorted(rows["login_failures_ip_daily"]) == [
        ("2024-09-18", "", "n1", 2, "2024-09-18 03:00:00.000", "2024-09-18 04:00:00.000"),
        ("2024-09-19", "10.0.0.1", "n1", 1, "2024-09-19 01:00:00.000",
         "2024-09-19 01:00:00.000")]
    assert sorted(rows["login_failures_method_daily"]) == [("2024-09-18", "", "SSH", "n1", 2),
                                                           ("2024-09-19", "password", "", "n1", 1)]
    assert sorted(rows["login_failure_pairs"]) == [
        ("", "root", "n1", 2, DAY, DAY), ("10.0.0.1", "admin", "n1", 1, "2024-09-19", "2024-09-19")]
    assert rows["bans_daily"] == [(DAY, "", "n1", 1)]
    assert set(rows) == {r.table for r in rollup_tables.SECURITY_ROLLUPS}
    # every key ends with the batch's node
    assert all(r.key[-1] == "node" for r in rollup_tables.SECURITY_ROLLUPS)
    many = increments.security_rows([_failure(i, f"{DAY} 04:00:00.000", "") for i in range(3)] * 2,
                               "n2")
    assert many["login_failure_pair_days"] == [("", "root", DAY, "n2", 6)]


def _user_event(pos: int, kind: str, user: str, ip, protocol, size=None, day: str = DAY) -> tuple:
    return (1, pos, pos + 1, f"{day} 04:00:00.{pos:03d}", day, kind, user, size, 0, kind, ip,
            protocol, "/f", None, None, None, None, None, None, 0)


def test_user_rows_count_ips_and_protocols_of_the_user_kinds_only():
    events = [_user_event(0, "upload", "alice", "10.0.0.1", "SFTP", 5),
              _user_event(1, "download", "alice", "10.0.0.1", None, None),
              _user_event(2, "file_op", "alice", "", "SFTP"),
              _user_event(3, "login", "alice", None, "SSH"),
              _user_event(4, "login", "bob", "10.0.0.2", "SSH", day="2024-09-19"),
              _user_event(5, "login_failed", "alice", "10.0.0.1", "SSH"),
              _user_event(6, "ban", "", "10.0.0.1", "SSH"),
              _user_event(7, "upload", "alice", "10.0.0.3", "SFTP", rollup_tables.BYTES_CAP)]
    rows = increments.user_rows(events, "n1")
    assert sorted(rows["user_ips_daily"]) == [("alice", DAY, "10.0.0.1", "n1", 2),
                                              ("alice", DAY, "10.0.0.3", "n1", 1),
                                              ("bob", "2024-09-19", "10.0.0.2", "n1", 1)]
    assert sorted(rows["user_protocols_daily"]) == [("alice", DAY, "", "n1", 1, 0),
                                                    ("alice", DAY, "SFTP", "n1", 2,
                                                     rollup_tables.BYTES_CAP)]   # saturates
    assert {r.table for r in rollup_tables.USER_ROLLUPS} == set(rows)
    assert all(r.key[-1] == "node" for r in rollup_tables.USER_ROLLUPS)
    assert increments.user_rows([events[5], events[6]], "n1") == {}
