"""Whether the database takes writes (/api/status answers 503 "writes fail: ..." when it does
not): a read-only file, a full disk, or nothing wrong. The probe is a no-op, rolled back."""
from __future__ import annotations

import os

import sqlalchemy as sa

import db

_LOCK_WAIT = {"sqlite": ("PRAGMA busy_timeout = 200", "PRAGMA busy_timeout = 60000"),
              "mysql": ("SET SESSION innodb_lock_wait_timeout = 1",
                        "SET SESSION innodb_lock_wait_timeout = DEFAULT")}
_LOCKED = ("database is locked", "(1205,")          # someone is writing: writes work
MIN_FREE_BYTES = 1024 * 1024


def write_problem(engine: sa.Engine) -> str | None:
    """Returns why the database refuses writes ('attempt to write a readonly database',
    'disk full: ...'), or None when it takes them.

    Cheap enough for every status request: a no-op UPDATE, rolled back, waiting at most a
    moment for a lock (a lock held by an ingester means writes work), plus, for SQLite, the
    free space of its file system (a no-op writes nothing, so it cannot notice a full disk).
    """
    d = db.dialect(engine)
    short, restore = _LOCK_WAIT[d]
    with engine.connect() as conn:
        conn.exec_driver_sql(short)
        try:
            conn.execute(db.load_sql("write_probe", d))
        except sa.exc.DBAPIError as exc:
            reason = db.error_reason(exc)
            if not any(mark in reason for mark in _LOCKED):
                return reason
        finally:
            conn.rollback()                      # the probe changes nothing, ever
            conn.exec_driver_sql(restore)
            conn.commit()
    return _disk_full(engine)


def _disk_full(engine: sa.Engine) -> str | None:
    path = db.sqlite_file(engine.url.render_as_string(hide_password=False))
    if path is None:
        return None
    fs = os.statvfs(path.parent)
    free = fs.f_bavail * fs.f_frsize
    return f"disk full: {free} bytes free in {path.parent}" if free < MIN_FREE_BYTES else None

