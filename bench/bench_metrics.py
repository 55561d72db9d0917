"""How fast GET /metrics answers on a year of a server with 1,000 users.

    python -m bench.bench_metrics [--users 1000] [--days 365] [--reps 50] [--no-mariadb]

Writes a year of SFTPGo lines (one file per month) for ``--users`` users: each user active
on about half the days (uploads, downloads, some failed, file operations, logins), dictionary
attacks (failed logins of varied methods and protocols) and bans every day; ingests them
through the real ingestion path into SQLite (kept under bench/out/ and reused) and a
throwaway MariaDB server, then times GET /metrics through the Flask app (after one scrape
that gives the users their slots, as a running server has), its read and its formatting
apart, and over HTTP from a real gunicorn (gzipped, as Prometheus asks), next to the same
per-user sums grouped from daily_stats (what stats_totals saves).
Prints a Markdown table and the machine.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import orjson
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import app as dashboard_app  # noqa: E402
import db  # noqa: E402
from bench.bench_ingest import OUT, machine  # noqa: E402
from bench.bench_scale import timings  # noqa: E402
from bench.mariadb import create_database, throwaway_server  # noqa: E402
from dashboard import metrics  # noqa: E402
from ingestion.run import Ingester  # noqa: E402
from settings import Settings  # noqa: E402

FROM_DAILY = ("SELECT node, kind, username, SUM(events), SUM(bytes), SUM(failed)"
              " FROM daily_stats GROUP BY node, kind, username")
METHODS = ["password", "publickey", "keyboard-interactive", "no_auth_tried"]


def write_year(folder: Path, users: int, days: int, seed: int = 25) -> int:
    """Writes the year's lines, one file per month; returns the number of lines."""
    rnd = random.Random(seed)
    names = [f"user{i:04d}" for i in range(users)]
    first = date(2025, 1, 1)
    n, out, month = 0, None, None
    for d in range(days):
        day = first + timedelta(days=d)
        if day.month != month:
            if out:
                out.close()
            month = day.month
            out = (folder / f"sftpgo-{day:%Y-%m-01T00-00-00.000}.log").open("wb")
        lines = []
        for i, user in enumerate(names):
            if rnd.random() < 0.5:
                continue
            for j in range(rnd.randrange(2, 8)):
                t = f"{day}T{rnd.randrange(24):02d}:{rnd.randrange(60):02d}:" \
                    f"{rnd.randrange(60):02d}.{rnd.randrange(1000):03d}"
                r = rnd.random()
                if r < 0.6:
                    obj = {"level": "info", "time": t, "sender": rnd.choice(["Upload", "Download"]),
                           "remote_addr": f"198.51.100.{i % 250}:5000", "elapsed_ms": 40,
                           "size_bytes": rnd.randrange(10**8), "username": user,
                           "file_path": f"/srv/{user}/f{j}.bin", "connection_id": f"SFTP_{i}_{j}",
                           "protocol": "SFTP"}
                    if rnd.random() < 0.03:
                        obj["error"] = "unexpected EOF"
                elif r < 0.8:
                    obj = {"level": "info", "time": t, "sender": "Rename",
                           "remote_addr": f"198.51.100.{i % 250}:5000", "username": user,
                           "file_path": f"/srv/{user}/a{j}", "target_path": f"/srv/{user}/b{j}",
                           "connection_id": f"SFTP_{i}_{j}", "protocol": "SFTP"}
                else:
                    obj = {"level": "info", "time": t, "sender": "login", "ip": "198.51.100.9",
                           "username": user, "method": "publickey", "protocol": "SSH"}
                lines.append((t, orjson.dumps(obj)))
        for k in range(300):                          # a dictionary attack every day
            t = f"{day}T{k * 24 // 300:02d}:{k % 60:02d}:{k % 59:02d}.{k:03d}"
            lines.append((t, orjson.dumps({
                "level": "debug", "time": t, "sender": "connection_failed",
                "client_ip": f"203.0.113.{rnd.randrange(250)}", "username": rnd.choice(
                    ["root", "admin", "test", "oracle"]), "login_type": rnd.choice(METHODS),
                "protocol": rnd.choice(["SSH", "SSH", "FTP", "HTTP"]),
                "error": "invalid credentials"})))
        for k in range(5):
            t = f"{day}T12:00:0{k}.000"
            lines.append((t, orjson.dumps({"level": "info", "time": t, "sender": "defender",
                                           "client_ip": f"203.0.113.{k}", "protocol": "SSH",
                                           "event": "banned"})))
        lines.sort(key=lambda pair: pair[0])          # in time order, as SFTPGo writes
        out.write(b"\n".join(raw for _t, raw in lines) + b"\n")
        n += len(lines)
    out.close()
    return n


def year_folder(users: int, days: int) -> Path:
    path = OUT / f"metrics-year-{users}u-{days}d"
    if not (path / "done").exists():
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        (path / "done").write_text(str(write_year(path, users, days)))
    return path


def ingest(url: str, logs: Path) -> float:
    engine = db.make_engine(url)
    db.migrate(engine, "node1")
    started = time.perf_counter()
    ing = Ingester(engine, Settings(log_dir=str(logs), db_url=url, node="node1"))
    try:
        ing.run_until_done()
    finally:
        ing.close()
    return time.perf_counter() - started


def facts(url: str) -> dict:
    engine = db.make_engine(url)
    with engine.connect() as conn:
        one = lambda sql: int(conn.execute(sa.text(sql)).scalar() or 0)   # noqa: E731
        return {"events": one("SELECT COUNT(*) FROM events"),
                "daily_cells": one("SELECT COUNT(*) FROM daily_stats"),
                "total_cells": one("SELECT COUNT(*) FROM stats_totals"),
                "users": one("SELECT COUNT(DISTINCT username) FROM stats_totals"
                             " WHERE kind IN ('upload', 'download') AND username <> ''"),
                "files": one("SELECT COUNT(*) FROM log_files")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(url: str):
    """Runs `gunicorn 'app:wsgi()'` on the database (no log folder to read); yields its URL."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "SFTPGO_LOG_DIR": tempfile.mkdtemp(),
           "DASHBOARD_INTERVAL": "3600"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c",
                             "gunicorn.conf.py", "-b", f"127.0.0.1:{port}", "app:wsgi()"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/metrics", timeout=30).read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("gunicorn did not come up") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def cpu_timings(fn, reps: int) -> dict:
    """Returns the median and p95 CPU time of ``fn`` in this process (ms): what the scrape
    costs the dashboard whatever else the machine runs (MariaDB's own work not included)."""
    fn()
    samples = []
    for _ in range(reps):
        t = time.process_time()
        fn()
        samples.append((time.process_time() - t) * 1000)
    samples.sort()
    return {"median_ms": statistics.median(samples),
            "p95_ms": samples[min(len(samples) - 1, int(round(0.95 * len(samples))) - 1)]}


def measure(url: str, reps: int) -> dict:
    settings = Settings(db_url=url, log_dir=tempfile.mkdtemp(prefix="bench-nologs-"))
    client = dashboard_app.create_app(settings).server.test_client()
    first = time.perf_counter()
    answer = client.get("/metrics")
    out = {"first_ms": (time.perf_counter() - first) * 1000}   # the slots given here
    assert answer.status_code == 200, answer.data[:300]
    out["bytes"] = len(answer.data)
    out["series"] = sum(1 for line in answer.data.splitlines() if not line.startswith(b"#"))
    out["scrape"] = timings(lambda: client.get("/metrics").get_data(), reps)
    out["scrape_cpu"] = cpu_timings(lambda: client.get("/metrics").get_data(), reps)
    engine = db.make_engine(url)
    snap = metrics.read(engine, settings.metrics_max_users)
    out["read"] = timings(lambda: metrics.read(engine, settings.metrics_max_users), reps)
    out["format"] = timings(lambda: metrics.exposition(snap), reps)
    out["library"] = timings(lambda: metrics.library_exposition(snap), max(3, reps // 5))
    with engine.connect() as conn:
        out["from_daily"] = timings(lambda: conn.execute(sa.text(FROM_DAILY)).all(),
                                    max(3, reps // 10))
    with gunicorn(url) as base:            # gzipped, as Prometheus asks for it
        request = urllib.request.Request(base + "/metrics", headers={"Accept-Encoding": "gzip"})
        out["http"] = timings(lambda: urllib.request.urlopen(request, timeout=30).read(), reps)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--no-mariadb", action="store_true")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    logs = year_folder(args.users, args.days)
    results = {}
    sqlite_path = OUT / f"metrics-year-{args.users}u-{args.days}d.db"
    url = f"sqlite:///{sqlite_path}"
    if not sqlite_path.exists():
        print(f"ingesting {logs} into SQLite: {ingest(url, logs):.0f} s", file=sys.stderr)
    results["SQLite"] = {**facts(url), **measure(url, args.reps)}
    if not args.no_mariadb:
        with throwaway_server(buffer_pool="1G") as admin:
            url = create_database(admin, "metrics")
            print(f"ingesting into MariaDB: {ingest(url, logs):.0f} s", file=sys.stderr)
            results["MariaDB"] = {**facts(url), **measure(url, args.reps)}
            db.dispose_engines(url)
    print(f"Machine: {machine()}; load average {os.getloadavg()[0]:.1f} at the end")
    print(f"Workload: {args.users:,} users, {args.days} days, "
          f"{int((logs / 'done').read_text()):,} lines")
    print()
    print("| backend | events | daily_stats cells | stats_totals cells | series | answer KB |"
          " /metrics median / p95 ms | its CPU in the dashboard | over HTTP (gunicorn) | read |"
          " format |"
          " prometheus_client's writer | first scrape | same sums from daily_stats |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for backend, r in results.items():
        ms = lambda k: f"{r[k]['median_ms']:.1f} / {r[k]['p95_ms']:.1f}"   # noqa: E731
        print(f"| {backend} | {r['events']:,} | {r['daily_cells']:,} | {r['total_cells']:,} | "
              f"{r['series']:,} | {r['bytes'] / 1024:.0f} | {ms('scrape')} | {ms('scrape_cpu')} | "
              f"{ms('http')} | "
              f"{ms('read')} | {ms('format')} | {ms('library')} | {r['first_ms']:.0f} | "
              f"{ms('from_daily')} |")


if __name__ == "__main__":
    main()
