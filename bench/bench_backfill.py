"""Backfill: ingestion with the indexes kept up, in backlog mode, and GoAccess, on the same files.

    python -m bench.bench_backfill [--rounds 3] [--only real,dense,mixed] [--no-mariadb]

Each loader is a whole process of its own, timed from its start to its exit with os.wait4
(interpreter start, imports, migrations and, in backlog mode, the index build included): its
wall seconds, its CPU seconds (user + system: on a shared machine the steadier figure) and its
peak RSS. ``ingest.py`` runs into a fresh SQLite file twice, with ``INGEST_BACKLOG_BYTES=0``
(every index kept up, row by row, as before backlog mode) and with ``INGEST_BACKLOG_BYTES=1``
(the backlog loaded without the full secondary indexes, which are built once at its end;
the default threshold, 64 MiB, would leave the 52 MB event-dense folder out); into a fresh database
on a throwaway MariaDB server with production durability once (backlog mode never drops an
index there: docs/database.md#backlog-mode); GoAccess reads the same files
(bench/goaccess.py). Loaders take turns, ``--rounds`` rounds; each figure is the median of
the rounds (peak RSS: the largest). Prints a Markdown table; ratios are GoAccess's median
over ours (above 1: faster than GoAccess), of wall time and of CPU time.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import goaccess, workloads  # noqa: E402
from bench.bench_ingest import SIZES_MB, TITLES, goaccess_run, machine, whole_process  # noqa: E402

LOADERS = ("GoAccess", "SQLite, indexes kept up", "SQLite, backlog mode", "MariaDB")


def ours(log_dir: Path, url: str, backlog_bytes: int | None) -> dict:
    env = {"DATABASE_URL": url}
    if backlog_bytes is not None:
        env["INGEST_BACKLOG_BYTES"] = str(backlog_bytes)
    r = whole_process([sys.executable, "ingest.py", "--log-dir", str(log_dir)], env=env)
    summary = dict(kv.split("=", 1) for kv in r["stdout"].split() if "=" in kv)
    r["events"] = int(summary["events"])
    return r


def run(args, admin_url: str | None, tmp: Path) -> dict:
    runs: dict[tuple, list] = {}
    folders = {w: workloads.folder(w, SIZES_MB[w]) for w in args.only.split(",")}
    n = 0
    for _round in range(args.rounds):
        for w, log_dir in folders.items():
            n += 1
            runs.setdefault((w, "GoAccess"), []).append(goaccess_run(log_dir, tmp))
            for name, backlog in (("SQLite, indexes kept up", 0), ("SQLite, backlog mode", 1)):
                url = f"sqlite:///{tmp}/ours-{n}-{backlog}.db"
                runs.setdefault((w, name), []).append(ours(log_dir, url, backlog))
                os.remove(url.removeprefix("sqlite:///"))
            if admin_url:
                from bench.mariadb import create_database
                runs.setdefault((w, "MariaDB"), []).append(
                    ours(log_dir, create_database(admin_url, f"bf{n}"), None))
    sizes = {w: sum(os.path.getsize(p) for p in workloads.log_files(f))
             for w, f in folders.items()}
    out = {}
    for (w, name), rs in runs.items():
        out[(w, name)] = {"seconds": statistics.median(r["seconds"] for r in rs),
                          "cpu": statistics.median(r["cpu"] for r in rs),
                          "rss_mb": max(r["rss_mb"] for r in rs),
                          "events": rs[0].get("events"), "bytes": sizes[w],
                          "all_seconds": [round(r["seconds"], 2) for r in rs],
                          "all_cpu": [round(r["cpu"], 2) for r in rs]}
    return out


def report(results: dict, rounds: int) -> str:
    rows = [f"Machine: {machine()}; median of {rounds} rounds, whole process each.", "",
            "| workload | loader | MB | wall s | CPU s (user+sys) | peak RSS MB "
            "| ÷ GoAccess, wall | ÷ GoAccess, CPU |",
            "|---|---|---|---|---|---|---|---|"]
    for (w, name), r in results.items():
        ga = results[(w, "GoAccess")]
        ratio_wall = ratio_cpu = ""
        if name != "GoAccess":
            ratio_wall = f"**{ga['seconds'] / r['seconds']:.2f}x**"
            ratio_cpu = f"{ga['cpu'] / r['cpu']:.2f}x"
        rows.append(f"| {TITLES[w]} | {name} | {r['bytes'] / 1e6:.0f} | {r['seconds']:.2f} | "
                    f"{r['cpu']:.2f} | {r['rss_mb']:.0f} | {ratio_wall} | {ratio_cpu} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="rounds; each figure is their median")
    ap.add_argument("--only", default="real,dense,mixed",
                    help="comma-separated workloads (real,dense,mixed,real-days)")
    ap.add_argument("--no-mariadb", action="store_true")
    args = ap.parse_args()
    goaccess.ensure_installed()
    workloads.OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-", dir=workloads.OUT))
    try:
        if args.no_mariadb:
            results = run(args, None, tmp)
        else:
            from bench.mariadb import throwaway_server
            with throwaway_server() as admin:
                results = run(args, admin, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = report(results, args.rounds)
    print(text)
    (workloads.OUT / "bench_backfill.md").write_text(text + "\n")
    (workloads.OUT / "bench_backfill.json").write_text(json.dumps(
        {f"{w} | {name}": r for (w, name), r in results.items()}, indent=2))


if __name__ == "__main__":
    main()
