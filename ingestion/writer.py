"""Commit batches on a second thread, in order, while the next batch is being parsed.

Parsing holds the GIL; a commit mostly waits on SQLite's file I/O or the MariaDB server.
Overlapping the two uses both cores. Order and atomicity are unchanged: one thread commits
one batch per transaction, and each checkpoint moves only from where the previous one put it.
"""
from __future__ import annotations

import queue
import threading
from typing import Callable

_STOP = object()


class Committer:
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
            if job is _STOP:
                return
            if self.error is None:
                try:
                    self._commit(job)
                except BaseException as exc:   # handed to the reading thread by close()
                    self.error = exc

    def submit(self, job) -> bool:
        """Queues a job (waits while one is already queued); returns False after a failure."""
        if self.error is not None:
            return False
        self._jobs.put(job)
        return self.error is None

    def close(self) -> None:
        """Waits for every queued commit; raises the first failure."""
        self._jobs.put(_STOP)
        self._thread.join()
        if self.error is not None:
            raise self.error
