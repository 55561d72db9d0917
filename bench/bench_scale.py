"""A year of a busy server: backfill speed, and how fast the dashboard and API answer.

    python -m bench.bench_scale [--mb 2300] [--reps 30] [--no-mariadb]

Generates a year of realistic SFTPGo lines for 30 users (simulate; about 2.3 GB gives more
than 2 million transfer events), ingests it through the real ingestion path with and
without the daily rollups, then times /api/stats (through the Flask app) and the
dashboard's full refresh (every graph and headline figure) for 1, 30 and 365 days,
against the same 365-day figures grouped straight from the events table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

import app as dashboard_app  # noqa: E402
import db  # noqa: E402
import simulate  # noqa: E402
from dashboard import queries  # noqa: E402
from bench.bench_ingest import OUT, measure  # noqa: E402
from bench.mariadb import create_database, throwaway_server  # noqa: E402
from callbacks.graphs import redraw  # noqa: E402
from dashboard.context import AppContext  # noqa: E402
from settings import Settings  # noqa: E402

RAW_BY_DAY = """SELECT day, kind, COUNT(*), COALESCE(SUM(size_bytes), 0), SUM(failed)
FROM events WHERE day >= :start AND day <= :end GROUP BY day, kind"""
RAW_BY_USER = """SELECT username, kind, COUNT(*), COALESCE(SUM(size_bytes), 0), SUM(failed)
FROM events WHERE day >= :start AND day <= :end
  AND kind IN ('upload', 'download', 'file_op', 'login') AND username <> ''
GROUP BY username, kind"""


def year_folder(mb: int) -> Path:
    path = OUT / f"year-{mb}mb"
    if not (path / "done").exists():
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        stats = simulate.generate_folder(str(path), mb * 1024 * 1024, seed=2024, days=365,
                                       n_users=30, compress_every=2)
        (path / "done").write_text(json.dumps(stats, default=str))
    return path


def timings(fn, reps: int) -> dict:
    fn()                                   # warm the caches once, as a running server has
    samples = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return {"median_ms": statistics.median(samples),
            "p95_ms": samples[min(len(samples) - 1, int(round(0.95 * len(samples))) - 1)]}


def raw_stats(engine, start: date, end: date) -> dict:
    """The same figures grouped straight from events: the baseline."""
    bounds = {"start": start.isoformat(), "end": end.isoformat()}
    with engine.connect() as conn:
        day_rows = conn.execute(sa.text(RAW_BY_DAY), bounds).all()
        user_rows = conn.execute(sa.text(RAW_BY_USER), bounds).all()
    return queries.assemble_stats(start, end, day_rows, user_rows)


def latency(url: str, reps: int) -> dict:
    engine = db.make_engine(url)
    with engine.connect() as conn:
        last = date.fromisoformat(str(conn.execute(sa.text("SELECT MAX(day) FROM daily_stats")).scalar())[:10])
        transfers = conn.execute(sa.text(
            "SELECT COUNT(*) FROM events WHERE kind IN ('upload', 'download')")).scalar()
        events = conn.execute(sa.text("SELECT COUNT(*) FROM events")).scalar()
    empty_logs = tempfile.mkdtemp(prefix="bench-nologs-")
    settings = Settings(db_url=url, log_dir=empty_logs)
    client = dashboard_app.create_app(settings).server.test_client()
    context = AppContext(settings)
    out = {"transfers": transfers, "events": events}
    for days in (1, 30, 365):
        start, end = last - timedelta(days=days - 1), last
        query = f"/api/stats?start={start}&end={end}"
        assert client.get(query).status_code == 200
        out[f"api_{days}d"] = timings(lambda: client.get(query).get_data(), reps)
        out[f"refresh_{days}d"] = timings(
            lambda: redraw(context, start.isoformat(), end.isoformat(), False, None, today=end), reps)
    start = last - timedelta(days=364)
    assert raw_stats(engine, start, last) == queries.stats(engine, start, last), \
        "rollups and raw events disagree"
    out["raw_groupby_365d"] = timings(lambda: raw_stats(engine, start, last), max(3, reps // 6))
    shutil.rmtree(empty_logs, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=2300, help="size of the year of logs")
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--no-mariadb", action="store_true")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    logs = year_folder(args.mb)
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    results: dict[str, dict] = {}

    def run(backend: str, make_url) -> None:
        results[f"{backend} ingest, rollups"] = measure("ours", logs, make_url("with"))
        results[f"{backend} ingest, no rollups"] = measure("ours-no-rollups", logs, make_url("without"))
        results[f"{backend} queries"] = latency(make_url("with", fresh=False), args.reps)

    try:
        run("SQLite", lambda name, fresh=True: f"sqlite:///{tmp}/{name}.db")
        if not args.no_mariadb:
            with throwaway_server(buffer_pool="2G") as admin:
                urls = {}

                def mariadb_url(name, fresh=True):
                    if fresh or name not in urls:
                        urls[name] = create_database(admin, name)
                    return urls[name]
                run("MariaDB", mariadb_url)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(results)
    (OUT / "bench_scale.json").write_text(json.dumps(results, indent=2))


def report(results: dict) -> None:
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| backfill | MB | seconds | MB/s | lines/s | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        if "ingest" in name:
            print(f"| {name} | {r['bytes'] / 1e6:.0f} | {r['seconds']:.1f} | {r['mb_s']:.1f} | "
                  f"{r['lines_s']:,.0f} | {r['max_rss_mb']:.0f} |")
    for backend in ("SQLite", "MariaDB"):
        a, b = results.get(f"{backend} ingest, rollups"), results.get(f"{backend} ingest, no rollups")
        if a and b:
            print(f"{backend}: rollups cost {100 * (1 - a['mb_s'] / b['mb_s']):.1f}% of ingestion speed")
    print()
    print("| backend | events | transfers | range | /api/stats median / p95 ms | full refresh median / p95 ms |")
    print("|---|---|---|---|---|---|")
    for backend in ("SQLite", "MariaDB"):
        q = results.get(f"{backend} queries")
        if not q:
            continue
        for days in (1, 30, 365):
            a, r = q[f"api_{days}d"], q[f"refresh_{days}d"]
            print(f"| {backend} | {q['events']:,} | {q['transfers']:,} | {days} d | "
                  f"{a['median_ms']:.1f} / {a['p95_ms']:.1f} | {r['median_ms']:.1f} / {r['p95_ms']:.1f} |")
        raw = q["raw_groupby_365d"]
        print(f"| {backend} | | | 365 d, GROUP BY events | {raw['median_ms']:.0f} / {raw['p95_ms']:.0f} | "
              f"({raw['median_ms'] / q['api_365d']['median_ms']:.0f}x the /api/stats median) |")


if __name__ == "__main__":
    main()
