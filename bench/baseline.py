"""The straightforward loader the first user had, as the yardstick for our ingester.

Per line: json.loads, a sha256 of the line as the primary key, and one INSERT IGNORE
statement; a commit every 500 lines. ``batched=True`` sends each 500 lines as one
executemany instead (the kinder reading of "in batches of 500"). It neither handles
rotation nor keeps identical lines: it is here only to be timed.
"""
from __future__ import annotations

import hashlib
import json
import os

import sqlalchemy as sa

BATCH = 500


def load_folder(url: str, paths: list[str], batched: bool = False) -> dict:
    """Loads every line of ``paths`` into table raw_lines; returns lines and inserted rows."""
    engine = sa.create_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    raw = engine.raw_connection()
    cur = raw.cursor()
    cur.execute("CREATE TABLE IF NOT EXISTS raw_lines (hash CHAR(64) PRIMARY KEY, ts VARCHAR(32),"
                " sender VARCHAR(64), username VARCHAR(255), size_bytes BIGINT)")
    ph = "?" if sqlite else "%s"
    insert = (f"INSERT {'OR IGNORE' if sqlite else 'IGNORE'} INTO raw_lines"
              f" (hash, ts, sender, username, size_bytes) VALUES ({ph}, {ph}, {ph}, {ph}, {ph})")
    lines = pending = 0
    batch = []
    for path in paths:
        with open(path, "rb") as f:
            for line in f:
                lines += 1
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                row = (hashlib.sha256(line).hexdigest(), obj.get("time"), obj.get("sender"),
                       obj.get("username"), obj.get("size_bytes"))
                if batched:
                    batch.append(row)
                else:
                    cur.execute(insert, row)
                    pending += 1
                if len(batch) == BATCH or pending == BATCH:
                    if batch:
                        cur.executemany(insert, batch)
                    raw.commit()
                    batch, pending = [], 0
    if batch:
        cur.executemany(insert, batch)
    raw.commit()
    cur.execute("SELECT COUNT(*) FROM raw_lines")
    rows = cur.fetchone()[0]
    raw.close()
    engine.dispose()
    return {"lines": lines, "rows": rows, "bytes": sum(os.path.getsize(p) for p in paths)}


def main() -> None:
    """python -m bench.baseline LOG_DIR DB_URL: loads the folder, prints the result as JSON."""
    import sys
    log_dir, url = sys.argv[1:3]
    paths = sorted(os.path.join(log_dir, n) for n in os.listdir(log_dir) if n.endswith(".log"))
    paths.sort(key=lambda p: p.endswith("sftpgo.log"))
    print(json.dumps(load_folder(url, paths)))


if __name__ == "__main__":
    main()
