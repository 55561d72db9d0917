"""What a pass costs with its reading side made free: the floor any faster parser stands on.

    python -m bench.bench_floor [--rounds 3] [--only dense,real,real-days,mixed] [--no-mariadb]

#8 asks for 1.5x GoAccess into SQLite and 1.0x into MariaDB. This script measures how far a
faster reading side (a C or columnar JSON reader, say) could take us, by running one pass
four ways in fresh processes on the benchmark folders (bench/workloads.py), each into a
fresh database:

- ``full``: the pass as it is (parse, rows, rollup counting, storing, commits);
- ``free-parse``: the same pass, but every batch's rows were built beforehand (a first,
  untimed pass into a scratch database memoises ``batch.build``): the lines are still read,
  split and stored, the rollups counted and stored, every batch committed, as a reader that
  cost nothing would leave it;
- ``free-parse-no-rollups``: that, without counting or storing the rollups (not a valid
  pass: the rollups are part of the contract; it shows what the events alone cost);
- ``free-parse-bare``: that, and the events table without its secondary indexes (only the
  primary key): the least a database could do to hold the rows (not valid either: #9's
  audit trail, user histories and MariaDB's ``events_rare`` pages need those indexes);
- ``free-store``: the reading side alone (rows built, every commit a no-op).

with ``startup`` (``ingest.py --help``: interpreter start and imports) and GoAccess on the
same files, taking turns; each figure is its best round. The ceiling is GoAccess's time over
startup + free-parse: the best ratio a pass storing what ours stores could reach, whatever
its parser.
"""
from __future__ import annotations

import argparse
import gc
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import bench_ingest, goaccess, workloads  # noqa: E402

VARIANTS = ("full", "free-parse", "free-parse-no-rollups", "free-parse-bare", "free-store")


# --- one variant, in its own process ----------------------------------------------------------

def one(variant: str, log_dir: str, url: str, scratch_url: str) -> dict:
    import db
    from ingestion import batch, run
    from settings import Settings

    def ingester(u: str) -> run.Ingester:
        return run.Ingester(db.connect_checked(u), Settings(log_dir=log_dir, db_url=u))

    calls = hits = 0
    if variant.startswith("free-parse"):
        built: dict[tuple, object] = {}
        build = batch.build

        def remember(file_id, start, lines, max_ts, partial):
            rows = built[(file_id, start, len(lines), partial)] = build(
                file_id, start, lines, max_ts, partial)
            return rows
        run.batches.build = remember
        ingester(scratch_url).run_until_done()
        gc.freeze()         # the memoised rows are not the timed pass's garbage to scan

        def recall(file_id, start, lines, max_ts, partial):
            nonlocal calls, hits
            calls += 1
            rows = built.get((file_id, start, len(lines), partial))
            if rows is None:
                return build(file_id, start, lines, max_ts, partial)
            hits += 1
            return rows
        run.batches.build = recall
    ing = ingester(url)
    if variant in ("free-parse-no-rollups", "free-parse-bare"):
        ing.commit.rollups = False
    if variant == "free-parse-bare":
        _drop_secondary_indexes(ing.engine)
    elif variant == "free-store":
        ing.commit = lambda b: None
    started = time.perf_counter()
    p = ing.run_until_done()
    seconds = time.perf_counter() - started
    if calls != hits:                  # the scratch pass saw other batches: not a free parse
        raise SystemExit(f"{variant}: {calls - hits} of {calls} batches were not built beforehand")
    return {"seconds": seconds, "lines": p.lines, "events": p.events, "batches": calls}


def _drop_secondary_indexes(engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            names = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'"
                                         " AND tbl_name = 'events' AND sql IS NOT NULL").scalars()
            for name in list(names):
                conn.exec_driver_sql(f"DROP INDEX {name}")
        else:
            names = {r[2] for r in conn.exec_driver_sql("SHOW INDEX FROM events")} - {"PRIMARY"}
            for name in names:
                conn.exec_driver_sql(f"ALTER TABLE events DROP INDEX {name}")


# --- the run ----------------------------------------------------------------------------------

def variant_run(variant: str, log_dir: Path, url: str, scratch_url: str) -> dict:
    r = bench_ingest.whole_process([sys.executable, "-m", "bench.bench_floor", "--one", variant,
                                    str(log_dir), url, scratch_url])
    return json.loads(r["stdout"].strip().splitlines()[-1])


def startup_run() -> dict:
    return bench_ingest.whole_process([sys.executable, "ingest.py", "--help"])


def run(args, admin_url: str | None, tmp: Path) -> dict:
    best: dict[tuple, float] = {}
    events: dict[str, int] = {}

    def keep(key: tuple, seconds: float) -> None:
        best[key] = min(seconds, best.get(key, float("inf")))
    backends = ["SQLite"] + (["MariaDB"] if admin_url else [])
    n = 0
    for _ in range(args.rounds):
        keep(("startup",), startup_run()["seconds"])
        for w in args.only.split(","):
            log_dir = workloads.folder(w, bench_ingest.SIZES_MB[w])
            keep((w, "GoAccess"), bench_ingest.goaccess_run(log_dir, tmp)["seconds"])
            for backend in backends:
                for v in VARIANTS:
                    n += 1
                    if backend == "SQLite":
                        url, scratch = (f"sqlite:///{tmp}/{p}-{n}.db" for p in ("floor", "scratch"))
                    else:
                        from bench.mariadb import create_database
                        url = create_database(admin_url, f"floor{n}")
                        scratch = create_database(admin_url, f"scratch{n}")
                    r = variant_run(v, log_dir, url, scratch)
                    keep((w, backend, v), r["seconds"])
                    events[w] = r["events"]
    return {"best": best, "events": events, "backends": backends}


def report(res: dict, only: list[str], rounds: int) -> str:
    best, start = res["best"], res["best"][("startup",)]
    rows = [f"Machine: {bench_ingest.machine()}; best of {rounds} rounds. Pass times in-process"
            f" (after the imports); startup (`ingest.py --help`) {start:.2f} s.", "",
            "| workload | into | full pass | free parse | free parse, no rollups "
            "| free parse, no rollups, no secondary indexes | free store | GoAccess | ours ÷ GoAccess (startup + full) | ceiling (startup + free parse) |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for w in only:
        ga = best[(w, "GoAccess")]
        for b in res["backends"]:
            f = [best[(w, b, v)] for v in VARIANTS]
            rows.append(f"| {bench_ingest.TITLES[w]} | {b} | {f[0]:.2f} | {f[1]:.2f} | {f[2]:.2f} "
                        f"| {f[3]:.2f} | {f[4]:.2f} | {ga:.2f} | {ga / (start + f[0]):.2f}x "
                        f"| **{ga / (start + f[1]):.2f}x** |")
    rows.append("")
    rows.append("Events per workload: " + ", ".join(f"{bench_ingest.TITLES[w]} {res['events'][w]:,}"
                                                     for w in only) + ".")
    return "\n".join(rows)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        print(json.dumps(one(*sys.argv[2:6])))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="rounds; each figure is its best")
    ap.add_argument("--only", default="dense,real,real-days,mixed",
                    help="comma-separated workloads (mixed,dense,real,real-days)")
    ap.add_argument("--no-mariadb", action="store_true")
    args = ap.parse_args()
    goaccess.ensure_installed()
    workloads.OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="floor-", dir=workloads.OUT))
    try:
        if args.no_mariadb:
            res = run(args, None, tmp)
        else:
            from bench.mariadb import throwaway_server
            with throwaway_server() as admin:
                res = run(args, admin, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = report(res, args.only.split(","), args.rounds)
    print(text)
    (workloads.OUT / "bench_floor.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
