"""What a pass costs with its reading side made free: the floor a faster parser stands on.

    python -m bench.bench_floor [--rounds 3] [--only dense,real,real-days,mixed] [--no-mariadb]

#8 asks for 1.5x GoAccess into SQLite and 1.0x into MariaDB. This script measures how far a
faster reading side (a C or columnar JSON reader, say) in front of our storing code could
take us. First, per workload, an untimed pass into a scratch SQLite file memoises every
``batch.build`` (the rows of each batch) and pickles them. Then one pass runs five ways, each
in a fresh process into a fresh database, timed from creating the engine (migrations on the
empty database included) to disposing of it:

- ``full``: the pass as it is (parse, rows, rollup counting, storing, commits);
- ``free-parse``: the same pass, every ``batch.build`` answered from the memo (a pass fails
  unless every batch was found there): the lines are still read and split, the rollups
  counted and stored, every batch committed, as a reader that cost nothing would leave it;
- ``free-parse-no-rollups``: that, without counting or storing the rollups (not a valid
  pass: the rollups are part of the contract; it shows what the events alone cost);
- ``free-parse-bare``: that, and the events table without its secondary indexes (only the
  primary key): not valid either (the audit trail, the user histories and ``/api/events``'
  filters need them), it shows the least a database could do to hold the rows;
- ``free-store``: the reading side alone (rows built, every commit a no-op).

with ``startup`` (``ingest.py --help``: interpreter start and imports) and GoAccess on the
same files. Variants take turns (their order rotates each round); before each one the disks
are synced and, on MariaDB, InnoDB's dirty pages flushed, and each database is dropped after
its run. Each figure is its best round. The ceiling is GoAccess's time over startup +
free-parse: the best ratio a pass storing what ours stores, the way ours stores it, could
reach with a parser that costs nothing.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import bench_ingest, goaccess, workloads  # noqa: E402

VARIANTS = ("full", "free-parse", "free-parse-no-rollups", "free-parse-bare", "free-store")


# --- in a process of its own ------------------------------------------------------------------

def _key(file_id, start, lines, partial) -> tuple:
    return file_id, start, len(lines), partial, lines[-1] if lines else None


def memo(log_dir: str, scratch_url: str, memo_path: str) -> dict:
    """Runs an untimed pass, pickling every batch's rows to ``memo_path``."""
    import db
    from ingestion import batch, run
    from settings import Settings
    built: dict[tuple, object] = {}
    build = batch.build

    def remember(file_id, start, lines, max_ts, partial):
        rows = built[_key(file_id, start, lines, partial)] = build(
            file_id, start, lines, max_ts, partial)
        return rows
    run.batches.build = remember
    engine = db.connect_checked(scratch_url)
    run.Ingester(engine, Settings(log_dir=log_dir, db_url=scratch_url)).run_until_done()
    engine.dispose()
    with open(memo_path, "wb") as f:
        pickle.dump(built, f, protocol=pickle.HIGHEST_PROTOCOL)
    return {"batches": len(built)}


def one(variant: str, log_dir: str, url: str, memo_path: str) -> dict:
    import db
    from ingestion import run
    from settings import Settings

    built: dict = {}
    if variant.startswith("free-parse"):
        with open(memo_path, "rb") as f:
            built = pickle.load(f)
        gc.freeze()         # the memoised rows are not the timed pass's garbage to scan

        def recall(file_id, start, lines, max_ts, partial):
            return built.pop(_key(file_id, start, lines, partial))   # a miss ends the run
        run.batches.build = recall
    started = time.perf_counter()
    engine = db.connect_checked(url)
    if variant == "free-parse-bare":
        _drop_secondary_indexes(engine)
    ing = run.Ingester(engine, Settings(log_dir=log_dir, db_url=url))
    if variant in ("free-parse-no-rollups", "free-parse-bare"):
        ing.commit.rollups = False
    if variant == "free-store":
        ing.commit = lambda b: None
        p = ing.run_pass()             # no checkpoint moves: a second pass would read again
    else:
        p = ing.run_until_done()
    ing.close()
    engine.dispose()
    seconds = time.perf_counter() - started
    if not p.complete:
        raise SystemExit(f"{variant}: the pass did not read everything")
    if built:                          # the pass read other batches than the memo's
        raise SystemExit(f"{variant}: {len(built)} batches of the memo were not read")
    return {"seconds": seconds, "lines": p.lines, "events": p.events}


def _drop_secondary_indexes(engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            names = list(conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'"
                " AND sql IS NOT NULL").scalars())
            for name in names:
                conn.exec_driver_sql(f'DROP INDEX "{name}"')
        else:
            names = {r[2] for r in conn.exec_driver_sql("SHOW INDEX FROM events")} - {"PRIMARY"}
            if names:
                conn.exec_driver_sql("ALTER TABLE events "
                                     + ", ".join(f"DROP INDEX `{n}`" for n in sorted(names)))


# --- the run ----------------------------------------------------------------------------------

def _python(*args: str) -> dict:
    r = bench_ingest.whole_process([sys.executable, "-m", "bench.bench_floor", *args])
    return json.loads(r["stdout"].strip().splitlines()[-1])


def startup_run() -> dict:
    return bench_ingest.whole_process([sys.executable, "ingest.py", "--help"])


def _settle(admin_url: str | None) -> None:
    """Syncs the disks and, on MariaDB, waits (30 s at most) for InnoDB's dirty pages to be
    written: a variant must not pay for the writes of the one before."""
    os.sync()
    if admin_url is None:
        return
    import sqlalchemy as sa
    engine = sa.create_engine(admin_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.exec_driver_sql("SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0.001")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            dirty = conn.exec_driver_sql(
                "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'").one()[1]
            if int(dirty) == 0:
                break
            time.sleep(0.2)
    engine.dispose()


def _drop(url: str, admin_url: str | None) -> None:
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        return
    import sqlalchemy as sa
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    engine = sa.create_engine(admin_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
    engine.dispose()


def run(args, admin_url: str | None, tmp: Path) -> dict:
    best: dict[tuple, float] = {}
    events: dict[str, int] = {}

    def keep(key: tuple, seconds: float) -> None:
        best[key] = min(seconds, best.get(key, float("inf")))
    backends = ["SQLite"] + (["MariaDB"] if admin_url else [])
    only = args.only.split(",")
    folders = {w: workloads.folder(w, bench_ingest.SIZES_MB[w]) for w in only}
    memos = {}
    for w, log_dir in folders.items():       # untimed: every batch's rows, built once
        memos[w] = str(tmp / f"memo-{w}.pickle")
        scratch = f"sqlite:///{tmp}/scratch-{w}.db"
        _python("--memo", str(log_dir), scratch, memos[w])
        _drop(scratch, None)
    n = 0
    for round_ in range(args.rounds):
        keep(("startup",), startup_run()["seconds"])
        for w, log_dir in folders.items():
            keep((w, "GoAccess"), bench_ingest.goaccess_run(log_dir, tmp)["seconds"])
            for backend in backends:
                for i in range(len(VARIANTS)):
                    v = VARIANTS[(i + round_) % len(VARIANTS)]
                    n += 1
                    if backend == "SQLite":
                        url = f"sqlite:///{tmp}/floor-{n}.db"
                    else:
                        from bench.mariadb import create_database
                        url = create_database(admin_url, f"floor{n}")
                    _settle(admin_url if backend == "MariaDB" else None)
                    r = _python("--one", v, str(log_dir), url, memos[w])
                    _drop(url, admin_url)
                    keep((w, backend, v), r["seconds"])
                    events[w] = r["events"]
    return {"best": best, "events": events, "backends": backends}


def report(res: dict, only: list[str], rounds: int) -> str:
    best, start = res["best"], res["best"][("startup",)]
    rows = [f"Machine: {bench_ingest.machine()}; best of {rounds} rounds. Pass times in-process,"
            f" from creating the engine to disposing of it (the imports not included); startup"
            f" (`ingest.py --help`) {start:.2f} s. Ratios from unrounded times.", "",
            "| workload | into | full pass | free parse | free parse, no rollups "
            "| free parse, no rollups, no secondary indexes | free store | GoAccess "
            "| ours ÷ GoAccess (startup + full pass) | ceiling (startup + free parse) |",
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
    if len(sys.argv) > 1 and sys.argv[1] in ("--one", "--memo"):
        way = one if sys.argv[1] == "--one" else memo
        print(json.dumps(way(*sys.argv[2:])))
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
