"""Retention: drop raw events older than EVENTS_RETENTION_DAYS, a bounded batch at a time.

What goes: rows of ``events`` whose day is more than N days before today (the dashboard
host's calendar day; ``ts`` is SFTPGo's own clock, so a day of skew between the two moves the
cut by a day at most). What stays: every rollup (daily_stats, bans_daily, the login failure
rollups of migration 010), so the overview and the security view are complete for any
range; log_files and checkpoints, so a pruned file is never read again; malformed_lines,
which have no time of their own and stay as the evidence of each file's malformed count.

Each batch is one short transaction: read up to ``batch_rows`` keys of due events (oldest
first, on ix_events_ts, a plain read that locks nothing), then delete exactly those rows by
primary key. On MariaDB that locks those rows only, no gaps and no table, so an ingester
appending at the same time is never held up by more than one batch. The same transaction
raises ``events_retention.pruned_before``: the days from it on are always whole, which is
the window ``rollups.check`` / ``rollups.rebuild`` compare and recompute. A kill at any
instant leaves the batch done or not done. One pruner runs at a time per database (the
"prune" lock); ingestion passes never wait for it.
"""
from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable, Iterable

import sqlalchemy as sa

import db
import db_locks

from .sqlgen import now_text
from .store import NO_NODE, bump_version

log = logging.getLogger(__name__)

BATCH_ROWS = 2000          # rows per delete transaction
PASS_ROWS = 10_000         # rows one ingestion pass may prune ...
PASS_SECONDS = 0.5         # ... and the time it may spend on it
IDLE_RECHECK_S = 60.0      # with nothing due, look again this often (or after new events)

Seam = Callable[[str], None]


@dataclass
class Pruned:
    """What a prune did."""
    cutoff: date | None = None   # events of days before this were due
    deleted: int = 0             # rows deleted
    batches: int = 0             # delete transactions committed
    done: bool = True            # nothing due is left (False: a budget or a stop ended it)
    busy: bool = False           # another pruner held the lock: nothing was done


def cutoff_day(days: int, today: date) -> date | None:
    """Returns the first day kept with a retention of ``days`` (None: keep everything).

    An event is dropped when its day is more than ``days`` days before ``today``: with 30,
    on 2024-09-30 the days from 2024-08-31 on are kept.
    """
    return today - timedelta(days=days) if days and days > 0 else None


def _bound(cutoff: date) -> str:
    return f"{cutoff.isoformat()} 00:00:00.000"


def prune(engine: sa.Engine, cutoff: date, file_ids: Iterable[int] | None = None,
          batch_rows: int = BATCH_ROWS, max_rows: int | None = None,
          max_seconds: float | None = None, should_stop: Callable[[], bool] | None = None,
          seam: Seam | None = None, wait: bool = False) -> Pruned:
    """Deletes the events of days before ``cutoff``, oldest first; returns what it did.

    ``file_ids``: only the events of these generations (a node's files); None: all.
    Stops after ``max_rows`` rows or ``max_seconds`` (checked between batches), or when
    ``should_stop()``. ``wait``: wait for another pruner to finish, else return busy.
    ``seam`` is called with 'prune_deleted' (rows deleted, not committed) and
    'prune_committed' around each batch's commit (the crash tests kill there).
    """
    files = None if file_ids is None else sorted(set(file_ids))
    result = Pruned(cutoff=cutoff)
    if files == []:
        return result
    seam = seam or (lambda name: None)
    should_stop = should_stop or (lambda: False)
    deadline = time.monotonic() + max_seconds if max_seconds is not None else None
    try:
        with db_locks.exclusive(engine, "prune", wait=wait):
            while True:
                if should_stop() or (max_rows is not None and result.deleted >= max_rows) or \
                        (deadline is not None and time.monotonic() >= deadline):
                    result.done = False
                    break
                n = batch_rows if max_rows is None else min(batch_rows, max_rows - result.deleted)
                deleted = _batch(engine, cutoff, files, n, seam)
                if deleted == 0:
                    break
                result.deleted += deleted
                result.batches += 1
                seam("prune_committed")
    except db_locks.Busy:
        return Pruned(cutoff=cutoff, done=False, busy=True)
    if result.deleted:
        log.info("Pruned events. before=%s rows=%d batches=%d done=%s", cutoff,
                 result.deleted, result.batches, result.done)
    return result


_DUE = ("SELECT file_id, start_offset FROM events WHERE ts < :before{files}"
        " ORDER BY ts, file_id, start_offset LIMIT :n")
# By primary key only (rows never change once stored). SQLite: a list per file, one
# statement. MySQL/MariaDB: one full-key equality per row, the one lookup InnoDB locks without
# a gap or the next record (an IN list is a range scan there: next-key locks that would make
# an ingester appending beside a pruned row wait, or deadlock with it).
_DELETE = sa.text("DELETE FROM events WHERE file_id = :f AND start_offset IN :offsets"
                  ).bindparams(sa.bindparam("offsets", expanding=True))
_DELETE_ONE = sa.text("DELETE FROM events WHERE file_id = :f AND start_offset = :o")
# MySQL/MariaDB: the events' copies in events_rare (migration 013). Its keys among a batch's
# are read first (a plain read: no lock) and only those are deleted, each by its full key:
# deleting a key that is not there would lock the gap where it would be.
_RARE_KEYS = sa.text("SELECT start_offset FROM events_rare WHERE file_id = :f"
                     " AND start_offset BETWEEN :lo AND :hi")
_DELETE_RARE_ONE = sa.text("DELETE FROM events_rare WHERE file_id = :f AND start_offset = :o")
_RAISE = sa.text(
    "UPDATE events_retention SET events_pruned = events_pruned + :n, pruned_at = :now,"
    " pruned_before = CASE WHEN pruned_before IS NULL OR pruned_before < :day THEN :day"
    " ELSE pruned_before END WHERE id = 1")


def _due_query(files: list[int] | None) -> sa.TextClause:
    if files is None:
        return sa.text(_DUE.format(files=""))
    return sa.text(_DUE.format(files=" AND file_id IN :files")).bindparams(
        sa.bindparam("files", expanding=True))


def _batch(engine: sa.Engine, cutoff: date, files: list[int] | None, n: int, seam: Seam) -> int:
    """Deletes up to ``n`` due events in one transaction; returns how many."""
    before = _bound(cutoff)
    params = {"before": before, "n": n}
    if files is not None:
        params["files"] = files
    with engine.begin() as conn:
        keys = conn.execute(_due_query(files), params).all()
        if not keys:
            return 0
        by_file: dict[int, list[int]] = defaultdict(list)
        for file_id, offset in keys:
            by_file[int(file_id)].append(int(offset))
        deleted = 0
        for file_id in sorted(by_file):            # one order for every pruner: no deadlock
            offsets = sorted(by_file[file_id])
            if db.dialect(conn) == "sqlite":
                deleted += conn.execute(_DELETE, {"f": file_id, "offsets": offsets}).rowcount
                continue
            deleted += conn.execute(_DELETE_ONE, [{"f": file_id, "o": o}
                                                  for o in offsets]).rowcount
            due = set(offsets)
            rare = [o for o in conn.execute(_RARE_KEYS, {"f": file_id, "lo": offsets[0],
                                                         "hi": offsets[-1]}).scalars()
                    if o in due]
            if rare:
                conn.execute(_DELETE_RARE_ONE, [{"f": file_id, "o": o} for o in rare])
        conn.execute(_RAISE, {"n": deleted, "now": now_text(), "day": cutoff.isoformat()})
        if deleted:
            bump_version(conn, db.dialect(conn), NO_NODE)
        seam("prune_deleted")
    return deleted


def pruned_before(conn) -> date | None:
    """Returns the day before which raw events may have been pruned (None: never pruned).

    The days from it on hold every event that was ingested for them.
    """
    value = conn.execute(sa.text("SELECT pruned_before FROM events_retention WHERE id = 1")).scalar()
    return date.fromisoformat(str(value)[:10]) if value is not None else None


def due(conn, cutoff: date, file_ids: Iterable[int] | None = None) -> int:
    """Returns how many events are due for pruning at ``cutoff`` (a count: for tests and
    messages, not for the passes)."""
    files = None if file_ids is None else sorted(set(file_ids))
    if files == []:
        return 0
    sql = "SELECT COUNT(*) FROM events WHERE ts < :before"
    params = {"before": _bound(cutoff)}
    query = sa.text(sql)
    if files is not None:
        query = sa.text(sql + " AND file_id IN :files").bindparams(
            sa.bindparam("files", expanding=True))
        params["files"] = files
    return int(conn.execute(query, params).scalar() or 0)


class Pruner:
    """The ingestion passes' share of retention: a bounded prune after a pass, when due.

    ``file_ids`` (a callable returning ids, or None for all) scopes it to some generations;
    ``today`` is the clock (a callable), for tests.
    """

    def __init__(self, engine: sa.Engine, days: int,
                 file_ids: Callable[[], Iterable[int]] | None = None,
                 today: Callable[[], date] = date.today, max_rows: int = PASS_ROWS,
                 max_seconds: float = PASS_SECONDS, seam: Seam | None = None):
        self.engine = engine
        self.days = days
        self.file_ids = file_ids
        self.today = today
        self.max_rows = max_rows
        self.max_seconds = max_seconds
        self.seam = seam
        self._idle: tuple[date, float] | None = None    # (cutoff, when) nothing was due

    def step(self, new_events: bool = False,
             should_stop: Callable[[], bool] | None = None) -> Pruned | None:
        """Prunes within the pass budget; returns what it did (None: off, or nothing to look
        at: nothing was due lately, no new events and the same cutoff)."""
        cutoff = cutoff_day(self.days, self.today())
        if cutoff is None:
            return None
        if self._idle is not None and not new_events and self._idle[0] == cutoff and \
                time.monotonic() - self._idle[1] < IDLE_RECHECK_S:
            return None
        files = None if self.file_ids is None else list(self.file_ids())
        result = prune(self.engine, cutoff, files, max_rows=self.max_rows,
                       max_seconds=self.max_seconds, should_stop=should_stop, seam=self.seam)
        self._idle = (cutoff, time.monotonic()) if result.done and not result.busy else None
        return result
