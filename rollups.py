"""The daily_stats rollup: rebuild it from the events table, or check that the two agree.

The ingester keeps daily_stats in step with events in the same transaction; these two
commands are for after a change of the counting rules, and for peace of mind.
"""
from __future__ import annotations

import sqlalchemy as sa

import db


def _from_events(engine_or_conn) -> str:
    """Returns the recomputing SELECT of the dialect (sql/rollups/from_events.<dialect>.sql).

    Both clamp bytes to 0..2^62 as the stored cells saturate, and neither overflows.
    """
    path = db.SQL_DIR / "rollups" / f"from_events.{db.dialect(engine_or_conn)}.sql"
    return path.read_text(encoding="utf-8")


def _rows(conn, sql: str) -> dict[tuple, tuple]:
    return {(str(r[0])[:10], r[1], r[2]): (int(r[3]), int(r[4]), int(r[5]))
            for r in conn.execute(sa.text(sql))}


def check(engine: sa.Engine) -> list[tuple]:
    """Returns the (day, kind, username, rollup, recomputed) rows that differ; [] when equal."""
    with engine.connect() as conn:
        expected = _rows(conn, _from_events(engine))
        actual = _rows(conn, "SELECT day, kind, username, events, bytes, failed FROM daily_stats")
    keys = sorted(set(expected) | set(actual))
    return [k + (actual.get(k), expected.get(k)) for k in keys if actual.get(k) != expected.get(k)]


def rebuild(engine: sa.Engine) -> int:
    """Recomputes daily_stats from events under the ingestion lock; returns the row count."""
    with db.exclusive(engine, "ingest", wait=True), engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM daily_stats"))
        select = "\n".join(x for x in _from_events(engine).splitlines() if not x.startswith("--"))
        conn.execute(sa.text("INSERT INTO daily_stats (day, kind, username, events, bytes, failed) "
                             + select))
        return conn.execute(sa.text("SELECT COUNT(*) FROM daily_stats")).scalar()
