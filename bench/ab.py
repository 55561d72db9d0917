"""A/B runs of ingestion variants into a fresh SQLite file: wall, user and system CPU, peak RSS.

    python -m bench.ab --workload real --rounds 3 \
        A='{}' B='{"pragmas": ["temp_store=MEMORY"]}'

Each variant is bench/variant.py's knobs (JSON). Variants take turns (A B A B ...), each run a
whole process of its own on a fresh database file; prints every run, then per variant the
median of wall seconds, user and system CPU seconds, peak RSS and the bytes the process wrote
(ru_oublock: the write amplification of the journal, WAL and checkpoints). On a loaded
machine compare CPU first: wall time moves with everyone else's work.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"mixed": "mixed-105mb-seed1", "dense": "dense-52mb-seed1", "real": "real-80mb-seed1",
           "real-days": "real-days-80mb-seed1"}


def run(knobs: str, log_dir: Path, tmp: Path, server: str | None = None) -> dict:
    path = tmp / "ab.db"
    for p in tmp.glob("ab.db*"):
        p.unlink()
    if server:
        from bench.mariadb import create_database
        url = create_database(server, "ab")
    else:
        url = f"sqlite:///{path}"
    cmd = [sys.executable, "-m", "bench.variant", knobs, "ours", str(log_dir), url]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(err.decode()[-2000:])
    res = json.loads(out.decode().strip().splitlines()[-1])
    events = None
    if url.startswith("sqlite"):
        with sqlite3.connect(path) as c:
            events = c.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    return {"wall": wall, "inner": res["seconds"], "rss": res["max_rss_mb"], "events": events}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", default="real", choices=sorted(FOLDERS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tmp", default=None, help="folder of the database file (default /tmp)")
    ap.add_argument("variants", nargs="+", help="NAME=JSON knobs of bench/variant.py")
    ap.add_argument("--mariadb", action="store_true",
                    help="into a fresh database on a throwaway MariaDB server (production "
                         "durability) instead of SQLite; CPU then is the client's only")
    args = ap.parse_args()
    if args.mariadb:
        from tests.support import mariadb as mariadb_server
        with mariadb_server.running(fast=False, buffer_pool="1G") as server:
            _SERVER_PID[0] = _pid_of(server.base)
            return _main(args, server.url)
    return _main(args, None)


_SERVER_PID = [None]


def _pid_of(base: Path) -> int | None:
    """Returns the pid of the mariadbd serving the data folder under ``base``."""
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if f"--datadir={base}/data".encode() in cmd:
                return int(d.name)
    return None


def _server_cpu() -> float:
    """Returns the CPU seconds the benchmark's MariaDB server has used (0 without one)."""
    if _SERVER_PID[0] is None:
        return 0.0
    fields = Path(f"/proc/{_SERVER_PID[0]}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _main(args, server: str | None) -> None:
    variants = [v.split("=", 1) for v in args.variants]
    log_dir = ROOT / "bench" / "out" / FOLDERS[args.workload]
    tmp = Path(tempfile.mkdtemp(prefix="ab-", dir=args.tmp))
    results: dict[str, list[dict]] = {name: [] for name, _ in variants}
    try:
        for r in range(args.rounds):
            for name, knobs in variants:
                before = os.times()
                io_before = _children_oublock()
                server_before = _server_cpu()
                res = run(knobs, log_dir, tmp, server)
                res["server"] = _server_cpu() - server_before
                after = os.times()
                res["user"] = after.children_user - before.children_user
                res["sys"] = after.children_system - before.children_system
                res["written_mb"] = (_children_oublock() - io_before) * 512 / 1e6
                results[name].append(res)
                print(f"round {r + 1} {name:>12}: wall {res['wall']:.2f} s  user {res['user']:.2f}"
                      f"  sys {res['sys']:.2f}  cpu {res['user'] + res['sys']:.2f}"
                      f"  server {res['server']:.2f}  rss {res['rss']:.0f} MB  written {res['written_mb']:.0f} MB"
                      f"  events {res['events']}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nmedians over {args.rounds} rounds, workload {args.workload}"
          f"{' into MariaDB' if server else ''}:")
    print("| variant | wall s | user s | sys s | CPU s | server CPU s | peak RSS MB | written MB |")
    print("|---|---|---|---|---|---|---|---|")
    for name, runs in results.items():
        med = {k: statistics.median(x[k] for x in runs)
               for k in ("wall", "user", "sys", "server", "rss", "written_mb")}
        cpu = statistics.median(x["user"] + x["sys"] for x in runs)
        print(f"| {name} | {med['wall']:.2f} | {med['user']:.2f} | {med['sys']:.2f} | {cpu:.2f}"
              f" | {med['server']:.2f} | {med['rss']:.0f} | {med['written_mb']:.0f} |")


def _children_oublock() -> int:
    import resource
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_oublock


if __name__ == "__main__":
    main()
