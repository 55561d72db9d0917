"""Several nodes, one MariaDB: aggregate ingestion speed with 1, 2 and 3 concurrent node
ingesters, and /api/stats over 365 days with and without node=.

    python -m bench.bench_nodes [--mb 60] [--reps 20]

Generates a year of realistic SFTPGo lines per node (simulate, 30 users, the same names on
every node, --mb MB each), then, on a throwaway MariaDB with production durability, for
k = 1, 2, 3: a fresh database, k `ingest.py --node nK` processes started at once, the wall
time until the last one is done (aggregate MB/s = their bytes / that time). On the 3-node
database it times /api/stats (365 days) without node=, with one node and with two, and the
first page of /api/events without and with node= (an event's node is its file's: the filter
is file_id IN the nodes' files).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import app as dashboard_app  # noqa: E402
import db  # noqa: E402
import simulate  # noqa: E402
from bench.bench_ingest import OUT  # noqa: E402
from bench.mariadb import create_database, throwaway_server  # noqa: E402
from settings import Settings  # noqa: E402

NODES = ("n1", "n2", "n3")


def node_folder(node: str, seed: int, mb: int) -> Path:
    path = OUT / f"nodes-{mb}mb" / node
    if not (path / "done").exists():
        path.mkdir(parents=True, exist_ok=True)
        stats = simulate.generate_folder(str(path), mb * 1024 * 1024, seed=seed, days=365,
                                         n_users=30, compress_every=2)
        (path / "done").write_text(json.dumps(stats, default=str))
    return path


def folder_bytes(path: Path) -> int:
    return json.loads((path / "done").read_text())["bytes"]


def ingest_at_once(url: str, folders: dict) -> float:
    """Runs one ingest.py per node at once; returns the wall seconds until all are done."""
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "ingest.py", "--node", n, "--log-dir", str(f),
                               "--db", url, "--quiet"], cwd=ROOT) for n, f in folders.items()]
    for p in procs:
        if p.wait() != 0:
            raise SystemExit(f"ingest.py exited {p.returncode}")
    return time.perf_counter() - start


def median_ms(client, path: str, reps: int) -> float:
    client.get(path)                    # warm, as a running server is
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        answer = client.get(path)
        times.append(time.perf_counter() - t)
        assert answer.status_code == 200, answer.get_json()
    return round(statistics.median(times) * 1000, 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mb", type=int, default=60, help="MB of log per node")
    p.add_argument("--reps", type=int, default=20)
    args = p.parse_args()
    folders = {n: node_folder(n, i + 1, args.mb) for i, n in enumerate(NODES)}
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                          f"Python {platform.python_version()}", "mb_per_node": args.mb,
               "ingest": [], "api": {}}
    with throwaway_server() as server_url:
        url = None
        for k in (1, 2, 3):
            url = create_database(server_url, f"nodes{k}")
            db.connect_checked(url)                      # schema first, not in the timing
            chosen = {n: folders[n] for n in NODES[:k]}
            seconds = ingest_at_once(url, chosen)
            total = sum(folder_bytes(f) for f in chosen.values())
            results["ingest"].append({"nodes": k, "mb": round(total / 1e6, 1),
                                      "seconds": round(seconds, 2),
                                      "aggregate_mb_s": round(total / 1e6 / seconds, 1)})
            print(results["ingest"][-1], flush=True)
        client = dashboard_app.create_app(Settings(db_url=url, node="n1",
                                                   log_dir=str(folders["n1"]))).server.test_client()
        end = date.today()
        rng = f"start={(end - timedelta(days=364)).isoformat()}&end={end.isoformat()}"
        for name, query in (("stats_all", ""), ("stats_node", "&node=n1"),
                            ("stats_two_nodes", "&node=n1&node=n2")):
            results["api"][name] = median_ms(client, f"/api/stats?{rng}{query}", args.reps)
        for name, query in (("events_all", ""), ("events_node", "&node=n2")):
            results["api"][name] = median_ms(client, f"/api/events?{rng}{query}", args.reps)
        for name, query in (("status_all", ""), ("status_node", "?node=n3")):
            results["api"][name] = median_ms(client, f"/api/status{query}", args.reps)
        print(json.dumps(results["api"]), flush=True)
        db.dispose_engines(url)
    (OUT / "bench_nodes.json").write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
