"""Named locks of one database, across threads and processes: one ingestion pass per node at a
time (``ingest_lock``), one migration, one prune, one alerts step.

SQLite: flock() on a file beside the database. MySQL/MariaDB: GET_LOCK() on a dedicated
connection. Below db.py (it imports no module of the project), so migrations take it too.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Engine

_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


class Busy(Exception):
    """Another ingestion pass holds the lock."""


def _thread_lock(key: str) -> threading.Lock:
    with _thread_locks_guard:
        return _thread_locks.setdefault(key, threading.Lock())


def ingest_lock(node: str) -> str:
    """Returns the name of a node's ingestion lock: passes of one node run one at a time,
    those of different nodes side by side (each touches only its own node's rows)."""
    return f"ingest.{node}"


@contextlib.contextmanager
def exclusive(engine: Engine, name: str, wait: bool) -> Iterator[None]:
    """Holds the named lock for this database, across threads and processes; raises Busy.

    SQLite: flock() on a file beside the database. MySQL/MariaDB: GET_LOCK() on a dedicated
    connection. Both are released by the operating system or the server if the process dies.
    """
    key = f"{engine.url}|{name}"
    tlock = _thread_lock(key)
    if not tlock.acquire(blocking=wait):
        raise Busy(name)
    try:
        if engine.dialect.name == "sqlite":
            with _flock(engine, name, wait):
                yield
        else:
            with _mysql_lock(engine, name, wait):
                yield
    finally:
        tlock.release()


@contextlib.contextmanager
def _flock(engine: Engine, name: str, wait: bool) -> Iterator[None]:
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    fd = os.open(f"{database}.{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise Busy(name) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextlib.contextmanager
def _mysql_lock(engine: Engine, name: str, wait: bool) -> Iterator[None]:
    with engine.connect() as conn:
        lock_name = conn.execute(sa.text("SELECT CONCAT('sftpgo_dash.', :n, '.', DATABASE())"),
                                 {"n": name}).scalar()
        if len(lock_name) > 64:           # the server's limit on a lock name: hash the rest
            lock_name = "sftpgo_dash." + hashlib.sha256(lock_name.encode()).hexdigest()[:48]
        got = conn.execute(sa.text("SELECT GET_LOCK(:n, :t)"),
                           {"n": lock_name, "t": 600 if wait else 0}).scalar()
        conn.commit()
        if got != 1:
            raise Busy(name)
        try:
            yield
        finally:
            try:
                conn.execute(sa.text("SELECT RELEASE_LOCK(:n)"), {"n": lock_name})
                conn.commit()
            except sa.exc.DBAPIError:
                conn.invalidate()     # never return a connection that may still hold it
