"""A folder of tens of thousands of backups: what a pass with nothing new costs.

    python -m bench.bench_folder [--files 20000] [--passes 10] [--limit 1024]

A busy server rotates about a hundred times a day: a year is tens of thousands of files.
This builds that many small backups (plus the live file), ingests them once in a process
whose descriptor limit is ``--limit`` (timed), then times passes that find nothing new, side
by side with two references in the same run:

* ``listing``: the folder walked and every file stat'ed, nothing opened (the floor: a pass
  cannot know less than this);
* ``open every file``: each file opened, fstat'ed and its first KiB read, closed again
  (what a pass did before unchanged files were left closed, without its matching and SQL);
* ``pass``: a real ingestion pass over the unchanged folder (SQLite).

The budget of a dashboard tick is 2 s (INGEST_TICK_SECONDS).
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import db  # noqa: E402
from ingestion import discover  # noqa: E402
from ingestion.run import Ingester  # noqa: E402
from settings import Settings  # noqa: E402
from simulate import LineFactory  # noqa: E402


def build(folder: Path, files: int) -> None:
    """Writes ``files`` small backups (ten realistic lines each) in subfolders of 1,000, and
    a live file."""
    factory = LineFactory(seed=1)
    for i in range(files):
        sub = folder / f"{i // 1000:03d}"
        sub.mkdir(exist_ok=True)
        (sub / f"sftpgo-2024-01-01T00-00-{i:05d}.000.log").write_bytes(
            b"".join(factory.lines(10)))
    (folder / "sftpgo.log").write_bytes(b"".join(factory.lines(10)))


def listing(folder: Path) -> None:
    discover.candidate_paths(str(folder))


def open_every_file(folder: Path) -> None:
    for c in discover.candidate_paths(str(folder)):
        fd = os.open(c.path, os.O_RDONLY)
        try:
            os.fstat(fd)
            os.pread(fd, 1024, 0)
        finally:
            os.close(fd)


def timed(fn, passes: int) -> list[float]:
    out = []
    for _ in range(passes):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--passes", type=int, default=10)
    ap.add_argument("--limit", type=int, default=1024, help="descriptor limit (ulimit -n)")
    args = ap.parse_args(argv)
    resource.setrlimit(resource.RLIMIT_NOFILE, (args.limit, args.limit))
    tmp = Path(tempfile.mkdtemp(prefix="bench-folder-"))
    try:
        folder = tmp / "logs"
        folder.mkdir()
        build(folder, args.files)
        url = f"sqlite:///{tmp}/bench.db"
        engine = db.make_engine(url)
        db.migrate(engine)
        ing = Ingester(engine, Settings(log_dir=str(folder), db_url=url))
        t0 = time.perf_counter()
        first = ing.run_until_done()
        backfill = time.perf_counter() - t0
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}, ulimit -n {args.limit}")
        print(f"files {args.files + 1}: first run {backfill:.1f} s, events {first.events}, "
              f"pending after it {first.bytes_pending}")
        rows = [("listing (stat only)", timed(lambda: listing(folder), args.passes), "-"),
                ("open every file", timed(lambda: open_every_file(folder), args.passes),
                 str(args.files + 1))]
        opened = []

        def one_pass():
            p = ing.run_pass(max_seconds=2.0)
            opened.append(p.opened)
        rows.append(("pass, nothing new", timed(one_pass, args.passes),
                     str(max(opened, default=0))))
        print(f"{'what':<22} {'median s':>9} {'max s':>7} {'files opened':>13}")
        for name, times, files in rows:
            print(f"{name:<22} {statistics.median(times):>9.3f} {max(times):>7.3f} {files:>13}")
        ing.close()
        engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
