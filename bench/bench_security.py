"""A year of a server under attack: how fast the security, user and audit API answer.

    python -m bench.bench_security [--days 365] [--per-day 5000] [--reps 20] [--rounds 3]
                                   [--backends sqlite,mariadb] [--db URL]

Writes a year of SFTPGo 2.6-style lines (30 users' transfers, file operations and logins;
dictionary attacks from a few hundred IPs, a few defender bans a day), ingests them through
the real path into each backend (SQLite in a temporary folder; a throwaway MariaDB server
with production durability, as bench_ingest's), then times /api/security for the whole
range, its last 30 days and its last day, /api/users/<name>, and the first page of
/api/events with each single filter, through the Flask app. Each round takes ``--reps``
requests after a warm-up, backends taking turns; a cell is the median over rounds of each
round's median (and p95), so another job on the machine moves it less. Prints a Markdown
table with the backends side by side.
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import random
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import orjson
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import db  # noqa: E402
import app as dashboard_app  # noqa: E402
from bench.bench_scale import timings  # noqa: E402
from ingestion.run import Ingester  # noqa: E402
from settings import Settings  # noqa: E402

USERS = [f"user{i:02d}" for i in range(30)]
DICTIONARY = ["admin", "root", "test", "Admin", "admin ", "oracle", "ubuntu", "guest", "ftp", ""]


def write_year(folder: Path, days: int, per_day: int, seed: int = 9) -> int:
    """Writes one file per month of lines; returns the number of event lines."""
    rnd = random.Random(seed)
    first = date(2025, 1, 1)
    ips = [f"203.0.{rnd.randrange(256)}.{rnd.randrange(256)}" for _ in range(300)]
    events, out, month = 0, None, None
    for d in range(days):
        day = first + timedelta(days=d)
        if day.month != month:
            if out:
                out.close()
            month = day.month
            out = (folder / f"sftpgo-{day:%Y-%m-01T00-00-00.000}.log").open("wb")
        lines = []
        for i in range(per_day):
            t = f"{day}T{i * 86400 // per_day // 3600:02d}:{i * 86400 // per_day // 60 % 60:02d}:" \
                f"{i * 86400 // per_day % 60:02d}.{i % 1000:03d}"
            r = rnd.random()
            user = rnd.choice(USERS)
            if r < 0.55:
                ip = rnd.choice(ips[:40])
                lines.append({"level": "debug", "time": t, "sender": "connection_failed",
                              "client_ip": ip, "username": rnd.choice(DICTIONARY),
                              "login_type": rnd.choice(["password", "publickey", "no_auth_tried"]),
                              "protocol": rnd.choice(["SSH", "SSH", "FTP"]),
                              "error": "invalid credentials"})
            elif r < 0.551:
                lines.append({"level": "info", "time": t, "sender": "defender",
                              "client_ip": rnd.choice(ips), "protocol": "SSH", "event": "banned"})
            elif r < 0.9:
                lines.append({"level": "info", "time": t, "sender": rnd.choice(["Upload", "Download"]),
                              "remote_addr": f"198.51.100.{USERS.index(user)}:5000",
                              "elapsed_ms": rnd.randrange(5000), "size_bytes": rnd.randrange(10**7),
                              "username": user, "file_path": f"/srv/data/{user}/f{i}.bin",
                              "connection_id": f"SFTP_{i}_1", "protocol": "SFTP"})
            elif r < 0.95:
                lines.append({"level": "info", "time": t, "sender": "Rename",
                              "remote_addr": "198.51.100.1:1", "username": user,
                              "file_path": f"/srv/data/{user}/f{i}.tmp", "elapsed": 2,
                              "connection_id": f"SFTP_{i}_1", "protocol": "SFTP"})
            else:
                lines.append({"level": "info", "time": t, "sender": "login", "ip": "198.51.100.9",
                              "username": user, "method": "publickey", "protocol": "SSH"})
        out.write(b"".join(orjson.dumps(x) + b"\n" for x in lines))
        events += len(lines)
    out.close()
    (folder / "sftpgo.log").write_bytes(b"")
    return events


def queries_for(days: int) -> dict[str, str]:
    """Returns {label: path} of the requests timed on a generated range of ``days`` days."""
    first = date(2025, 1, 1)
    end = first + timedelta(days=days - 1)
    rng = f"start={first}&end={end}"
    return {
        f"/api/security {days} d": f"/api/security?{rng}",
        "/api/security 30 d": f"/api/security?start={end - timedelta(days=29)}&end={end}",
        "/api/security 1 d": f"/api/security?start={end}&end={end}",
        f"/api/users/user07 {days} d": f"/api/users/user07?{rng}",
        "/api/events first page": f"/api/events?{rng}",
        "/api/events?user=": f"/api/events?{rng}&user=user07",
        "/api/events?ip=": f"/api/events?{rng}&ip=203.0.113.7",
        "/api/events?failed=1": f"/api/events?{rng}&failed=1",
        "/api/events?kind=ban": f"/api/events?{rng}&kind=ban",
        "/api/events?protocol=FTP": f"/api/events?{rng}&protocol=FTP",
        "/api/events?path=": f"/api/events?{rng}&path=f77",
    }


def ingest(name: str, url: str, logs: Path) -> float:
    """Ingests the folder into the database at ``url``; returns the seconds it took."""
    engine = db.connect_checked(url)
    t = time.perf_counter()
    ingester = Ingester(engine, Settings(log_dir=str(logs)))
    ingester.run_until_done()
    ingester.close()
    seconds = time.perf_counter() - t
    with engine.connect() as conn:
        tables = [t for t in ("events", "login_failures_daily", "login_failures_ip_daily",
                              "login_failures_user_daily", "login_failures_method_daily",
                              "login_failure_pairs", "login_failure_pair_days", "bans_daily")
                  if sa.inspect(conn).has_table(t)]
        counts = {t: conn.exec_driver_sql(f"SELECT COUNT(*) FROM {t}").scalar() for t in tables}
    engine.dispose()
    print(f"  {name}: ingested in {seconds:.1f} s; "
          + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    return seconds


def backend_urls(stack: contextlib.ExitStack, backends: str, work: Path, name: str) -> dict:
    """Returns {label: database URL} for the comma-separated ``backends`` (sqlite, mariadb):
    a file under ``work``, a database ``name`` on a throwaway MariaDB that ``stack`` stops."""
    urls = {}
    for backend in backends.split(","):
        if backend == "sqlite":
            urls["SQLite"] = f"sqlite:///{work}/bench.db"
        else:
            from bench.mariadb import create_database, throwaway_server
            urls["MariaDB"] = create_database(stack.enter_context(throwaway_server()), name)
    return urls


def clients_for(urls: dict, logs: Path) -> dict:
    """Returns {label: a Flask test client of the dashboard on that database}."""
    return {name: dashboard_app.create_app(Settings(db_url=url, log_dir=str(logs)))
            .server.test_client() for name, url in urls.items()}


def time_queries(clients: dict, queries: dict, rounds: int, reps: int) -> dict:
    """Returns {(label, client): [each round's timings]}: every query answered 200 first."""
    results: dict[tuple, list] = {}
    for _ in range(rounds):
        for label, query in queries.items():
            for name, client in clients.items():
                answer = client.get(query)
                assert answer.status_code == 200, (query, answer.get_json())
                results.setdefault((label, name), []).append(
                    timings(lambda: client.get(query).get_data(), reps))
    return results


def print_table(clients: dict, queries: dict, results: dict, ingested: dict) -> None:
    """Prints the Markdown table: a row per query, median / p95 ms per client."""
    print("| request | " + " | ".join(clients) + " |")
    print("|---|" + "---|" * len(clients))
    for label in queries:
        cells = []
        for name in clients:
            rounds = results[(label, name)]
            cells.append(f"{statistics.median(x['median_ms'] for x in rounds):,.1f} / "
                         f"{statistics.median(x['p95_ms'] for x in rounds):,.1f}")
        print(f"| `{label}` | " + " | ".join(cells) + " |")
    print("| ingesting the year (s) | "
          + " | ".join(f"{ingested[name]:.1f}" for name in clients) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--per-day", type=int, default=5000)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backends", default="sqlite,mariadb")
    ap.add_argument("--db", help="one database URL to use instead of --backends")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-security-"))
    try:
        with contextlib.ExitStack() as stack:
            logs = work / "logs"
            logs.mkdir()
            t = time.perf_counter()
            n = write_year(logs, args.days, args.per_day)
            print(f"wrote {n:,} event lines in {time.perf_counter() - t:.1f} s")
            if args.db:
                urls = {args.db.split(":", 1)[0].split("+", 1)[0]: args.db}
            else:
                urls = backend_urls(stack, args.backends, work, "bench_security")
            ingested = {name: ingest(name, url, logs) for name, url in urls.items()}
            clients = clients_for(urls, logs)
            queries = queries_for(args.days)
            results = time_queries(clients, queries, args.rounds, args.reps)
            print(f"\n{n:,} events, {args.rounds} rounds of {args.reps} requests; "
                  "median over rounds of each round's median / p95, in ms\n")
            print_table(clients, queries, results, ingested)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
