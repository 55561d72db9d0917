"""The rollups (daily_stats, login_failures_daily, bans_daily, user_ips_daily,
user_protocols_daily): rebuild them from the events table, or check that they agree.

The ingester keeps daily_stats in step with events in the same transaction; these two
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
from ingestion import retention
from ingestion.store import BAN_COLUMNS, FAILURE_COLUMNS, USER_ROLLUPS, user_rollup_sql

_COLUMNS = {"login_failures_daily": FAILURE_COLUMNS, "bans_daily": BAN_COLUMNS}


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


# The security rollups: (table, recomputing query, key width); the same SQL on both dialects.
SECURITY = (("login_failures_daily", "login_failures_from_events", 6),
            ("bans_daily", "bans_from_events", 3))


def _named(name: str, node: bool = False) -> str:
    return _scoped((db.SQL_DIR / "rollups" / f"{name}.sql").read_text(encoding="utf-8"), node)


def _plain(value):
    """Returns a cell as comparable text or int (a day or time as its first 23 characters)."""
    if isinstance(value, (int, str)):
        return value if isinstance(value, int) or len(value) < 19 else value.replace("T", " ")
    text = str(value)
    return text[:23] if len(text) > 10 else text


def _keyed(conn, sql: str, width: int, params=None) -> dict[tuple, tuple]:
    out = {}
    for r in conn.execute(sa.text(sql), params or {}):
        cells = [_plain(v) for v in r]
        cells[0] = str(cells[0])[:10]
        out[tuple(cells[:width])] = (int(cells[width]), *cells[width + 1:])
    return out


def _user_cells(conn, sql: str, columns: tuple, width: int, params=None) -> dict:
    """Returns a user rollup's rows {key: values}, the day as 'YYYY-MM-DD', counts as int."""
    out = {}
    for r in conn.execute(sa.text(sql), params or {}):
        cells = tuple(str(v)[:10] if c == "day" else v if isinstance(v, str) else int(v)
                      for c, v in zip(columns, r))
        out[cells[:width]] = cells[width:]
    return out


def _user_recompute(engine_or_conn, table: str, since, node: bool = False) -> str:
    return _since(_scoped(user_rollup_sql(table, db.dialect(engine_or_conn)), node), since)


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

    Rows of the security and user rollups that differ come as (table, key..., rollup,
    recomputed).
    After pruning, only the days from retention.pruned_before on are compared.
    """
    with db.exclusive(engine, "prune", wait=True), engine.connect() as conn:
        since = retention.pruned_before(conn)
        p = {} if since is None else {"since": since.isoformat()}
        expected = _rows(conn, _since(_from_events(engine), since), p)
        actual = _rows(conn, "SELECT day, kind, username, node, events, bytes, failed"
                             " FROM daily_stats" + _where(since), p)
        keys = sorted(set(expected) | set(actual))
        diff = [k + (actual.get(k), expected.get(k)) for k in keys
                if actual.get(k) != expected.get(k)]
        for table, query, width in SECURITY:
            want = _keyed(conn, _since(_named(query), since), width, p)
            have = _keyed(conn, f"SELECT {', '.join(_COLUMNS[table])} FROM {table}"
                          + _where(since), width, p)
            diff += [(table, *k, have.get(k), want.get(k)) for k in sorted(set(want) | set(have))
                     if have.get(k) != want.get(k)]
        for table, columns, width in USER_ROLLUPS:
            want = _user_cells(conn, _user_recompute(conn, table, since), columns, width, p)
            have = _user_cells(conn, f"SELECT {', '.join(columns)} FROM {table}"
                               + _where(since), columns, width, p)
            diff += [(table, *k, have.get(k), want.get(k)) for k in sorted(set(want) | set(have))
                     if have.get(k) != want.get(k)]
    return diff


def nodes(conn) -> list[str]:
    """Returns every node with files or rollup cells."""
    found = set()
    for table in (("log_files", "daily_stats") + tuple(t for t, _q, _w in SECURITY)
                  + tuple(t for t, _c, _w in USER_ROLLUPS)):
        found.update(conn.execute(sa.text(f"SELECT DISTINCT node FROM {table}")).scalars())
    return sorted(found)


def rebuild(engine: sa.Engine) -> int:
    """Recomputes the rollups from events, one node at a time under that node's ingestion
    lock (its cells change only under it, so the other nodes ingest meanwhile), all under
    the prune lock; returns the daily_stats row count. After pruning, only the days from
    retention.pruned_before on are recomputed; earlier days keep their rollups (their
    events are gone)."""
    with db.exclusive(engine, "prune", wait=True):
        with engine.connect() as conn:
            every = nodes(conn)
            since = retention.pruned_before(conn)
        p = {} if since is None else {"since": since.isoformat()}
        cut = " AND day >= :since" if since is not None else ""
        for node in every:
            with db.exclusive(engine, db.ingest_lock(node), wait=True), engine.begin() as conn:
                where = {"node": node, **p}
                conn.execute(sa.text("DELETE FROM daily_stats WHERE node = :node" + cut), where)
                conn.execute(sa.text("INSERT INTO daily_stats (day, kind, username, node,"
                                     " events, bytes, failed) "
                                     + _since(_from_events(engine, node=True), since)), where)
                for table, query, _width in SECURITY:
                    conn.execute(sa.text(f"DELETE FROM {table} WHERE node = :node" + cut), where)
                    conn.execute(sa.text(f"INSERT INTO {table} ({', '.join(_COLUMNS[table])}) "
                                         + _since(_named(query, node=True), since)), where)
                for table, columns, _width in USER_ROLLUPS:
                    conn.execute(sa.text(f"DELETE FROM {table} WHERE node = :node" + cut), where)
                    conn.execute(sa.text(f"INSERT INTO {table} ({', '.join(columns)}) "
                                         + _user_recompute(conn, table, since, node=True)),
                                 where)
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT COUNT(*) FROM daily_stats")).scalar()
