"""The rollups (daily_stats, login_failures_daily, bans_daily): rebuild them from the events
table, or check that they agree.

The ingester keeps daily_stats in step with events in the same transaction; these two
commands are for after a change of the counting rules, and for peace of mind.
"""
from __future__ import annotations

import sqlalchemy as sa

import db
from ingestion.store import BAN_COLUMNS, FAILURE_COLUMNS

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


def _rows(conn, sql: str) -> dict[tuple, tuple]:
    return {(str(r[0])[:10], r[1], r[2], r[3]): (int(r[4]), int(r[5]), int(r[6]))
            for r in conn.execute(sa.text(sql))}


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


def _keyed(conn, sql: str, width: int) -> dict[tuple, tuple]:
    out = {}
    for r in conn.execute(sa.text(sql)):
        cells = [_plain(v) for v in r]
        cells[0] = str(cells[0])[:10]
        out[tuple(cells[:width])] = (int(cells[width]), *cells[width + 1:])
    return out


def check(engine: sa.Engine) -> list[tuple]:
    """Returns the (day, kind, username, node, rollup, recomputed) rows that differ; [] when
    equal.

    Rows of the security rollups that differ come as (table, key..., rollup, recomputed).
    """
    with engine.connect() as conn:
        expected = _rows(conn, _from_events(engine))
        actual = _rows(conn, "SELECT day, kind, username, node, events, bytes, failed"
                             " FROM daily_stats")
        keys = sorted(set(expected) | set(actual))
        diff = [k + (actual.get(k), expected.get(k)) for k in keys
                if actual.get(k) != expected.get(k)]
        for table, query, width in SECURITY:
            want = _keyed(conn, _named(query), width)
            have = _keyed(conn, f"SELECT {', '.join(_COLUMNS[table])} FROM {table}", width)
            diff += [(table, *k, have.get(k), want.get(k)) for k in sorted(set(want) | set(have))
                     if have.get(k) != want.get(k)]
    return diff


def nodes(conn) -> list[str]:
    """Returns every node with files or rollup cells."""
    found = set()
    for table in ("log_files", "daily_stats") + tuple(t for t, _q, _w in SECURITY):
        found.update(conn.execute(sa.text(f"SELECT DISTINCT node FROM {table}")).scalars())
    return sorted(found)


def rebuild(engine: sa.Engine) -> int:
    """Recomputes every rollup from events, one node at a time under that node's ingestion
    lock (its cells change only under it, so the other nodes ingest meanwhile); returns the
    row count of daily_stats."""
    with engine.connect() as conn:
        every = nodes(conn)
    for node in every:
        with db.exclusive(engine, db.ingest_lock(node), wait=True), engine.begin() as conn:
            where = {"node": node}
            conn.execute(sa.text("DELETE FROM daily_stats WHERE node = :node"), where)
            conn.execute(sa.text("INSERT INTO daily_stats (day, kind, username, node, events,"
                                 " bytes, failed) " + _from_events(engine, node=True)), where)
            for table, query, _width in SECURITY:
                conn.execute(sa.text(f"DELETE FROM {table} WHERE node = :node"), where)
                conn.execute(sa.text(f"INSERT INTO {table} ({', '.join(_COLUMNS[table])}) "
                                     + _named(query, node=True)), where)
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT COUNT(*) FROM daily_stats")).scalar()
