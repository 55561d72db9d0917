"""Ingest an SFTPGo log folder into the database: python ingest.py [--log-dir DIR] [--db URL] [--follow]

A plain run ingests every complete line that is new and exits 0. --follow keeps tailing
until SIGINT/SIGTERM, then finishes or rolls back its batch and exits. Settings come from
flags, else the environment (SFTPGO_LOG_DIR, DATABASE_URL, ...), else the defaults.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from typing import TYPE_CHECKING

import settings as settings_mod

# SQLAlchemy, the database layer, the alert rules and the ingester are imported where they
# are used, after the arguments are parsed: `ingest.py --help` (and a usage error) answers
# without paying for them (about 0.2 s of imports; tests/ingestion/test_cli.py checks it).
if TYPE_CHECKING:
    from ingestion.progress import Progress
    from ingestion.run import Ingester, Seam

log = logging.getLogger("ingest")
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ingest.py", description=__doc__.splitlines()[0])
    settings_mod.add_flags(p, "node", "log_dir", "db_url")
    p.add_argument("--follow", action="store_true", help="keep tailing until SIGINT/SIGTERM")
    p.add_argument("--max-seconds", type=float, help="stop after about this many seconds")
    p.add_argument("--rebuild-rollups", action="store_true",
                   help="recompute every rollup (daily_stats, stats_totals, the security and "
                        "user rollups, on MySQL/MariaDB events_rare) from the events table, "
                        "then exit")
    p.add_argument("--check-rollups", action="store_true",
                   help="compare every rollup with the events table; exit 1 if one differs")
    settings_mod.add_flags(p, "events_retention_days", "alert_rules")
    p.add_argument("--prune", action="store_true",
                   help="drop every raw event older than the retention now (in batches), "
                        "then exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.add_argument("--verbose", action="store_true", help="log file lifecycle events")
    return p


def parse_args(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None, seam: Seam | None = None) -> int:
    """Runs the command line ``argv``; ``seam`` is called at each point of a pass (run.SEAMS)
    and of a prune (the crash tests give one that kills the process there)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # a connection the server dropped fails its pool reset too: the pass's own line says so,
    # without the pool's traceback each time
    logging.getLogger("sqlalchemy.pool").setLevel(logging.CRITICAL)
    import db
    from alerts import rules as alert_rules
    from ingestion import discover
    from ingestion.follow import follow
    from ingestion.run import Ingester
    stop = _StopFlag()
    if args.follow:
        signal.signal(signal.SIGINT, stop.set)
        signal.signal(signal.SIGTERM, stop.set)
    try:
        cfg = settings_mod.from_flags(args)
        alert_rules.load_checked(cfg)       # a rules file that cannot be used: exit 2
        engine = _connect(cfg, stop if args.follow else None)
        if engine is None:                  # stopped while waiting for the database
            return 0
        if args.rebuild_rollups or args.check_rollups:
            return _rollup_command(engine, args)
        if args.prune:
            return _prune_command(engine, cfg, args, seam)
        discover.candidate_paths(cfg.log_dir, cfg.log_name)   # fail early on a missing folder
    except (settings_mod.ConfigError, db.DatabaseError, discover.LogDirMissing) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    ingester = Ingester(engine, cfg, seam=seam)
    if args.follow:
        follow(ingester, stop, on_pass=None if args.quiet else _follow_reporter())
        return 0
    return _run_to_end(ingester, args, stop)


CONNECT_RETRY_MAX_S = 30.0


def _connect(cfg, stop: "_StopFlag | None"):
    """Returns the migrated engine. With ``stop`` (--follow, meant to outlive an outage), a
    database server that cannot be reached or drops the connection is waited for, retrying
    with a backoff (0.5 s doubling to CONNECT_RETRY_MAX_S), and None is returned if stopped
    meanwhile; a plain run fails at once. A bad URL or a broken database fails either way."""
    import db
    delay = 0.5
    while True:
        try:
            return db.connect_checked(cfg.db_url, cfg.node)
        except db.DatabaseUnreachable as exc:
            if stop is None:
                raise
            log.error("Database unreachable, retrying in %.1f s. reason=%s", delay, exc)
        end = time.monotonic() + delay
        while not stop() and time.monotonic() < end:
            time.sleep(0.05)
        if stop():
            return None
        delay = min(delay * 2, CONNECT_RETRY_MAX_S)


def _prune_seam(seam: Seam | None):
    """Returns ``seam`` as --prune calls it: a committed prune batch counts as a batch."""
    if seam is None:
        return None
    return lambda name: seam("after_commit" if name == "prune_committed" else name)


class _StopFlag:
    def __init__(self):
        self.stopped = False

    def set(self, *_):
        self.stopped = True

    def __call__(self) -> bool:
        return self.stopped


def _run_to_end(ingester: Ingester, args, stop: _StopFlag) -> int:
    import sqlalchemy as sa

    import db
    from ingestion import discover
    from ingestion.progress import Progress
    signal.signal(signal.SIGTERM, stop.set)
    bar = _bar() if sys.stderr.isatty() and not args.quiet else None
    total = Progress()
    try:
        total = ingester.run_until_done(max_seconds=args.max_seconds, should_stop=stop,
                                        on_batch=None if bar is None else (lambda p: _bar_update(bar, p)))
    except KeyboardInterrupt:
        pass
    except sa.exc.DBAPIError as exc:
        print(f"error: database failed: {db.error_reason(exc)}", file=sys.stderr)
        return 1
    except db.DatabaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (discover.LogDirMissing, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if bar is not None:
            bar.close()
    _finish_alerts(ingester, stop)
    if not args.quiet:
        secs = total.seconds
        mb = total.bytes_done / 1e6
        print(f"files={total.files} lines={total.lines} events={total.events} "
              f"malformed={total.malformed} bytes={total.bytes_done} pending={total.bytes_pending} "
              f"lost={total.bytes_lost} seconds={secs:.2f} rate={mb / secs if secs else 0:.1f}MB/s")
    return 0


def _finish_alerts(ingester: Ingester, stop: _StopFlag) -> None:
    """Judges the alert rules on whatever the run stored and sends what is due (30 s at
    most) before exiting; what is left is sent by the next run or another process."""
    import sqlalchemy as sa

    import db
    if stop():
        return
    try:
        ingester.alerts.finish(max_seconds=30.0)
    except (sa.exc.DBAPIError, db.DatabaseError) as exc:
        print(f"warning: alert rules not judged: {exc}", file=sys.stderr)


def _bar():
    from tqdm import tqdm
    return tqdm(unit="B", unit_scale=True, unit_divisor=1024, desc="ingest", dynamic_ncols=True)


def _bar_update(bar, p: Progress) -> None:
    bar.total = p.bytes_done + p.bytes_pending
    bar.n = p.bytes_done
    bar.set_postfix(files=p.files, pending_files=p.files_pending, events=p.events, refresh=False)
    bar.refresh()


def _follow_reporter():
    def report(p: Progress) -> None:
        if p.bytes_done:
            print(f"lines={p.lines} events={p.events} malformed={p.malformed} "
                  f"pending={p.bytes_pending}", flush=True)
    return report


def _prune_command(engine, cfg, args, seam: Seam | None = None) -> int:
    """Prunes everything due at once (waiting for another pruner), a batch per transaction;
    ingestion elsewhere goes on meanwhile. SIGINT/SIGTERM stop it between batches."""
    from datetime import date

    import sqlalchemy as sa

    import db
    from ingestion import retention
    cutoff = retention.cutoff_day(cfg.events_retention_days, date.today())
    if cutoff is None:
        print("error: --prune needs a retention: set EVENTS_RETENTION_DAYS or "
              "--events-retention-days to a number of days above 0", file=sys.stderr)
        return EXIT_USAGE
    stop = _StopFlag()
    signal.signal(signal.SIGINT, stop.set)
    signal.signal(signal.SIGTERM, stop.set)
    try:
        done = retention.prune(engine, cutoff, should_stop=stop, wait=True,
                               seam=_prune_seam(seam))
    except sa.exc.DBAPIError as exc:
        print(f"error: database failed: {db.error_reason(exc)}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"pruned={done.deleted} batches={done.batches} before={cutoff.isoformat()}"
              f"{'' if done.done else ' stopped=1'}")
    return 0


def _rollup_command(engine, args) -> int:
    from ingestion import rollups
    if args.rebuild_rollups:
        n = rollups.rebuild(engine)
        print(f"rollups rebuilt: daily_stats {n} rows, the security and user rollups"
              " (and on MySQL/MariaDB events_rare)")
        return 0
    diff = rollups.check(engine)
    if diff:
        for row in diff[:20]:
            print("differs:", row)
        rare = sum(1 for d in diff if d[0] == "events_rare")
        more = " or more" if rare >= rollups.RARE_SHOWN else ""
        print(f"a rollup differs from events in {len(diff)}{more} rows", file=sys.stderr)
        return 1
    print("every rollup (daily_stats, the security and user rollups, and on MySQL/MariaDB"
          " events_rare) matches events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
