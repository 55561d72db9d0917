"""How long each page's redraw takes on a generated year, by range: one day (hourly bars from
the raw events), the last 24 hours (a window: every figure from the raw events), a week
(six-hourly), 30 days and a year (the daily rollups).

    python -m bench.bench_buckets [--root CHECKOUT] [--mb 800] [--reps 10]

The year (simulate, 30 users, about 2,100 transfers a day) and its SQLite database are built
once and cached under bench/out. ``--root`` times another checkout's redraws on the same
database (main gives the "before"; it has no window, so its last-24-hours row is empty).
Prints a Markdown table of the median and 95th percentile in milliseconds.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
OUT = HERE / "bench" / "out"


def build(mb: int) -> tuple[str, date]:
    """Returns the URL of the cached database of a year of ``mb`` MB of logs, and its last day."""
    sys.path.insert(0, str(HERE))
    import db
    import simulate
    from ingestion.run import Ingester
    from settings import Settings
    folder = OUT / f"year-buckets-{mb}mb"
    url = f"sqlite:///{OUT}/year-buckets-{mb}mb.db"
    if not (folder / "done").exists():
        shutil.rmtree(folder, ignore_errors=True)
        Path(url[len("sqlite:///"):]).unlink(missing_ok=True)
        folder.mkdir(parents=True)
        stats = simulate.generate_folder(str(folder), mb * 1_000_000, seed=2024,
                                         start=datetime(2023, 9, 19), days=365, n_users=30)
        engine = db.make_engine(url, bulk=True)
        db.migrate(engine)
        ingester = Ingester(engine, Settings(log_dir=str(folder)))
        try:
            ingester.run_until_done()
        finally:
            ingester.close()
        (folder / "done").write_text(json.dumps(stats, default=str))
        db.dispose_engines(url)
    last = json.loads((folder / "done").read_text())["last_time"][:10]
    return url, date.fromisoformat(last)


def timings(fn, reps: int) -> tuple[float, float]:
    fn()                                   # warm the caches once, as a running server has
    samples = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * len(samples)) - 1)]
    return statistics.median(samples), p95


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(HERE), help="the checkout whose redraws are timed")
    ap.add_argument("--mb", type=int, default=800, help="size of the year of logs")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--build", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.build:                  # in a process of its own: this checkout's modules only
        print(json.dumps(build(args.mb), default=str))
        return
    done = subprocess.run([sys.executable, __file__, "--build", "--mb", str(args.mb)],
                          capture_output=True, text=True, check=True)
    url, last = json.loads(done.stdout.splitlines()[-1])
    last = date.fromisoformat(last)
    root = str(Path(args.root).resolve())
    sys.path.insert(0, root)
    from callbacks import graphs, security, users    # the checkout's own
    from dashboard.context import AppContext
    from settings import Settings
    windowed = (Path(root) / "dashboard" / "span.py").exists()
    context = AppContext(Settings(db_url=url, log_dir=tempfile.mkdtemp(prefix="bench-nologs-")))
    now = datetime.combine(last, datetime.min.time()) + timedelta(hours=14)
    since = (now.replace(minute=0) - timedelta(hours=23)).isoformat(timespec="minutes")
    until = (now.replace(minute=0) + timedelta(hours=1)).isoformat(timespec="minutes")
    ranges = [("1 day", last, last, {}), ("last 24 hours", last - timedelta(days=1), last,
                                          {"since": since, "until": until}),
              ("7 days", last - timedelta(days=6), last, {}),
              ("30 days", last - timedelta(days=29), last, {}),
              ("365 days", last - timedelta(days=364), last, {})]
    pages = [("overview", lambda s, e, w: graphs.redraw(context, s, e, False, None, today=last,
                                                         **w)),
             ("security", lambda s, e, w: security.redraw(context, s, e, None, today=last, **w)),
             ("user backups", lambda s, e, w: users.redraw(context, "/users/backups", s, e, None,
                                                           today=last, **w))]
    print(f"checkout: {root}; database: {url} (last day {last})\n")
    print("| page | range | median ms | p95 ms |")
    print("|---|---|---:|---:|")
    for page, redraw in pages:
        for name, start, end, window in ranges:
            if window and not windowed:
                print(f"| {page} | {name} | – | – |")
                continue
            med, p95 = timings(lambda: redraw(start.isoformat(), end.isoformat(), window),
                               args.reps)
            print(f"| {page} | {name} | {med:.0f} | {p95:.0f} |")


if __name__ == "__main__":
    main()
