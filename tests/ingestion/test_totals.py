"""stats_totals (migration 015): daily_stats summed over all days with each cell's newest
time, kept batch by batch; equal to the events and daily_stats, checked and rebuilt by
rollups.py (pruned days included), and filled by 015 from what an older database holds."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

import db
from ingestion import retention, rollups
from ingestion.rollup_tables import TOTALS_COLUMNS
from tests.support.ingest import (LogWriter, busy_lines, event_line, gzip_file, run_all, undo_018,
                                 user_lines)


def _time(value) -> str | None:
    """Returns a stored time as 'YYYY-MM-DD HH:MM:SS.mmm' (MariaDB prints no '.000')."""
    if value is None:
        return None
    text = str(value).replace("T", " ")
    return (text if len(text) > 19 else text + ".000")[:23]


def _totals(engine) -> dict[tuple, tuple]:
    with engine.connect() as conn:
        return {tuple(r[:3]): (int(r[3]), int(r[4]), int(r[5]), _time(r[6]))
                for r in conn.execute(sa.text(
                    f"SELECT {', '.join(TOTALS_COLUMNS)} FROM stats_totals"))}


def _from_tables(engine) -> dict[tuple, tuple]:
    """Returns what stats_totals must hold, summed in Python from daily_stats, with the
    newest time of the events (the plain way: no SQL of the code under test)."""
    out: dict[tuple, list] = {}
    with engine.connect() as conn:
        for kind, user, node, events, nbytes, failed in conn.execute(sa.text(
                "SELECT kind, username, node, events, bytes, failed FROM daily_stats")):
            cur = out.setdefault((kind, user, node), [0, 0, 0, None])
            cur[0] += int(events)
            cur[1] += int(nbytes)
            cur[2] += int(failed)
        for kind, user, node, ts in conn.execute(sa.text(
                "SELECT e.kind, e.username, lf.node, e.ts FROM events e"
                " JOIN log_files lf ON lf.id = e.file_id")):
            cur = out[(kind, "" if kind == "login_failed" else user, node)]
            cur[3] = max(cur[3] or "", _time(ts))
    return {k: tuple(v) for k, v in out.items()}


EARLY = event_line(1, user="early", size=4321, ms=-17 * 86_400_000)   # 2024-09-01 only


def _fill(log_dir, engine) -> LogWriter:
    w = LogWriter(log_dir)
    w.write(*busy_lines(0, 2500), *user_lines(600))
    gzip_file(w.rotate())
    w.write(*busy_lines(2500, 1500))
    run_all(engine, log_dir, batch_bytes=30_000)       # many batches, some cells in several
    return w


def test_totals_equal_daily_stats_summed_and_the_newest_event(engine, log_dir):
    _fill(log_dir, engine)
    totals = _totals(engine)
    assert totals == _from_tables(engine)
    kinds = {k for k, _u, _n in totals}
    assert kinds == {"upload", "download", "file_op", "login", "login_failed", "ban"}
    assert rollups.check(engine) == []


def test_check_catches_a_wrong_missing_or_extra_cell_and_rebuild_repairs_it(engine, log_dir):
    _fill(log_dir, engine)
    kept = _totals(engine)
    key = max(kept, key=lambda k: kept[k][0])
    cell = dict(zip(("kind", "username", "node"), key))
    where = "kind = :kind AND username = :username AND node = :node"
    for change in (f"UPDATE stats_totals SET events = events + 1 WHERE {where}",
                   f"UPDATE stats_totals SET bytes = bytes + 1 WHERE {where}",
                   f"UPDATE stats_totals SET last_ts = '2001-01-01 00:00:00.000' WHERE {where}",
                   f"DELETE FROM stats_totals WHERE {where}",
                   "INSERT INTO stats_totals (kind, username, node, events, bytes, failed,"
                   " last_ts) VALUES ('upload', 'nobody', 'node', 1, 1, 0, NULL)"):
        with engine.begin() as conn:
            conn.execute(sa.text(change), cell)
        diff = rollups.check(engine)
        assert [d[0] for d in diff] == ["stats_totals"], change
        rollups.rebuild(engine)
        assert rollups.check(engine) == [] and _totals(engine) == kept, change


def test_a_rebuild_after_pruning_keeps_the_sums_and_times_of_pruned_cells(engine, log_dir):
    """A user seen only on days whose events were pruned keeps its totals (daily_stats keeps
    the days) and its newest time (no event is left to tell it) through a rebuild."""
    w = LogWriter(log_dir)
    w.write(EARLY, *user_lines(900))                # 2024-09-01, then 2024-09-10 .. 15
    run_all(engine, log_dir)
    kept = _totals(engine)
    early = [k for k in kept if k[1] == "early"]
    assert [kept[k] for k in early] == [(1, 4321, 0, "2024-09-01 03:00:00.000")]
    assert retention.prune(engine, date(2024, 9, 12)).deleted > 100
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM events WHERE username = 'early'"
                                    " OR day < '2024-09-12'")).scalar() == 0
    assert rollups.check(engine) == []
    rollups.rebuild(engine)
    assert _totals(engine) == kept
    assert rollups.check(engine) == []


def test_015_fills_the_totals_of_an_older_database_as_ingestion_keeps_them(db_url, log_dir):
    """A database of the previous schema (015 and later undone) gets stats_totals from daily_stats and
    the events: what ingestion had kept, but NULL times for cells whose events were all
    pruned; then ingestion keeps them."""
    engine = db.make_engine(db_url)
    db.migrate(engine)
    w = LogWriter(log_dir)
    w.write(EARLY, *user_lines(900))
    run_all(engine, log_dir)
    retention.prune(engine, date(2024, 9, 12))
    kept = _totals(engine)
    undo_018(engine)                                 # the later round's, to come again
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE stats_totals")
        conn.exec_driver_sql("DROP TABLE metrics_users")
        conn.exec_driver_sql("DROP TABLE data_version")                  # 016
        for table in ("alerts", "alert_outbox", "alert_cursor"):        # 017
            conn.exec_driver_sql(f"DROP TABLE {table}")
        conn.exec_driver_sql("DELETE FROM schema_version WHERE version >= 15")
    assert db.migrate(engine) == db.latest_version(db.dialect(engine))
    filled = _totals(engine)
    with engine.connect() as conn:
        left = {(k, "" if k == "login_failed" else u) for k, u in conn.execute(sa.text(
            "SELECT DISTINCT kind, username FROM events"))}
    assert set(filled) == set(kept)
    for key, values in kept.items():
        want = values if key[:2] in left else values[:3] + (None,)
        assert filled[key] == want, key
    assert [k for k, v in filled.items() if v[3] is None] == [("upload", "early", k[2])
                                                               for k in kept if k[1] == "early"]
    assert rollups.check(engine) == []
    w.write(*user_lines(1200)[900:])
    run_all(engine, log_dir)
    assert rollups.check(engine) == []
    engine.dispose()
