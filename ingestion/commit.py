"""Commit batches: one transaction each, on a second thread, in order.

BatchCommitter stores a batch (rows, rollup increments, checkpoint move) in one transaction
through an engine of its own. CommitThread runs those commits on a second thread while the
next batch is parsed: parsing holds the GIL, a commit mostly waits on SQLite's file I/O or
the MariaDB server, so the two overlap on two cores. Order and atomicity are unchanged: one
thread commits one batch per transaction, and each checkpoint moves only from where the
previous one put it.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

import sqlalchemy as sa

import db

from . import loadfiles, store
from .batch import Batch

log = logging.getLogger(__name__)

_STOP = object()


class BatchCommitter:
    """Stores batches in the database, each in one transaction; calls the commit seams.

    On MySQL/MariaDB it commits through an engine of its own, the one allowed LOAD DATA LOCAL.
    """

    def __init__(self, engine: sa.Engine, seam: Callable[[str], None], node: str):
        self.dialect = db.dialect(engine)
        self.engine = engine if self.dialect == "sqlite" else db.make_engine(
            engine.url.render_as_string(hide_password=False), bulk=True)
        self._seam = seam
        self.node = node               # the node whose files' batches these are
        self.rollups = True            # False only in the benchmark's comparison
        self._bulk: bool | None = None  # MySQL/MariaDB LOAD DATA LOCAL usable

    def __call__(self, batch: Batch) -> None:
        if self._bulk is None:
            with self.engine.connect() as conn:
                self._bulk = self.dialect == "mysql" and store.bulk_load_available(conn)
            if self._bulk:             # files of a process killed mid-statement: gone now
                _sweep_load_files()
        with self.engine.begin() as conn:
            store.store_batch(conn, self.dialect, *batch,
                              between=lambda: self._seam("after_insert_before_checkpoint"),
                              bulk=self._bulk, rollups=self.rollups, node=self.node)
            self._seam("after_checkpoint_before_commit")
        self._seam("after_commit")


def _sweep_load_files() -> None:
    try:
        loadfiles.sweep()
    except OSError as exc:             # housekeeping: never a reason not to commit
        log.warning("Could not sweep old LOAD DATA files. error=%s", exc)


class CommitThread:
    """Runs ``commit(job)`` for each submitted job on one thread, in submission order."""

    def __init__(self, commit: Callable[[object], None], depth: int = 1):
        self._commit = commit
        self._jobs: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ingest-commit", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is _STOP:
                    return
                if self.error is None:
                    try:
                        self._commit(job)
                    except BaseException as exc:   # handed to the reading thread by flush()
                        self.error = exc
            finally:
                self._jobs.task_done()

    def submit(self, job) -> bool:
        """Queues a job (waits while one is already queued); returns False after a failure."""
        if self.error is not None:
            return False
        self._jobs.put(job)
        return self.error is None

    def flush(self) -> None:
        """Waits for every queued commit; raises the first failure since the last flush
        (the thread goes on with the next jobs: one file's refused batch is that file's)."""
        self._jobs.join()
        error, self.error = self.error, None
        if error is not None:
            raise error

    def close(self) -> None:
        """Waits for every queued commit and ends the thread; raises the first failure."""
        self._jobs.put(_STOP)
        self._thread.join()
        if self.error is not None:
            raise self.error
