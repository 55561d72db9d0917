"""bench.run_one with experimental settings, for A/B runs (bench/ab.py); not used by the program.

    python -m bench.variant '{"pragmas": ["temp_store=MEMORY"], "batch_bytes": 8388608}' \
        ours LOG_DIR DB_URL

Knobs (all optional): ``pragmas`` run after db.py's own on every SQLite connection (so
``page_size=4096`` still applies to a fresh file only if given before WAL: use
``first_pragmas`` for that); ``batch_bytes`` replaces Settings.batch_bytes;
``or_fail`` makes the events INSERT ``INSERT OR FAIL`` (as if sqlgen.py did it);
``replace`` maps db.py's own pragma statements to others (e.g.
``{"PRAGMA page_size=16384": "PRAGMA page_size=4096"}``); ``drop_indexes`` drops indexes and ``sql`` runs
statements after the migrations (index shapes); ``gc_threshold`` sets gc.set_threshold;
``plain_insert`` makes it plain ``INSERT`` again (undoes such a change in sqlgen.py).
"""
from __future__ import annotations

import functools
import json
import sys

import db
from bench import run_one
from ingestion import sqlgen


def apply(knobs: dict) -> None:
    first = knobs.get("first_pragmas", [])
    extra = knobs.get("pragmas", [])
    replace = knobs.get("replace", {})
    if first or extra or replace:
        original = db._sqlite_pragmas

        def pragmas(dbapi_conn, record):
            cur = dbapi_conn.cursor()
            for p in first:
                cur.execute(f"PRAGMA {p}")
            cur.close()
            original(_Rewriting(dbapi_conn, replace), record)
            cur = dbapi_conn.cursor()
            for p in extra:
                cur.execute(f"PRAGMA {p}")
            cur.close()
        db._sqlite_pragmas = pragmas
    if knobs.get("drop_indexes") or knobs.get("sql"):
        connect_checked = db.connect_checked

        def connect(url):
            engine = connect_checked(url)
            with engine.begin() as conn:
                for name in knobs.get("drop_indexes", []):
                    conn.exec_driver_sql(f"DROP INDEX {name}")
                for stmt in knobs.get("sql", []):
                    conn.exec_driver_sql(stmt)
            return engine
        run_one.db.connect_checked = connect
    if "gc_threshold" in knobs:
        import gc
        gc.set_threshold(*knobs["gc_threshold"])
    if "batch_bytes" in knobs:
        run_one.Settings = functools.partial(run_one.Settings, batch_bytes=int(knobs["batch_bytes"]))
    if knobs.get("or_fail") or knobs.get("plain_insert"):
        multi_row = sqlgen.multi_row.__wrapped__

        @functools.lru_cache(maxsize=32)
        def patched(table, columns, rows, tail=""):
            sql = multi_row(table, columns, rows, tail)
            if knobs.get("or_fail"):
                if table != "events":
                    return sql
                return sql.replace("INSERT INTO", "INSERT OR FAIL INTO", 1)
            return sql.replace("INSERT OR FAIL INTO", "INSERT INTO", 1)
        sqlgen.multi_row = patched


class _Rewriting:
    """A DB-API connection whose cursors run some statements as others."""

    def __init__(self, conn, replace: dict):
        self._conn, self._replace = conn, replace

    def cursor(self):
        cur = self._conn.cursor()
        replace = self._replace

        class Cursor:
            def execute(self, sql, *args):
                return cur.execute(replace.get(sql, sql), *args)

            def close(self):
                cur.close()
        return Cursor()


if __name__ == "__main__":
    apply(json.loads(sys.argv.pop(1)))
    run_one.main()
