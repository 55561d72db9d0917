"""Generate a folder of realistic, rotated SFTPGo 2.6 logs:  python -m simulate OUT_DIR --mb 100"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime

import orjson

from .common import AVG_LINE_BYTES
from .folders import generate_folder


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m simulate", description="Generate a folder of realistic, rotated SFTPGo 2.6 logs.")
    ap.add_argument("out_dir")
    ap.add_argument("--mb", type=float, default=100.0, help="uncompressed megabytes (MiB) of lines")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gzip", action="store_true", help="gzip every backup (like log_compress)")
    ap.add_argument("--compress-every", type=int, default=0, help="gzip every N-th backup")
    ap.add_argument("--days", type=float, default=365.0, help="time span of the lines, ending now")
    ap.add_argument("--users", type=int, default=30, help="number of users")
    ap.add_argument("--hostile", action="store_true", help="add users with hostile names")
    ap.add_argument("--max-mb", type=float, default=10.5, help="rotation size in MiB")
    ap.add_argument("--start", help="first line time, YYYY-MM-DDTHH:MM:SS (default: now - days)")
    a = ap.parse_args(argv)
    total = int(a.mb * 1024 * 1024)
    est = max(1, total // AVG_LINE_BYTES)
    start = datetime.fromisoformat(a.start) if a.start else None
    stats = generate_folder(a.out_dir, total, seed=a.seed, start=start, lines_per_day=est / a.days,
                            max_bytes=int(a.max_mb * 1024 * 1024),
                            compress_every=1 if a.gzip else a.compress_every,
                            n_users=a.users, hostile=a.hostile)
    mbps = stats["bytes"] / 1048576 / max(stats["seconds"], 1e-9)
    print(orjson.dumps(dict(stats, mb_per_s=round(mbps, 1)), option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
