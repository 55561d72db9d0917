"""The rollups (daily_stats and store.SECURITY_ROLLUPS): rebuild them from the events table,
or check that they agree.

The ingester keeps the rollups in step with events in the same transaction; these two
commands are for after a change of the counting rules, and for peace of mind.
"""
from __future__ import annotations

import sqlalchemy as sa

import db
from ingestion.store import SECURITY_ROLLUPS, from_events_sql


def _from_events(engine_or_conn) -> str:
    """Returns the recomputing SELECT of the dialect (sql/rollups/from_events.<dialect>.sql).

    Both clamp bytes to 0..2^62 as the stored cells saturate, and neither overflows.
    """
    path = db.SQL_DIR / "rollups" / f"from_events.{db.dialect(engine_or_conn)}.sql"
    return path.read_text(encoding="utf-8")


def _rows(conn, sql: str) -> dict[tuple, tuple]:
    return {(str(r[0])[:10], r[1], r[2]): (int(r[3]), int(r[4]), int(r[5]))
            for r in conn.execute(sa.text(sql))}


def _plain(column: str, value):
    """Returns a cell as comparable text or int: a day as 'YYYY-MM-DD', a time as
    'YYYY-MM-DD HH:MM:SS.mmm' (SQLite keeps text, MariaDB gives date and datetime)."""
    if column in ("day", "first_day", "last_day"):
        return str(value)[:10]
    if column in ("first_ts", "last_ts"):
        if isinstance(value, str):
            return value.replace("T", " ")
        return value.isoformat(sep=" ", timespec="milliseconds")
    return value if isinstance(value, str) else int(value)


def _keyed(conn, sql: str, columns: tuple, width: int) -> dict[tuple, tuple]:
    out = {}
    for r in conn.execute(sa.text(sql)):
        cells = tuple(_plain(c, v) for c, v in zip(columns, r))
        out[cells[:width]] = cells[width:]
    return out


def check(engine: sa.Engine) -> list[tuple]:
    """Returns the (day, kind, username, rollup, recomputed) rows that differ; [] when equal.

    Rows of the security rollups that differ come as (table, key..., rollup values,
    recomputed values), None for a missing row.
    """
    with engine.connect() as conn:
        expected = _rows(conn, _from_events(engine))
        actual = _rows(conn, "SELECT day, kind, username, events, bytes, failed FROM daily_stats")
        keys = sorted(set(expected) | set(actual))
        diff = [k + (actual.get(k), expected.get(k)) for k in keys
                if actual.get(k) != expected.get(k)]
        for r in SECURITY_ROLLUPS:
            want = _keyed(conn, from_events_sql(r), r.columns, len(r.key))
            have = _keyed(conn, f"SELECT {', '.join(r.columns)} FROM {r.table}", r.columns,
                          len(r.key))
            diff += [(r.table, *k, have.get(k), want.get(k))
                     for k in sorted(set(want) | set(have)) if have.get(k) != want.get(k)]
    return diff


def rebuild(engine: sa.Engine) -> int:
    """Recomputes every rollup from events under the ingestion lock; returns the row count."""
    with db.exclusive(engine, "ingest", wait=True), engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM daily_stats"))
        select = "\n".join(x for x in _from_events(engine).splitlines() if not x.startswith("--"))
        conn.execute(sa.text("INSERT INTO daily_stats (day, kind, username, events, bytes, failed) "
                             + select))
        for r in SECURITY_ROLLUPS:
            conn.execute(sa.text(f"DELETE FROM {r.table}"))
            conn.execute(sa.text(f"INSERT INTO {r.table} ({', '.join(r.columns)}) "
                                 + from_events_sql(r)))
        return conn.execute(sa.text("SELECT COUNT(*) FROM daily_stats")).scalar()
