"""One ingestion pass and run-until-done: the code that ties the rooms together.

A pass: take the lock (or report busy); the tracker lists the folder, opens each file once
and matches the open files to generations; then each generation with pending bytes is read,
oldest first, one committed batch at a time (reader -> batch -> commit), until nothing is
pending or the byte/time budget is spent; last, the tracker releases what is gone.

One open file per generation per pass, verified before it is read: a file's identity (inode,
head, marker) and its lines are read through the one descriptor it was identified by, so a
rotation that lands anywhere in a pass can neither make it read one file's bytes as another's
nor make it report a renamed file as lost (see tracker.py). --follow's loop of passes is
follow.py's; what a pass reports, progress.py's.
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from typing import Callable

import sqlalchemy as sa

import db
import db_file
import db_locks
from settings import Settings

from . import batch as batches, generations
from . import backlog, parse, reader, retention, store
from .commit import BatchCommitter, CommitThread
from .identity import Generation, ToRead
from .progress import Progress, count_pending, summed
from .sightings import OPEN_SLICE, holds
from .tracker import Tracker, foreign_problem

log = logging.getLogger(__name__)

TAIL_GRACE_S = 5.0   # a rotated file's unterminated tail is taken once it is this old

# The points of a pass where a seam (see Ingester) is called, in order.
SEAMS = ("listed", "opened", "marker", "claimed", "after_read", "after_insert_before_checkpoint",
         "after_checkpoint_before_commit", "after_commit", "batch", "settle")

Seam = Callable[[str], None]

# A batch the database refused (a value it would not take, a row it already holds, a
# checkpoint another process moved): that file waits with its reason recorded, the others go on.
REFUSED = (sa.exc.DataError, sa.exc.IntegrityError, store.CheckpointMoved)


def crash_seam(point: str, after_batches: int = 0) -> Seam:
    """Returns a seam that SIGKILLs this process at ``point`` once ``after_batches`` committed.

    For the crash tests: a real kill -9, with the database in whatever state that point leaves.
    """
    done = [0]

    def seam(name: str) -> None:
        if name == "after_commit":
            done[0] += 1
        if name == point and done[0] >= after_batches:
            os.kill(os.getpid(), signal.SIGKILL)
    return seam


class Ingester:
    """Ingests one log folder into one database; holds only caches, never the truth.

    ``seam``, when given, is called with each name of SEAMS as the pass reaches that point: a
    test can rotate, gzip or kill there (see crash_seam). ``tail_grace_s`` (TAIL_GRACE_S),
    ``head_bytes`` (reader.HEAD_BYTES: how much of a file's start identifies it) and
    ``open_slice`` (sightings.OPEN_SLICE) are the product's constants by default; a test
    passes another value (to reach a limit with little data, or to change one between runs).
    """

    def __init__(self, engine: sa.Engine, settings: Settings, seam: Seam | None = None, *,
                 tail_grace_s: float = TAIL_GRACE_S, head_bytes: int = reader.HEAD_BYTES,
                 open_slice: int = OPEN_SLICE):
        self.engine = engine
        self.settings = settings
        self._seam = seam or (lambda name: None)
        self.tail_grace_s = tail_grace_s
        self.tracker = Tracker(engine, settings, self._seam, head_bytes=head_bytes,
                               open_slice=open_slice)
        self.commit = BatchCommitter(engine, self._seam, settings.node)
        self._committer: CommitThread | None = None   # the commit thread of the pass under way
        self._db_file = db_file.FileWatch(engine.url.render_as_string(hide_password=False),
                                          "the ingester")
        # A node's passes prune only its own files' events (node A never touches node B's
        # rows); `ingest.py --prune` prunes every node's, a stopped node's included.
        self.pruner = retention.Pruner(engine, settings.events_retention_days,
                                       file_ids=self._own_files)
        from alerts.hook import AlertHook      # judges the alert rules after each pass
        self.alerts = AlertHook(engine, settings, self._seam)
        self._in_backlog = False     # the last pass left this node's backlog open (indexes out)

    def _own_files(self) -> list[int]:
        with self.engine.connect() as conn:
            return generations.node_files(conn, [self.settings.node])

    def close(self) -> None:
        """Lets go of the files held open between passes."""
        self.tracker.close()
        self.alerts.close()

    # --- passes ----------------------------------------------------------------------------

    def run_pass(self, max_bytes: int | None = None, max_seconds: float | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 on_batch: Callable[[Progress], None] | None = None,
                 min_gap_s: float | None = None) -> Progress:
        """Ingests what is new, within the budget; returns the progress (busy if locked).

        ``min_gap_s``: when this node's last pass (in any process: its node_status stamp,
        on the database's clock) ended less than this ago, do nothing and return busy, as
        if that pass were this one (the dashboard's workers and screens share one pass per
        gap, so the data, and the answers kept under its version, change once per gap).

        Raises db.DatabaseBroken, before touching the database, when its SQLite file was
        deleted or replaced since this ingester started: never a silent new, empty database.
        """
        self._db_file.check()
        try:
            lock = db_locks.ingest_lock(self.settings.node)
            with db_locks.exclusive(self.engine, lock, wait=False):
                if min_gap_s and self._passed_within(min_gap_s):
                    return Progress(busy=True)
                prog = self._pass(max_bytes, max_seconds, should_stop or (lambda: False),
                                  on_batch)
        except db_locks.Busy:
            return Progress(busy=True)
        except sa.exc.DBAPIError:
            raise                        # nowhere to record it: the caller reports the outage
        except Exception as exc:         # a missing folder, an unreadable one: keep a trace
            with contextlib.suppress(sa.exc.DBAPIError), self.engine.begin() as conn:
                generations.record_error(conn, self.settings.node, f"{type(exc).__name__}: {exc}")
            raise
        self._prune(prog, should_stop)
        if not self._in_backlog:     # judging walks the indexes a backlog drops: after it
            self.alerts.after_pass(prog, should_stop)     # outside the lock; never raises
        return prog

    def _passed_within(self, seconds: float) -> bool:
        """Whether this node's last pass ended less than ``seconds`` ago (database clock)."""
        with self.engine.connect() as conn:
            epoch = generations.DB_EPOCH[db.dialect(conn)]
            ago = conn.execute(sa.text(
                f"SELECT {epoch} - last_pass_epoch FROM node_status WHERE node = :node"),
                {"node": self.settings.node}).scalar()
        return ago is not None and 0 <= float(ago) < seconds

    def _prune(self, prog: Progress, should_stop) -> None:
        """Drops due old events within the pass budget, after the lock is released: the
        next pass (here or in another process) never waits for it. Not during a backlog:
        the due events are found through ix_events_ts."""
        try:
            if self.settings.events_retention_days and backlog.deferring(self.engine):
                return
            done = self.pruner.step(new_events=prog.events > 0, should_stop=should_stop)
        except sa.exc.DBAPIError as exc:      # the pass's work is committed; retry later
            log.warning("Pruning old events failed, will retry. reason=%s", db.error_reason(exc))
            return
        if done is not None:
            prog.pruned = done.deleted

    def run_until_done(self, max_seconds: float | None = None,
                       should_stop: Callable[[], bool] | None = None,
                       on_batch: Callable[[Progress], None] | None = None,
                       busy_wait_s: float = 0.2) -> Progress:
        """Runs passes until nothing is left (or time is up, or ``should_stop``); returns the sum.

        A pass that finds the lock taken waits its turn. ``on_batch`` gets the progress of the
        run so far after each committed batch.
        """
        should_stop = should_stop or (lambda: False)
        deadline = time.monotonic() + max_seconds if max_seconds else None
        total = Progress()
        report = None if on_batch is None else (lambda p: on_batch(summed(total, p)))
        while not should_stop():
            left = deadline - time.monotonic() if deadline else None
            prog = self.run_pass(max_seconds=left, should_stop=should_stop, on_batch=report)
            if prog.busy:
                time.sleep(busy_wait_s)
                continue
            total.add(prog)
            if prog.complete or prog.bytes_done == 0 or (deadline and time.monotonic() >= deadline):
                break
        self.finish_backlog()
        return total

    def finish_backlog(self) -> int:
        """Builds the indexes this node's backlog dropped, if any (waiting for a pass under
        way); returns how many. A run that stops before its backlog is read builds them on
        its way out, so the indexes are never left missing by a run that ends normally."""
        if db.dialect(self.engine) != "sqlite":
            return 0
        with self.engine.connect() as conn:      # nothing of ours: no wait for the lock
            if not any(n == self.settings.node for _i, n, _s in backlog.deferred(conn)):
                return 0
        with db_locks.exclusive(self.engine, db_locks.ingest_lock(self.settings.node), wait=True):
            n = backlog.finish(self.engine, self.settings.node, self._seam)
        self._in_backlog = False
        return n

    def _pass(self, max_bytes, max_seconds, should_stop, on_batch) -> Progress:
        started = time.monotonic()
        deadline = started + max_seconds if max_seconds else None
        with self.engine.connect() as conn:   # another node's newer build migrated it: stop
            db.check_not_newer(conn)
        scan = self.tracker.scan(deadline)
        self._committer = None
        try:
            work = scan.work
            prog = Progress(files=len(work) + len(scan.settled), deferred=scan.deferred,
                            waiting=scan.waiting_bytes, opened=scan.opened)
            count_pending(prog, work)
            deferring = backlog.begin(self.engine, self.settings.node, prog.bytes_pending,
                                      self.settings.backlog_bytes)
            self._in_backlog = deferring
            if deferring:
                self._seam("backlog_started")
            for w in work:
                if w.pending <= 0:
                    continue
                if should_stop() or (max_bytes is not None and prog.bytes_done >= max_bytes) \
                        or (deadline is not None and time.monotonic() >= deadline):
                    break
                self._read_generation(w, prog, max_bytes, deadline, should_stop, on_batch)
            count_pending(prog, work)
            self.tracker.hold(work)
            self._seam("settle")
            with self.engine.begin() as conn:
                self.tracker.settle(conn, scan)
                generations.record_pass(conn, self.settings.node, _problem(scan),
                                  waiting=(scan.deferred, scan.waiting_bytes))
                prog.bytes_lost = generations.bytes_lost(conn, self.settings.node)
            # the backlog is over once what is left is under its threshold (or nothing moved)
            if deferring and (prog.bytes_pending < self.settings.backlog_bytes
                              or prog.bytes_done == 0):
                backlog.finish(self.engine, self.settings.node, self._seam)
                self._in_backlog = False
        finally:
            if self._committer is not None:
                self._committer.close()
                self._committer = None
            scan.close()
        prog.seconds = time.monotonic() - started
        return prog

    # --- reading one generation ------------------------------------------------------------

    def _read_generation(self, w: ToRead, prog: Progress, max_bytes, deadline, should_stop,
                         on_batch):
        g, sight = w.gen, w.sight
        sightings = self.tracker.sightings
        rd = None
        try:
            rd = sightings.reader(w, self.settings.max_line_bytes)
            if not rd.seek(deadline):       # deep in an archive: on from here next pass
                sightings.done_with(w, rd)
                return
        except reader.UnreadableFile as exc:
            if rd is not None:
                rd.close()
            self._file_error(g, str(exc))
            return
        rd.limit = None if sight.last else sight.base + sight.content_size
        rd.part_start = sight.base
        thread = self._thread()
        try:
            try:
                self._read_batches(rd, w, thread, prog, max_bytes, deadline, should_stop,
                                   on_batch)
            finally:
                thread.flush()         # the last batch is committed (or its error raised) here
        except reader.UnreadableFile as exc:
            rd.close()
            rd = None
            self._file_error(g, str(exc))
        except REFUSED as exc:         # the database answered "no" to this file's batch
            self._file_error(g, f"the database refused a batch, will retry: "
                                f"{_reason(exc)}")
        else:
            if g.error:                # readable again (an archive that is complete now)
                self._file_error(g, None)
        finally:
            if rd is not None:
                if rd.offset != sight.base + g.offset:   # a batch not committed: read again
                    rd.close()
                else:
                    sightings.done_with(w, rd)
        if g.offset >= sight.content_size and not sight.cand.live:
            log.debug("File drained. file_id=%d path=%s", g.id, sight.cand.path)

    def _thread(self) -> CommitThread:
        """Returns the pass's commit thread (one for all its files: small files are many)."""
        if self._committer is None:
            self._committer = CommitThread(self.commit)
        return self._committer

    def _tail_due(self, w: ToRead) -> bool:
        """A rotated file that will not grow may have its final fragment taken."""
        return (not w.sight.cand.live and w.sight.content_size > w.gen.offset
                and time.time() - w.sight.cand.mtime >= self.tail_grace_s)

    def _read_batches(self, rd, w: ToRead, thread: CommitThread, prog: Progress, max_bytes,
                      deadline, should_stop, on_batch) -> None:
        """Reads and commits batches of ``w``'s part of its file. ``rd`` works in the file's
        content offsets; rows and checkpoints are the generation's (less the part's base)."""
        g, sight = w.gen, w.sight
        base, end = sight.base, sight.base + sight.content_size
        max_ts = parse.max_ts_for(sight.cand.mtime)      # a time after it is bad_time
        while True:
            size = self.settings.batch_bytes
            if max_bytes is not None:      # a small tick budget reads a small batch
                size = max(min(size, max_bytes - prog.bytes_done), 4096)
            read = rd.read_batch(size)
            lines = read.lines
            partial = False
            if read.eof and read.tail and self._tail_due(w) and \
                    read.end + batches._length(read.tail) >= end:
                lines = lines + [read.tail]      # rotated file: its torn last line
                partial = True
            if not lines:
                break
            self._seam("after_read")
            if not holds(sight, read.end):
                log.warning("File rewritten in place while read; batch dropped. file_id=%d", g.id)
                break
            rows = batches.build(g.id, read.start - base, lines, max_ts, partial)
            pos = rows.end
            marker = batches.marker_before(lines, pos, partial)
            if marker is None:
                marker = self.tracker.span(sight, max(pos - reader.MARKER_BYTES, 0),
                                           min(pos, reader.MARKER_BYTES)) or b""
            if not thread.submit(batches.Batch(g.id, g.offset, pos, marker, rows.events,
                                               rows.rejects, len(lines))):
                break
            prog.bytes_done += pos - g.offset
            prog.lines += len(lines)
            prog.events += len(rows.events)
            prog.malformed += store.malformed_count(rows.rejects)
            g.offset, g.marker = pos, marker
            self._seam("batch")
            if on_batch is not None:
                prog.bytes_pending = max(prog.bytes_pending - (pos + base - read.start), 0)
                on_batch(prog)
            if partial or read.eof or should_stop():
                break
            if max_bytes is not None and prog.bytes_done >= max_bytes:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break

    def _file_error(self, g: Generation, message: str | None) -> None:
        """Records why a file cannot be read now (None: it can again)."""
        if message:
            log.warning("File not readable now, will retry. file_id=%d reason=%s", g.id, message)
        with self.engine.begin() as conn:
            generations.update_generation(conn, g.id, error=message[:2000] if message else None)
        g.error = message


def _problem(scan) -> str | None:
    """Returns what a pass met that the node's status should show: other nodes' files in
    its folder, files it could not read now; None when nothing."""
    parts = []
    if scan.foreign:
        parts.append(foreign_problem(scan.foreign))
    if scan.skipped:
        parts.append("not readable now, will retry: " + "; ".join(sorted(scan.skipped.values())))
    return "; ".join(parts) or None


def _reason(exc: Exception) -> str:
    return db.error_reason(exc) if isinstance(exc, sa.exc.DBAPIError) else str(exc)
