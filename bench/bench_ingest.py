"""Ingestion speed and memory: ours against the straightforward loader, side by side.

    python -m bench.bench_ingest [--mb 105] [--memory-mb 500] [--no-mariadb]

Generates rotated 10.5 MB files of realistic SFTPGo 2.6 lines (simulate), then ingests the
same folder into a fresh database with each loader, each in its own process (so the peak
RSS is that run's own), on SQLite and on a throwaway MariaDB server. Prints a Markdown
table; the README's figures come from it.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import simulate  # noqa: E402
from bench.mariadb import create_database, throwaway_server  # noqa: E402

OUT = ROOT / "bench" / "out"


def folder(mb: int, seed: int = 1) -> Path:
    """Returns a cached folder of about ``mb`` MB of rotated logs."""
    path = OUT / f"logs-{mb}mb-seed{seed}"
    if not (path / "done").exists():
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        stats = simulate.generate_folder(str(path), mb * 1024 * 1024, seed=seed, days=30)
        (path / "done").write_text(json.dumps(stats, default=str))
    return path


def measure(which: str, log_dir: Path, url: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.run_one", which, str(log_dir), url],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["mb_s"] = result["bytes"] / 1e6 / result["seconds"]
    result["lines_s"] = result["lines"] / result["seconds"]
    return result


def row(name: str, r: dict) -> str:
    return (f"| {name} | {r['bytes'] / 1e6:.0f} | {r['seconds']:.2f} | {r['mb_s']:.1f} | "
            f"{r['lines_s']:,.0f} | {r['max_rss_mb']:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=105, help="size of the speed folder (10 files)")
    ap.add_argument("--memory-mb", type=int, default=500, help="size of the memory backfill (0: skip)")
    ap.add_argument("--no-mariadb", action="store_true")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    logs = folder(args.mb)
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    results = {}
    try:
        results["ours, SQLite"] = measure("ours", logs, f"sqlite:///{tmp}/ours.db")
        results["baseline, SQLite"] = measure("baseline", logs, f"sqlite:///{tmp}/base.db")
        if not args.no_mariadb:
            with throwaway_server() as admin:
                results["ours, MariaDB"] = measure("ours", logs, create_database(admin, "ours"))
                results["baseline, MariaDB"] = measure("baseline", logs,
                                                       create_database(admin, "base"))
        if args.memory_mb:
            big = folder(args.memory_mb)
            results[f"ours, SQLite, {args.memory_mb} MB backfill"] = measure(
                "ours", big, f"sqlite:///{tmp}/big.db")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {platform.platform()}")
    print("| loader, database | MB | seconds | MB/s | lines/s | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        print(row(name, r))
    for db_name in ("SQLite", "MariaDB"):
        ours, base = results.get(f"ours, {db_name}"), results.get(f"baseline, {db_name}")
        if ours and base:
            print(f"{db_name}: ours is {ours['mb_s'] / base['mb_s']:.1f}x the baseline")
    (OUT / "bench_ingest.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
