"""The SQL text of inserts, for SQLite and MySQL/MariaDB: one row, or many rows per statement
on SQLite (and the sizes they come in); the wall-clock time as the tables store it."""
from __future__ import annotations

from datetime import datetime
import functools
import itertools
import sqlite3

import sqlalchemy as sa


def placeholders(dialect: str, n: int) -> str:
    return ", ".join(["?" if dialect == "sqlite" else "%s"] * n)


def insert_sql(table: str, columns: tuple, dialect: str) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders(dialect, len(columns))})"


def now_text() -> str:
    """Returns the wall-clock time as 'YYYY-MM-DD HH:MM:SS.ffffff' (local time)."""
    return datetime.now().isoformat(sep=" ", timespec="microseconds")


# --- SQLite: many rows per statement ------------------------------------------------------
# Python's sqlite3 lets other threads run only while a statement steps, so executemany gives
# the GIL away and takes it back once per row; with the parsing thread busy, each take-back
# waits up to the interpreter's switch interval, and the commit thread all but stalls until
# parsing pauses. One INSERT of many rows binds its values in one go and then steps through
# them all without the GIL: the commit thread inserts while the next batch is parsed.
# Statements come in a few fixed sizes (CHUNK rows, then halves), so each is prepared once
# per connection and found in sqlite3's statement cache afterwards.

CHUNK = 1024   # rows per statement: 1024 x 20 columns = 20,480 values, under SQLite's 32,766


def chunk_sizes(n: int) -> list[int]:
    """Returns row counts adding up to ``n``: CHUNK as often as it fits, then powers of two."""
    sizes = [CHUNK] * (n // CHUNK)
    rest, size = n % CHUNK, CHUNK
    while rest:
        size //= 2
        if rest >= size:
            sizes.append(size)
            rest -= size
    return sizes


# OR FAIL: a row the table refuses (a duplicate key) stops the statement and raises, as plain
# INSERT does, but leaves the statement's earlier rows to the caller, who rolls back the whole
# transaction on any error anyway. Plain INSERT (OR ABORT) must be able to undo just the
# statement, so SQLite copies every page a statement first touches into a statement journal,
# a temporary file: on the real-lines workload 106,000 16 KiB page writes beside the 19,000 of
# the WAL, half of the process's system time (measured: 1.37 -> 0.68 s sys, 4.3 -> 3.6 s CPU).
@functools.lru_cache(maxsize=256)   # 7 tables x a dozen sizes
def multi_row(table: str, columns: tuple, rows: int, tail: str = "") -> str:
    one = "(" + ", ".join(["?"] * len(columns)) + ")"
    return (f"INSERT OR FAIL INTO {table} ({', '.join(columns)}) VALUES "
            + ", ".join([one] * rows) + tail)


def insert_sqlite(conn, table: str, columns: tuple, rows: list[tuple], tail: str = "") -> None:
    """Inserts rows through the sqlite3 cursor, inside the caller's transaction.

    sqlite3's own errors are raised as SQLAlchemy's (IntegrityError, OperationalError, ...),
    as through any other statement: callers tell a refused batch from an outage by them.
    """
    cur = conn.connection.cursor()    # the sqlite3 cursor, inside the same transaction
    statement = None
    try:
        i = 0
        for n in chunk_sizes(len(rows)):
            values = list(itertools.chain.from_iterable(rows[i:i + n]))
            statement = multi_row(table, columns, n, tail)
            cur.execute(statement, values)
            i += n
    except sqlite3.Error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, sqlite3.Error) from None
    finally:
        cur.close()
