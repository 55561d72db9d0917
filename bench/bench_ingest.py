"""Ingestion speed and memory: ours against GoAccess and the straightforward loader, one run.

    python -m bench.bench_ingest [--repeat 3] [--only mixed,dense,real,real-days] [--no-mariadb]
                                 [--baseline-mariadb] [--memory-mb 0]

Four workloads (bench/workloads.py): the mixed simulate folder (a third of the lines are
events), an event-dense folder (every line a transfer, rotated at 10.5 MB), the real
excerpt's transfer lines repeated into one 80 MB rotated file (times and all), and the same
with each copy a day after the previous one (real-days: times only go forward). On each, every loader runs as a
whole process of its own, timed from start to exit with its peak RSS (os.wait4): ours
(``ingest.py``) into a fresh SQLite file and into a fresh database on a throwaway MariaDB
server with production durability, the straightforward loader (bench/baseline.py) into SQLite,
and GoAccess with a JSON log format, reporting to a JSON file. Loaders take turns, ``--repeat``
rounds; each row is its fastest round (peak RSS: its largest). Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import goaccess, workloads  # noqa: E402

OUT = workloads.OUT
SIZES_MB = {"mixed": 105, "dense": 52, "real": 80, "real-days": 80}
TITLES = {"mixed": "mixed (simulate)", "dense": "event-dense", "real": "real lines",
          "real-days": "real lines, a day per copy"}


# --- one whole process ----------------------------------------------------------------------

def whole_process(cmd: list[str], env: dict | None = None) -> dict:
    """Runs ``cmd`` to its end; returns wall seconds, CPU seconds, peak RSS (MB) and stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err,
                                env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} exited {proc.returncode}: {stderr[-2000:]}")
    return {"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mb": usage.ru_maxrss / 1024, "stdout": stdout}


def ours(log_dir: Path, url: str) -> dict:
    """ingest.py, one pass over the folder (the URL goes through the environment)."""
    r = whole_process([sys.executable, "ingest.py", "--log-dir", str(log_dir)],
                      env={"DATABASE_URL": url})
    summary = dict(kv.split("=", 1) for kv in r["stdout"].split()[-9:] if "=" in kv)
    r["events"] = int(summary["events"])
    r["lines"] = int(summary["lines"])
    return r


def baseline(log_dir: Path, url: str) -> dict:
    r = whole_process([sys.executable, "-m", "bench.baseline", str(log_dir), url])
    done = json.loads(r["stdout"].strip().splitlines()[-1])
    r["events"] = None
    r["lines"] = done["lines"]
    r["rows"] = done["rows"]
    return r


def goaccess_run(log_dir: Path, tmp: Path) -> dict:
    report = tmp / "goaccess.json"
    r = whole_process(goaccess.command(workloads.log_files(log_dir), str(report)))
    r.update(goaccess.counts(str(report)))
    r["events"] = r["valid"]
    return r


def sqlite_facts(url: str) -> dict:
    """Returns our transfer count and their bytes, read back from the SQLite file."""
    with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
        n, total = con.execute("SELECT COUNT(*), COALESCE(SUM(size_bytes), 0) FROM events"
                               " WHERE kind IN ('upload', 'download')").fetchone()
    return {"transfers": n, "transfer_bytes": total}


# --- the run --------------------------------------------------------------------------------

def keep_best(results: dict, key: tuple, r: dict) -> None:
    best = results.get(key)
    rss = max(r["rss_mb"], best["rss_mb"] if best else 0)
    if best is None or r["seconds"] < best["seconds"]:
        results[key] = {k: v for k, v in r.items() if k != "stdout"}
    results[key]["rss_mb"] = rss


def run(args, admin_url: str | None, tmp: Path) -> tuple[dict, dict]:
    results: dict[tuple, dict] = {}
    facts: dict[str, dict] = {}
    folders = {w: workloads.folder(w, SIZES_MB[w]) for w in args.only.split(",")}
    n = 0
    for round_ in range(args.repeat):
        for w, log_dir in folders.items():
            n += 1
            keep_best(results, (w, "GoAccess"), goaccess_run(log_dir, tmp))
            url = f"sqlite:///{tmp}/ours-{n}.db"
            keep_best(results, (w, "ours, SQLite"), ours(log_dir, url))
            if round_ == 0:
                facts[w] = {**sqlite_facts(url), **results[(w, "GoAccess")]}
                facts[w]["ours_events"] = results[(w, "ours, SQLite")]["events"]
            if admin_url:
                from bench.mariadb import create_database
                keep_best(results, (w, "ours, MariaDB"),
                          ours(log_dir, create_database(admin_url, f"ours{n}")))
            if round_ < args.baseline_rounds:
                keep_best(results, (w, "baseline, SQLite"),
                          baseline(log_dir, f"sqlite:///{tmp}/base-{n}.db"))
                facts[w]["baseline_rows"] = results[(w, "baseline, SQLite")]["rows"]
                if admin_url and args.baseline_mariadb:
                    from bench.mariadb import create_database
                    keep_best(results, (w, "baseline, MariaDB"),
                              baseline(log_dir, create_database(admin_url, f"base{n}")))
    for (w, _), r in results.items():
        r["bytes"] = sum(os.path.getsize(p) for p in workloads.log_files(folders[w]))
    if args.memory_mb:
        big = workloads.folder("mixed", args.memory_mb)
        r = ours(big, f"sqlite:///{tmp}/big.db")
        r["bytes"] = sum(os.path.getsize(p) for p in workloads.log_files(big))
        keep_best(results, ("mixed", f"ours, SQLite, {args.memory_mb} MB backfill"), r)
    return results, facts


def machine() -> str:
    model = "?"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, {goaccess.version()}, {platform.platform()}")


def report(results: dict, facts: dict, repeat: int) -> str:
    rows = [f"Machine: {machine()}; best of {repeat} rounds, whole process each.", "",
            "| workload | loader | MB | seconds | MB/s | events/s | peak RSS MB "
            "| ours ÷ GoAccess | ours ÷ baseline |",
            "|---|---|---|---|---|---|---|---|---|"]
    for (w, name), r in results.items():
        ga, base = results.get((w, "GoAccess")), results.get((w, "baseline, SQLite"))
        vs_ga = vs_base = ""
        if name.startswith("ours") and "backfill" not in name:
            vs_ga = f"**{ga['seconds'] / r['seconds']:.2f}x**" if ga else ""
            vs_base = f"{base['seconds'] / r['seconds']:.1f}x" if base else ""
        events = f"{r['events'] / r['seconds']:,.0f}" if r.get("events") is not None else "–"
        rows.append(f"| {TITLES[w]} | {name} | {r['bytes'] / 1e6:.0f} | {r['seconds']:.2f} | "
                    f"{r['bytes'] / 1e6 / r['seconds']:.1f} | {events} | {r['rss_mb']:.0f} | "
                    f"{vs_ga} | {vs_base} |")
    rows.append("")
    for w, f in facts.items():
        same = f["valid"] == f["transfers"] and f["bandwidth"] == f["transfer_bytes"]
        rows.append(f"- {TITLES[w]}: GoAccess counted {f['requests']:,} requests, {f['valid']:,} "
                    f"valid, {f['bandwidth']:,} bytes; ours stored {f['ours_events']:,} events, of "
                    f"which {f['transfers']:,} transfers of {f['transfer_bytes']:,} bytes"
                    + (" (the same requests and bytes)" if same else "")
                    + (f"; the straightforward loader kept {f['baseline_rows']:,} rows"
                       if "baseline_rows" in f else "") + ".")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="rounds; each row is its best")
    ap.add_argument("--baseline-rounds", type=int, default=1,
                    help="rounds of the (slow) straightforward loader")
    ap.add_argument("--only", default=",".join(workloads.WORKLOADS),
                    help="comma-separated workloads to run (mixed,dense,real,real-days)")
    ap.add_argument("--no-mariadb", action="store_true")
    ap.add_argument("--baseline-mariadb", action="store_true",
                    help="also time the straightforward loader into MariaDB (slow)")
    ap.add_argument("--memory-mb", type=int, default=0,
                    help="also ingest a mixed folder of this size into SQLite (peak RSS)")
    args = ap.parse_args()
    goaccess.ensure_installed()
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-", dir=OUT))
    try:
        if args.no_mariadb:
            results, facts = run(args, None, tmp)
        else:
            from bench.mariadb import throwaway_server
            with throwaway_server() as admin:
                results, facts = run(args, admin, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = report(results, facts, args.repeat)
    print(text)
    (OUT / "bench_ingest.md").write_text(text + "\n")
    (OUT / "bench_ingest.json").write_text(json.dumps(
        {f"{w} | {name}": r for (w, name), r in results.items()}, indent=2))


# --- kept for bench_scale: one ingestion through the library, timed after the imports --------

def measure(which: str, log_dir: Path, url: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.run_one", which, str(log_dir), url],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["mb_s"] = result["bytes"] / 1e6 / result["seconds"]
    result["lines_s"] = result["lines"] / result["seconds"]
    return result


if __name__ == "__main__":
    main()
