"""One dashboard process's context: its settings, engine and ingester (and whether it is a
kiosk), and the answers it keeps per data version (dashboard/answers.py).

Created once per app by ``app.create_app`` and handed to the callbacks and the API routes;
the engine and the ingester are made on first use, so the app starts (and shows a banner)
even when the database is down.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import date
from dataclasses import dataclass, field

import sqlalchemy as sa

import db
import db_file
from settings import Settings

from .answers import Answers

# What a database outage looks like from here: the server or file cannot be reached or
# used (OperationalError: refused, gone away, locked, unable to open), the pool gave up,
# or db.DatabaseError. A ProgrammingError is a bug, not an outage, and is not caught.
DB_ERRORS = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError,
             sa.exc.TimeoutError, db.DatabaseError)
# Every failure the database itself reports: an outage, or an answer that is an error (a
# corrupt file, a refused write). What the live tick shows in its banner, not as a crash.
DB_FAULTS = DB_ERRORS + (sa.exc.DBAPIError,)


@dataclass
class AppContext:
    """Settings plus the lazily created engine and ingester of this process."""
    settings: Settings
    kiosk: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _migrated: bool = field(default=False, repr=False)
    _ingester: object = field(default=None, repr=False)
    _file: db_file.FileWatch | None = field(default=None, repr=False)  # the SQLite file in use
    last_pass: float = field(default=0.0, repr=False)          # time.monotonic() of the last pass
    answers: Answers = field(default=None, repr=False)     # sized by the settings

    def __post_init__(self):
        if self.answers is None:
            self.answers = Answers(max_bytes=self.settings.answer_cache_mb * 1024 * 1024)

    def engine(self) -> sa.Engine:
        """Returns the engine, with the schema created on first success; raises DB_ERRORS
        (db.DatabaseBroken for a file that is not a database, or was deleted or replaced)."""
        if not self._migrated:
            with self._lock:
                if not self._migrated:
                    self._migrate()
                    self._file = db_file.FileWatch(self.settings.db_url, "the dashboard")
                    self._migrated = True
        self._check_file()
        return db.make_engine(self.settings.db_url)

    def _migrate(self) -> None:
        try:
            db.migrate(db.make_engine(self.settings.db_url), self.settings.node)
        except DB_ERRORS:
            raise
        except sa.exc.DBAPIError as exc:     # it answered: e.g. "file is not a database"
            raise db.DatabaseBroken(f"{self.describe_db()} cannot be used: "
                                    f"{db.error_reason(exc)}") from None

    def _check_file(self) -> None:
        """Raises db.DatabaseBroken when the SQLite file in use is no longer at its path."""
        if self._file is not None:
            self._file.check()

    def ingester(self):
        """Returns this process's Ingester (one per process; the engine's lock orders passes);
        raises DB_ERRORS as engine() does, so no pass runs on a deleted or replaced file."""
        engine = self.engine()
        if self._ingester is None:
            from ingestion.run import Ingester   # the engine room; imported on first tick
            with self._lock:
                if self._ingester is None:
                    self._ingester = Ingester(engine, self.settings)
        return self._ingester

    def ingest(self, min_gap_s: float | None = None):
        """Runs one bounded pass (a tick's budget) and returns its progress; raises what
        Ingester.run_pass raises. Whoever calls it, the freshener sees that a pass ran.

        ``min_gap_s``: no pass when one ended less than this ago, in this process (no
        database read) or any other (run_pass checks under the lock): busy is returned."""
        cfg = self.settings
        if min_gap_s and time.monotonic() - self.last_pass < min_gap_s:
            from ingestion.progress import Progress
            return Progress(busy=True)
        try:
            return self.ingester().run_pass(max_bytes=cfg.tick_budget_bytes,
                                            max_seconds=cfg.tick_budget_s, min_gap_s=min_gap_s)
        finally:
            self.last_pass = time.monotonic()

    def pass_gap(self) -> float:
        """Returns the least time between two passes the screens' ticks ask for: half a tick
        (a quarter of an interval), so that however many screens tick, the data (and the
        answers kept under its version) change at most four times an interval, and a line
        appended to the log is stored within a quarter of an interval and drawn on every
        screen at its next tick, within one interval (docs/screens.md)."""
        return self.settings.tick_s / 2

    def default_start(self) -> date:
        """Returns the first day of the default range (settings.default_start)."""
        return date.fromisoformat(self.settings.default_start)

    def describe_db(self) -> str:
        """Returns the database URL with its password hidden."""
        return db.describe_url(self.settings.db_url)


class Freshener:
    """Keeps the data fresh with no page open: runs the context's bounded pass whenever no
    pass (a page's tick, or its own) has run for an interval. One daemon thread per process;
    with several processes the ingestion lock lets one pass run at a time, and a pass that
    another process ran less than FRESHENER_GAP intervals ago counts as this one's: the
    workers together pass about once an interval, not once each."""

    def __init__(self, context: AppContext):
        self.context = context
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="freshener", daemon=True)

    def start(self) -> "Freshener":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        interval = self.context.settings.interval_s
        while not self._stop.wait(min(interval, 1.0) / 2):
            if time.monotonic() - self.context.last_pass < interval:
                continue                 # a page's tick (or this) ran lately
            try:
                self.context.ingest(min_gap_s=FRESHENER_GAP * interval)
            except DB_FAULTS as exc:     # the page shows the outage; here a line is enough
                _log.warning("Background pass skipped: database unusable. error=%s",
                             db.error_reason(exc) if isinstance(exc, sa.exc.DBAPIError) else exc)
            except Exception as exc:     # a missing folder: keep trying, say so
                _log.warning("Background pass failed. error=%s", exc)


FRESHENER_GAP = 0.9
_log = logging.getLogger(__name__)
