"""Write a batch: its events, malformed lines, rollup increments and checkpoint, in one
transaction.

The checkpoint moves only inside the transaction that stores the rows it covers, and only
from the offset this pass started from (optimistic check), so a crash at any instant, or a
second writer, can neither lose nor duplicate a line. The unique key (file_id,
start_offset) backs that up: a replay fails loudly instead of storing twice. What the rollups
are is rollup_tables.py's, how a batch counts into them increments.py's, the SQL text of
inserts sqlgen.py's, MariaDB's rare-event keys rare.py's, and generations.py keeps the files,
checkpoints and node status.
"""
from __future__ import annotations

import sqlalchemy as sa

from . import loadfiles
from .batch import EventRow
from .increments import batch_increments
from .loadfiles import events_tsv, rare_tsv
from .parse import NOT_MALFORMED
from .rare import RARE_COLUMNS, rare_rows, RARE_SQL
from .rollup_tables import ROLLUP_COLUMNS, UPSERT_SQL, UPSERT_TAIL
from .sqlgen import insert_sql, insert_sqlite, now_text


EVENT_COLUMNS = EventRow._fields     # the events table's columns, declared once: batch.EventRow
# A reject is (file_id, start_offset, end_offset, reason, sample), or with a 6th item, the
# number of lines it stands for (a run of blank lines: see batch.RejectRow); 1 when absent.
MALFORMED_COLUMNS = ("file_id", "start_offset", "end_offset", "reason", "sample", "line_count")


class CheckpointMoved(RuntimeError):
    """The checkpoint is not where this pass found it: someone else wrote; retry later."""


_SQL = {
    d: {
        "events": insert_sql("events", EVENT_COLUMNS, d),
        "malformed": insert_sql("malformed_lines", MALFORMED_COLUMNS, d),
    }
    for d in ("sqlite", "mysql")
}


_ADVANCE = sa.text(
    "UPDATE checkpoints SET committed_offset = :new, marker = :marker,"
    " line_count = line_count + :lines, event_count = event_count + :events,"
    " malformed_count = malformed_count + :malformed, updated_at = :now"
    " WHERE file_id = :file_id AND committed_offset = :old")


# The data version (migration 016): a row per node raised by one in the transaction of each
# write that changes a figure, so the dashboard's answers kept under the old version are
# never served again, in any process (dashboard/answers.py reads the sum).
_BUMP = {"sqlite": sa.text("INSERT INTO data_version (node, version) VALUES (:node, 1)"
                           " ON CONFLICT (node) DO UPDATE SET version = version + 1"),
         "mysql": sa.text("INSERT INTO data_version (node, version) VALUES (:node, 1)"
                          " ON DUPLICATE KEY UPDATE version = version + 1")}
NO_NODE = ""          # the row of a change that is no one node's (retention's deletes)


def bump_version(conn, dialect: str, node: str) -> None:
    """Raises the data version (``node``'s row) in the caller's transaction."""
    conn.execute(_BUMP[dialect], {"node": node})


def _lines_of(row: tuple) -> int:
    return row[5] if len(row) > 5 else 1


def malformed_count(rejects: list[tuple]) -> int:
    """Returns how many kept lines are malformed (not a JSON object).

    A JSON object that would be an event but has an unusable ``time``, ``size_bytes`` or text
    field is kept too, for inspection (``bad_time``, ``bad_size``, ``bad_value``); it is not
    malformed under the contract. A row standing for a run counts its lines.
    """
    return sum(_lines_of(r) for r in rejects if r[3] not in NOT_MALFORMED)


def store_batch(conn, dialect: str, file_id: int, old_offset: int, new_offset: int,
                marker: bytes, events: list[tuple], rejects: list[tuple], lines: int,
                between=None, bulk: bool = False, rollups: bool = True, *, node: str) -> None:
    """Stores one batch and moves the file's checkpoint from old_offset to new_offset.

    ``node`` is the file's node: the rollup cells the events count in are that node's (the
    events themselves carry no node: theirs is their file's).

    ``between`` is called after the rows and before the checkpoint (a seam for crash tests).
    ``bulk`` sends the events (and their events_rare keys) to MySQL/MariaDB with LOAD DATA
    LOCAL (see bulk_load_available).
    ``rollups=False`` leaves daily_stats, stats_totals and the SECURITY_, USER_ and
    INSIGHT_ROLLUPS alone: only for measuring what the rollups cost.
    """
    sql = _SQL[dialect]
    if events:
        if bulk:
            _load(conn, _LOAD_EVENTS, events_tsv(events), len(events))
        elif dialect == "sqlite":
            insert_sqlite(conn, "events", EVENT_COLUMNS, events)
        else:
            conn.exec_driver_sql(sql["events"], events)
        if dialect == "mysql" and (rare := rare_rows(events)):
            if bulk:       # PyMySQL's escaping of each value costs more than the server's work
                _load(conn, _LOAD_RARE, rare_tsv(rare), len(rare))
            else:
                conn.exec_driver_sql(RARE_SQL, rare)
        if rollups:
            for table, rows in batch_increments(events, node).items():
                if dialect == "sqlite":
                    insert_sqlite(conn, table, ROLLUP_COLUMNS[table], rows,
                                   UPSERT_TAIL["sqlite"][table])
                else:
                    conn.exec_driver_sql(UPSERT_SQL["mysql"][table], rows)
    if rejects:
        conn.exec_driver_sql(sql["malformed"], [r if len(r) > 5 else (*r, 1) for r in rejects])
    if between is not None:
        between()
    moved = conn.execute(_ADVANCE, {
        "new": new_offset, "marker": marker, "lines": lines, "events": len(events),
        "malformed": malformed_count(rejects), "now": now_text(), "file_id": file_id,
        "old": old_offset})
    if moved.rowcount != 1:
        raise CheckpointMoved(f"file_id={file_id} expected offset {old_offset}")
    if events:                # last: the row is held only until the commit that follows
        bump_version(conn, dialect, node)


_LOAD_EVENTS = ("LOAD DATA LOCAL INFILE %s INTO TABLE events CHARACTER SET utf8mb4 "
                f"({', '.join(EVENT_COLUMNS)})")
_LOAD_RARE = ("LOAD DATA LOCAL INFILE %s INTO TABLE events_rare CHARACTER SET utf8mb4 "
              f"({', '.join(RARE_COLUMNS)})")


def bulk_load_available(conn) -> bool:
    """Returns True when the MySQL/MariaDB server accepts LOAD DATA LOCAL."""
    try:
        return bool(conn.exec_driver_sql("SELECT @@GLOBAL.local_infile").scalar())
    except sa.exc.DBAPIError:
        return False


def _load(conn, statement: str, data: bytes, rows: int) -> None:
    """Loads ``rows`` rows of LOAD DATA text through a file in /dev/shm (or the temp dir),
    removed afterwards (a killed process's file is swept later: loadfiles.py)."""
    with loadfiles.load_file(data) as path:
        loaded = conn.exec_driver_sql(statement, (path,)).rowcount
    if loaded != rows:        # LOCAL turns duplicate keys into warnings: refuse them here
        raise CheckpointMoved(f"LOAD DATA stored {loaded} of {rows} rows")
