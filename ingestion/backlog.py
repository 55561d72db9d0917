"""Backlog mode: load a large backlog without keeping the secondary `events` indexes up, then
build them once, sorted (docs/database.md#backlog-mode).

Keeping the secondary indexes of `events` up to date row by row is much of what a SQLite
pass costs (docs/benchmarks.md, the floor), most where many rows share a time (each inserts
in the middle of the time-ordered indexes). When a pass finds much more to read than a tick's
budget (``INGEST_BACKLOG_BYTES``), and at least as much as is stored already (the build sorts
the whole table), it drops them, recording each with the statement that recreates it in
``deferred_indexes`` (migration 019) in the same transaction; it loads; and once what is left
is under the threshold, it builds them (db.build_deferred_indexes: one transaction each, with
the deletion of its row). Nothing else changes: the primary key (file_id, start_offset) that
makes a replay fail, the checkpoints and the rollups are kept in every batch's transaction as
always, and none of the ingester's own reads during the load needs a dropped index (the
evidence rule's last stored event and a lost checkpoint's recovery read the primary key).

A kill at any instant leaves either the indexes or their rows in `deferred_indexes`; the next
start (db.migrate) builds whatever is marked when no pass of its node is under way. Pages read
`events` as before, by full scans where an index is missing: slower, never wrong.

MySQL/MariaDB: never. DDL there commits on its own (the drop and its marker could not be one
transaction), an `ALTER TABLE ... ADD INDEX` on a large table holds a metadata lock that
other nodes' inserts and the pages queue behind at its end, and other nodes write into the
same table while it runs.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa

import db

from .sqlgen import now_text

log = logging.getLogger(__name__)

# The full secondary indexes of events (migration 004); not the primary key, nor 010's partial
# ix_events_failed and ix_events_kind: they take few rows on most logs, so keeping them up
# costs less than the scan of the whole table that building each again would.
DEFERRABLE = ("ix_events_ts", "ix_events_user", "ix_events_ip")
# The seams of a backlog (called like run.SEAMS', for crash tests): after the drop committed;
# when the load is over and the build begins; in db.build_deferred_indexes, before and after
# each index's commit.
SEAMS = ("backlog_started", "backlog_loaded", "index_built", "index_committed")


def stored_bytes(conn) -> int:
    """Returns the bytes read into the database so far, over every node (the checkpoints)."""
    return int(conn.execute(sa.text("SELECT COALESCE(SUM(committed_offset), 0)"
                                    " FROM checkpoints")).scalar() or 0)


def deferred(conn) -> list[tuple[str, str, str]]:
    """Returns (index, node, since) of every index a backlog dropped and has not built yet."""
    return [tuple(r) for r in conn.execute(sa.text(
        "SELECT name, node, since FROM deferred_indexes ORDER BY name"))]


def deferring(engine: sa.Engine) -> bool:
    """Returns True while some index of `events` is dropped for a backlog."""
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT COUNT(*) FROM deferred_indexes")).scalar() > 0


def begin(engine: sa.Engine, node: str, pending: int, threshold: int) -> bool:
    """Drops the secondary `events` indexes for ``node``'s backlog of ``pending`` bytes when it
    is large enough; returns True when ``node``'s backlog is under way (begun now, or before
    and not finished). The caller holds ``node``'s ingestion lock."""
    if db.dialect(engine) != "sqlite":
        return False
    with engine.begin() as conn:
        marks = deferred(conn)
        if marks:               # a backlog under way: this node's goes on, another's is its own
            return any(n == node for _i, n, _s in marks)
        if threshold <= 0 or pending < threshold or pending < stored_bytes(conn):
            return False
        defs = dict(conn.execute(sa.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'"
            " AND sql IS NOT NULL")).all())
        names = [n for n in DEFERRABLE if n in defs]
        if not names:
            return False
        since = now_text()
        # The rows first: that begins the transaction the DROPs then join (pysqlite begins one
        # before a DML statement, not before DDL), so marks and drops commit together.
        conn.execute(sa.text("INSERT INTO deferred_indexes (name, node, definition, since)"
                             " VALUES (:name, :node, :definition, :since)"),
                     [{"name": n, "node": node, "definition": defs[n], "since": since}
                      for n in names])
        for n in names:
            conn.exec_driver_sql(f"DROP INDEX {n}")     # names of DEFERRABLE only
    log.info("Backlog mode: %d bytes to read; the events table's secondary indexes are"
                " dropped and will be built once at its end. node=%s", pending, node)
    return True


def finish(engine: sa.Engine, node: str, seam=None) -> int:
    """Builds the indexes ``node``'s backlog dropped; returns how many. The caller holds
    ``node``'s ingestion lock."""
    with engine.connect() as conn:
        if not any(n == node for _i, n, _s in deferred(conn)):
            return 0
    if seam is not None:
        seam("backlog_loaded")
    n = db.build_deferred_indexes(engine, node, seam)
    if n:
        log.info("Backlog mode over: %d indexes of the events table built. node=%s", n, node)
    return n
