"""One measured ingestion in a fresh process: prints a JSON line with time, volume and peak RSS.

    python -m bench.run_one ours|ours-no-rollups|baseline|baseline-batched LOG_DIR DB_URL
"""
from __future__ import annotations

import json
import os
import resource
import sys
import time

import db
from bench.baseline import load_folder
from ingestion.run import Ingester
from settings import Settings


def main() -> None:
    which, log_dir, url = sys.argv[1:4]
    started = time.perf_counter()      # after the imports: only the loading is timed
    if which in ("ours", "ours-no-rollups"):
        engine = db.connect_checked(url)
        ing = Ingester(engine, Settings(log_dir=log_dir, db_url=url))
        ing.commit.rollups = which == "ours"
        p = ing.run_until_done()
        result = {"lines": p.lines, "bytes": p.bytes_done, "events": None}
    else:
        paths = sorted(os.path.join(log_dir, n) for n in os.listdir(log_dir) if n.endswith(".log"))
        paths.sort(key=lambda p: (p.endswith("sftpgo.log"), p))
        result = load_folder(url, paths, batched=which == "baseline-batched")
    result["seconds"] = time.perf_counter() - started
    result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main()
