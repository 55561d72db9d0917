"""The shared things of one dashboard process: its settings, engine and ingester.

Created once per app by ``app.create_app`` and handed to the callbacks and the API routes;
the engine and the ingester are made on first use, so the app starts (and shows a banner)
even when the database is down.
"""
from __future__ import annotations

import threading
from datetime import date
from dataclasses import dataclass, field

import sqlalchemy as sa

import db
from settings import Settings

# What a database outage looks like from here: the server or file cannot be reached or
# used (OperationalError: refused, gone away, locked, unable to open), the pool gave up,
# or db.DatabaseError. A ProgrammingError is a bug, not an outage, and is not caught.
DB_ERRORS = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError,
             sa.exc.TimeoutError, db.DatabaseError)


@dataclass
class Services:
    """Settings plus the lazily created engine and ingester of this process."""
    settings: Settings
    kiosk: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _migrated: bool = field(default=False, repr=False)
    _ingester: object = field(default=None, repr=False)

    def engine(self) -> sa.Engine:
        """Returns the engine, with the schema created on first success; raises DB_ERRORS."""
        engine = db.make_engine(self.settings.db_url)
        if not self._migrated:
            with self._lock:
                if not self._migrated:
                    db.migrate(engine)
                    self._migrated = True
        return engine

    def ingester(self):
        """Returns this process's Ingester (one per process; the engine's lock orders passes)."""
        if self._ingester is None:
            from ingestion.run import Ingester   # the engine room; imported on first tick
            engine = self.engine()
            with self._lock:
                if self._ingester is None:
                    self._ingester = Ingester(engine, self.settings)
        return self._ingester

    def default_start(self) -> date:
        """Returns the first day of the default range (settings.default_start)."""
        return date.fromisoformat(self.settings.default_start)

    def describe_db(self) -> str:
        """Returns the database URL with its password hidden."""
        return db.describe_url(self.settings.db_url)
