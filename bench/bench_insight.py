"""A year of a busy server: how fast the insight views answer (docs/insight.md).

    python -m bench.bench_insight [--days 365] [--per-day 5000] [--reps 20] [--rounds 3]
                                  [--backends sqlite,mariadb]

Writes a year of SFTPGo lines (bench_security's: 30 users' transfers, file operations and
logins, dictionary attacks from a few hundred IPs, bans), with each transfer in a dated
folder (/srv/data/<user>/<in|out>/<YYYY>/<MM>/<DD>/f<i>.bin: 60 new folders a day at
depths 5-7) and each login with a client (2.7 fields), ingests it through the real path
into each backend, then times /api/paths at depths 2, 4, 7 and 8 (and for one user),
/api/clients, /api/activity, /api/security (with its countries) and /api/stats (with the
period before) for the whole year, through the Flask app. A cell is the median over rounds
of each round's median (and p95), in ms.
"""
from __future__ import annotations

import argparse
import contextlib
import random
import shutil
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_security import (backend_urls, clients_for, ingest, print_table,  # noqa: E402
                                  time_queries, write_year)

CLIENTS = ["SSH-2.0-OpenSSH_9.6", "SSH-2.0-rclone/v1.66.0", "SSH-2.0-PuTTY_Release_0.80",
           "SSH-2.0-paramiko_3.4.0", "Mozilla/5.0 (X11) Firefox/128.0", "", "curl/8.5.0"]


def dated_folders(logs: Path, seed: int = 5) -> None:
    """Rewrites the year's transfers into dated folders and gives each login a client, in
    place (the same lines otherwise)."""
    rnd = random.Random(seed)
    for path in sorted(logs.glob("sftpgo-*.log")):
        out = []
        for raw in path.read_bytes().splitlines():
            obj = orjson.loads(raw)
            if obj["sender"] in ("Upload", "Download"):
                user, name = obj["file_path"].split("/")[3:5]
                day = obj["time"][:10].replace("-", "/")
                way = "in" if obj["sender"] == "Upload" else "out"
                obj["file_path"] = f"/srv/data/{user}/{way}/{day}/{name}"
            elif obj["sender"] == "login":
                client = rnd.choice(CLIENTS)
                obj.update(client=client, protocol="SSH" if client.startswith("SSH") else
                           rnd.choice(["FTP", "HTTP"]), encrypted=rnd.random() > 0.02)
            out.append(orjson.dumps(obj))
        path.write_bytes(b"\n".join(out) + b"\n")


def queries_for(days: int) -> dict[str, str]:
    first = date(2025, 1, 1)
    rng = f"start={first}&end={first + timedelta(days=days - 1)}"
    return {**{f"/api/paths depth={d}": f"/api/paths?{rng}&depth={d}" for d in (2, 4, 7, 8)},
            "/api/paths depth=7 user=": f"/api/paths?{rng}&depth=7&user=user07",
            "/api/paths depth=8 limit=1000": f"/api/paths?{rng}&depth=8&limit=1000",
            "/api/clients": f"/api/clients?{rng}", "/api/activity": f"/api/activity?{rng}",
            "/api/security (countries)": f"/api/security?{rng}",
            "/api/stats (previous)": f"/api/stats?{rng}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--per-day", type=int, default=5000)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backends", default="sqlite,mariadb")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-insight-"))
    try:
        with contextlib.ExitStack() as stack:
            logs = work / "logs"
            logs.mkdir()
            n = write_year(logs, args.days, args.per_day)
            dated_folders(logs)
            print(f"wrote {n:,} event lines")
            urls = backend_urls(stack, args.backends, work, "bench_insight")
            ingested = {name: ingest(name, url, logs) for name, url in urls.items()}
            clients = clients_for(urls, logs)
            queries = queries_for(args.days)
            results = time_queries(clients, queries, args.rounds, args.reps)
            paths = next(iter(clients.values())).get(queries["/api/paths depth=8 limit=1000"])
            print(f"\n{n:,} events; /api/paths at depth 8 lists "
                  f"{len(paths.get_json()['paths']):,} folders (limit 1000); "
                  f"{args.rounds} rounds of {args.reps} requests; median over rounds of each "
                  "round's median / p95, in ms\n")
            print_table(clients, queries, results, ingested)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
