"""The rollups (daily_stats, its all-time stats_totals, rollup_tables.SECURITY_ROLLUPS,
USER_ROLLUPS and INSIGHT_ROLLUPS), and on MySQL/MariaDB events_rare (the rare events' keys,
migration 013):
rebuild them from the events table, or check that they agree.

The ingester keeps the rollups in step with events in the same transaction; these two
commands are for after a change of the counting rules, and for peace of mind.

After retention has pruned raw events (ingestion/retention.py), only the days from
``events_retention.pruned_before`` on still have all their events: both commands work on
those days only and leave the rollups of earlier days as they are (recomputing them from
what is left would lose the pruned days). Both hold the "prune" lock, so no pruner moves
that day while they read.
"""
from __future__ import annotations

import sqlalchemy as sa

import db
import db_locks
from ingestion import retention, store
from ingestion.rare import RARE_COLUMNS, RARE_FROM_EVENTS
from ingestion.rollup_tables import (BYTES_CAP, INSIGHT_ROLLUPS, SECURITY_ROLLUPS,
                                     TOTALS_COLUMNS, USER_ROLLUPS, from_days_sql,
                                     from_events_sql, user_rollup_sql)


_NODE = "/*node*/"


def _scoped(text: str, node: bool) -> str:
    """Returns recomputing SQL without its comments, for one node (bind parameter :node, the
    event's file's node) or, with ``node`` False, for all."""
    text = "\n".join(x for x in text.splitlines() if not x.startswith("--"))
    return text.replace(_NODE, " AND lf.node = :node" if node else "")


def _from_events(engine_or_conn, node: bool = False) -> str:
    """Returns the recomputing SELECT of the dialect (sql/rollups/from_events.<dialect>.sql).

    Both clamp bytes to 0..2^62 as the stored cells saturate, and neither overflows.
    """
    path = db.SQL_DIR / "rollups" / f"from_events.{db.dialect(engine_or_conn)}.sql"
    return _scoped(path.read_text(encoding="utf-8"), node)


def _rows(conn, sql: str, params=None) -> dict[tuple, tuple]:
    return {(str(r[0])[:10], r[1], r[2], r[3]): (int(r[4]), int(r[5]), int(r[6]))
            for r in conn.execute(sa.text(sql), params or {})}


def _plain(column: str, value):
    """Returns a cell as comparable text or int: a day as 'YYYY-MM-DD', a time as
    'YYYY-MM-DD HH:MM:SS.mmm' (SQLite keeps text, MariaDB gives date and datetime); NULL
    stays None (stats_totals.last_ts of a cell whose events were pruned before 015)."""
    if value is None:
        return None
    if column in ("day", "first_day", "last_day"):
        return str(value)[:10]
    if column.endswith("_ts"):          # first_ts, last_ts; events_rare's failed_ts, rare_ts
        if isinstance(value, str):
            return value.replace("T", " ")
        return value.isoformat(sep=" ", timespec="milliseconds")
    return value if isinstance(value, str) else int(value)


def _keyed(conn, sql: str, columns: tuple, width: int, params=None) -> dict[tuple, tuple]:
    out = {}
    for r in conn.execute(sa.text(sql), params or {}):
        cells = tuple(_plain(c, v) for c, v in zip(columns, r))
        out[cells[:width]] = cells[width:]
    return out


def _recompute(r, since, dialect: str, node: bool = False) -> str:
    """Returns the SELECT that recomputes rollup ``r`` (for one node, or all): from
    the events of the days from ``since`` on. An all-time rollup (r.from_days) has no day
    to cut: after pruning it comes from every day's cells of its day-keyed rollup, which
    keeps the pruned days (itself recomputed first); before, from the events as the others.
    A user rollup's SQL is rollup_tables.user_rollup_sql's, an insight rollup's its file in
    sql/rollups/."""
    if r in USER_ROLLUPS:
        return _since(_scoped(user_rollup_sql(r.table, dialect), node), since)
    if r in INSIGHT_ROLLUPS:
        path = db.SQL_DIR / "rollups" / f"{r.table}.{dialect}.sql"
        return _since(_scoped(path.read_text(encoding="utf-8"), node), since)
    if r.from_days and since is not None:
        return _scoped(from_days_sql(r), node)
    return _since(_scoped(from_events_sql(r), node), since)


def _ordered():
    """Returns SECURITY_ROLLUPS with each all-time rollup after the one it comes from, then
    USER_ROLLUPS and INSIGHT_ROLLUPS."""
    return sorted(SECURITY_ROLLUPS, key=lambda r: r.from_days is not None) \
        + list(USER_ROLLUPS) + list(INSIGHT_ROLLUPS)


def _since(sql: str, since) -> str:
    """Returns ``sql`` (a query whose first column is ``day``) cut to the days from ``since``
    on (bound as :since); unchanged when nothing was ever pruned."""
    if since is None:
        return sql
    return f"SELECT * FROM ({sql}) windowed WHERE day >= :since"


def _where(since) -> str:
    return "" if since is None else " WHERE day >= :since"


def check(engine: sa.Engine) -> list[tuple]:
    """Returns the (day, kind, username, node, rollup, recomputed) rows that differ; [] when
    equal.

    Rows of the security and user rollups that differ come as (table, key..., rollup values,
    recomputed values), None for a missing row. After pruning, only the days from
    retention.pruned_before on are compared (an all-time rollup, against every day of the
    day-keyed one it comes from).
    """
    with db_locks.exclusive(engine, "prune", wait=True), engine.connect() as conn:
        since = retention.pruned_before(conn)
        p = {} if since is None else {"since": since.isoformat()}
        expected = _rows(conn, _since(_from_events(engine), since), p)
        actual = _rows(conn, "SELECT day, kind, username, node, events, bytes, failed"
                             " FROM daily_stats" + _where(since), p)
        keys = sorted(set(expected) | set(actual))
        diff = [k + (actual.get(k), expected.get(k)) for k in keys
                if actual.get(k) != expected.get(k)]
        for r in _ordered():
            cut = "" if r.from_days else _where(since)     # an all-time rollup: all of it
            want = _keyed(conn, _recompute(r, since, db.dialect(conn)), r.columns,
                          len(r.key), p)
            have = _keyed(conn, f"SELECT {', '.join(r.columns)} FROM {r.table}" + cut,
                          r.columns, len(r.key), p)
            diff += [(r.table, *k, have.get(k), want.get(k))
                     for k in sorted(set(want) | set(have)) if have.get(k) != want.get(k)]
        diff += _totals_diff(conn)
        if db.dialect(conn) == "mysql":
            diff += _rare_diff(conn)
    return diff


# stats_totals (migration 015): daily_stats summed over every day (its cells keep the pruned
# days), and the newest time of each cell's events, from the events kept: a cell with none
# kept keeps the time it has (a pruned day is never the newest of a cell with kept events).
# Sums split as hi * 2^31 + lo (SQLite's SUM raises on overflow), added up in Python.
_TOTALS_SUMS = {
    "sqlite": "SELECT kind, username, node, SUM(events), SUM(bytes >> 31),"
              " SUM(bytes & 2147483647), SUM(failed) FROM daily_stats lf WHERE 1 = 1 /*node*/"
              " GROUP BY kind, username, node",
    "mysql": "SELECT kind, username, node, SUM(events), SUM(bytes DIV 2147483648),"
             " SUM(bytes MOD 2147483648), SUM(failed) FROM daily_stats lf WHERE 1 = 1 /*node*/"
             " GROUP BY kind, username, node",
}
_USER_OF_EVENT = "CASE WHEN e.kind = 'login_failed' THEN '' ELSE e.username END"
_TOTALS_NEWEST = (f"SELECT e.kind, {_USER_OF_EVENT}, lf.node, MAX(e.ts)"
                  " FROM events e JOIN log_files lf ON lf.id = e.file_id WHERE 1 = 1 /*node*/"
                  f" GROUP BY e.kind, {_USER_OF_EVENT}, lf.node")


def _totals_expected(conn, node: str | None = None) -> dict[tuple, tuple]:
    """Returns {(kind, username, node): (events, bytes, failed, last_ts)} as stats_totals
    should hold them (for one node, or all); last_ts None where no event of the cell is kept."""
    p = {} if node is None else {"node": node}
    newest = {(k, u, n): _plain("last_ts", ts) for k, u, n, ts in conn.execute(
        sa.text(_scoped(_TOTALS_NEWEST, node is not None)), p)}
    out = {}
    for k, u, n, events, hi, lo, failed in conn.execute(
            sa.text(_scoped(_TOTALS_SUMS[db.dialect(conn)], node is not None)), p):
        total = int(hi or 0) * 2**31 + int(lo or 0)
        out[(k, u, n)] = (int(events), min(max(total, 0), BYTES_CAP), int(failed),
                          newest.get((k, u, n)))
    return out


def _totals_stored(conn, node: str | None = None) -> dict[tuple, tuple]:
    where = "" if node is None else " WHERE node = :node"
    return _keyed(conn, f"SELECT {', '.join(TOTALS_COLUMNS)} FROM stats_totals" + where,
                  TOTALS_COLUMNS, 3, {} if node is None else {"node": node})


def _totals_diff(conn) -> list[tuple]:
    """Returns ('stats_totals', kind, username, node, stored, expected) for each cell that
    differs (None for a missing side); a cell with no event kept is not judged on its time."""
    want, have = _totals_expected(conn), _totals_stored(conn)
    diff = []
    for key in sorted(set(want) | set(have)):
        w, h = want.get(key), have.get(key)
        if w is not None and w[3] is None and h is not None:
            w = w[:3] + h[3:]
        if w != h:
            diff.append(("stats_totals", *key, h, w))
    return diff


def _rebuild_totals(conn, node: str) -> None:
    """Recomputes ``node``'s stats_totals cells (after its daily_stats, in its transaction)."""
    old = _totals_stored(conn, node)
    rows = [(*key, *values[:3], values[3] if values[3] is not None else
             (old[key][3] if key in old else None))
            for key, values in _totals_expected(conn, node).items()]
    conn.execute(sa.text("DELETE FROM stats_totals WHERE node = :node"), {"node": node})
    if rows:
        conn.execute(sa.text(f"INSERT INTO stats_totals ({', '.join(TOTALS_COLUMNS)}) VALUES"
                             f" ({', '.join(':' + c for c in TOTALS_COLUMNS)})"),
                     [dict(zip(TOTALS_COLUMNS, r)) for r in rows])


# events_rare against the rare events (MySQL/MariaDB): the keys of rows missing or
# different there, then of rows there that match no rare event; at most RARE_SHOWN each.
RARE_SHOWN = 1000
_RARE_MISSING = (
    "SELECT w.file_id, w.start_offset, r.failed_ts, r.rare_kind, r.rare_ts, w.failed_ts,"
    f" w.rare_kind, w.rare_ts FROM ({_scoped(RARE_FROM_EVENTS, False)}) w"
    " LEFT JOIN events_rare r ON r.file_id = w.file_id AND r.start_offset = w.start_offset"
    " WHERE r.file_id IS NULL OR NOT (r.failed_ts <=> w.failed_ts"
    " AND r.rare_kind <=> w.rare_kind AND r.rare_ts <=> w.rare_ts)"
    f" ORDER BY w.file_id, w.start_offset LIMIT {RARE_SHOWN}")
_RARE_EXTRA = (
    "SELECT r.file_id, r.start_offset, r.failed_ts, r.rare_kind, r.rare_ts FROM events_rare r"
    " LEFT JOIN events e ON e.file_id = r.file_id AND e.start_offset = r.start_offset"
    " WHERE e.file_id IS NULL OR NOT (e.failed = 1 OR e.kind NOT IN ('upload', 'download'))"
    f" ORDER BY r.file_id, r.start_offset LIMIT {RARE_SHOWN}")


def _rare_diff(conn) -> list[tuple]:
    """Returns ('events_rare', file_id, start_offset, stored, expected) for each row of
    events_rare that is missing, different or extra (None for a missing side)."""
    def values(row):
        return tuple(None if v is None else _plain(c, v) for c, v in zip(RARE_COLUMNS[2:], row))
    diff = []
    for r in conn.execute(sa.text(_RARE_MISSING)):
        have = None if r[2] is None and r[3] is None and r[4] is None else values(r[2:5])
        diff.append(("events_rare", int(r[0]), int(r[1]), have, values(r[5:8])))
    for r in conn.execute(sa.text(_RARE_EXTRA)):
        diff.append(("events_rare", int(r[0]), int(r[1]), values(r[2:5]), None))
    return diff


def nodes(conn) -> list[str]:
    """Returns every node with files or rollup cells."""
    found = set()
    for table in ("log_files", "daily_stats", "stats_totals") + tuple(r.table for r in _ordered()):
        found.update(conn.execute(sa.text(f"SELECT DISTINCT node FROM {table}")).scalars())
    return sorted(found)


def rebuild(engine: sa.Engine) -> int:
    """Recomputes the rollups from events, one node at a time under that node's ingestion
    lock (its cells change only under it, so the other nodes ingest meanwhile; on
    MySQL/MariaDB the recomputing reads lock what they read, so their commits may wait for
    it or be retried after a deadlock), all under the prune lock; returns the daily_stats
    row count. After pruning, only the days from
    retention.pruned_before on are recomputed; earlier days keep their rollups (their
    events are gone)."""
    with db_locks.exclusive(engine, "prune", wait=True):
        with engine.connect() as conn:
            every = nodes(conn)
            since = retention.pruned_before(conn)
        p = {} if since is None else {"since": since.isoformat()}
        cut = " AND day >= :since" if since is not None else ""
        for node in every:
            with db_locks.exclusive(engine, db_locks.ingest_lock(node), wait=True), \
                    engine.begin() as conn:
                where = {"node": node, **p}
                conn.execute(sa.text("DELETE FROM daily_stats WHERE node = :node" + cut), where)
                conn.execute(sa.text("INSERT INTO daily_stats (day, kind, username, node,"
                                     " events, bytes, failed) "
                                     + _since(_from_events(engine, node=True), since)), where)
                for r in _ordered():
                    conn.execute(sa.text(f"DELETE FROM {r.table} WHERE node = :node"
                                         + ("" if r.from_days else cut)), where)
                    conn.execute(sa.text(f"INSERT INTO {r.table} ({', '.join(r.columns)}) "
                                         + _recompute(r, since, db.dialect(conn), node=True)),
                                 where)
                _rebuild_totals(conn, node)
                store.bump_version(conn, db.dialect(conn), node)   # answers kept are void
                if db.dialect(conn) == "mysql":     # events_rare mirrors the events kept
                    conn.execute(sa.text("DELETE r FROM events_rare r JOIN log_files lf"
                                         " ON lf.id = r.file_id WHERE lf.node = :node"), where)
                    conn.execute(sa.text(f"INSERT INTO events_rare ({', '.join(RARE_COLUMNS)}) "
                                         + _scoped(RARE_FROM_EVENTS, True)), where)
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT COUNT(*) FROM daily_stats")).scalar()
