"""A year of a server under attack: how fast the security, user and audit API answer.

    python -m bench.bench_security [--days 365] [--per-day 5000] [--reps 20] [--db URL]

Writes a year of SFTPGo 2.6-style lines (30 users' transfers, file operations and logins;
dictionary attacks from a few hundred IPs, a few defender bans a day), ingests them through
the real path, then times /api/security and /api/users/<name> for 365 days and the first
page of /api/events with each single filter, through the Flask app (median and p95).
"""
from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import orjson

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--per-day", type=int, default=5000)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--db", help="database URL (default: a SQLite file in a temporary folder)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-security-"))
    try:
        logs = work / "logs"
        logs.mkdir()
        t = time.perf_counter()
        n = write_year(logs, args.days, args.per_day)
        print(f"wrote {n:,} event lines in {time.perf_counter() - t:.1f} s")
        url = args.db or f"sqlite:///{work}/bench.db"
        engine = db.connect_checked(url)
        t = time.perf_counter()
        ingester = Ingester(engine, Settings(log_dir=str(logs)))
        ingester.run_until_done()
        ingester.close()
        print(f"ingested in {time.perf_counter() - t:.1f} s")
        with engine.connect() as conn:
            for table in ("events", "login_failures_daily", "bans_daily"):
                rows = conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar()
                print(f"{table}: {rows:,} rows")
        client = dashboard_app.create_app(Settings(db_url=url, log_dir=str(logs))) \
            .server.test_client()
        end = date(2025, 1, 1) + timedelta(days=args.days - 1)
        rng = f"start=2025-01-01&end={end}"
        queries = {
            "/api/security 365 d": f"/api/security?{rng}",
            "/api/users/user07 365 d": f"/api/users/user07?{rng}",
            "/api/events first page": f"/api/events?{rng}",
            "/api/events?user=": f"/api/events?{rng}&user=user07",
            "/api/events?kind=ban": f"/api/events?{rng}&kind=ban",
            "/api/events?ip=": f"/api/events?{rng}&ip=203.0.113.7",
            "/api/events?protocol=FTP": f"/api/events?{rng}&protocol=FTP",
            "/api/events?failed=1": f"/api/events?{rng}&failed=1",
            "/api/events?path=": f"/api/events?{rng}&path=f77",
        }
        for name, query in queries.items():
            answer = client.get(query)
            assert answer.status_code == 200, (query, answer.get_json())
            res = timings(lambda: client.get(query).get_data(), args.reps)
            print(f"{name:28s} median {res['median_ms']:8.1f} ms   p95 {res['p95_ms']:8.1f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
