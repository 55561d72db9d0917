"""What judging the alert rules costs the ingestion: the attack year with and without them.

    python -m bench.bench_alerts [--days 365] [--per-day 5000] [--rounds 2]
                                 [--backends sqlite,mariadb] [--tick-mb 0]

The workload is bench_security's year of a server under attack (30 users' transfers, file
operations and logins; dictionary attacks from a few hundred IPs, defender bans; 55% of the
lines are failed logins). Each run ingests it into a fresh database through the real path
(Ingester.run_until_done, then AlertHook.finish as `ingest.py` does before it exits):

* ``without``: the hook switched off (the ingestion as it was before alerts);
* ``default``: the default rules (brute-force, ban, break-in, stale-node), no rules file;
* ``more``: those plus a transfer_failures, a bytes and a new_ip rule (they read every
  transfer as well).

Each judged after every pass, the rest at the end.

``--tick-mb N`` ingests in passes of N MB instead (the dashboard's ticks: a pass, then its
judging, then the next), so the judging runs as often as it does live. Variants take turns,
``--rounds`` rounds; each cell is the round with the least CPU time of this process (the
machine is shared: its CPU moves less than its wall time), its wall seconds beside, and the
judging's own (wall) seconds. With MariaDB the server's CPU is not in the figures.
Prints a Markdown table with the backends side by side.
"""
from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import db  # noqa: E402
from bench.bench_security import write_year  # noqa: E402
from ingestion.run import Ingester  # noqa: E402
from settings import Settings  # noqa: E402
from tests.support.alerts import BRUTE_FORCE_AND_BAN  # noqa: E402

RULES = BRUTE_FORCE_AND_BAN + """
[[rule]]
name = "break-in"
when = "login_after_failures"
over = 5
within = "1h"

[[rule]]
name = "stale-node"
when = "stale_node"

[[rule]]
name = "failing-transfers"
when = "transfer_failures"
over = 10
within = "1h"

[[rule]]
name = "big-day"
when = "bytes"
over = "20GB"
within = "1d"

[[rule]]
name = "new-ip"
when = "new_ip"
"""


def run(url: str, logs: Path, rules: str | None, tick_bytes: int | None) -> dict:
    """Ingests ``logs`` into the fresh database ``url`` (``rules``: None for no judging, ""
    for the default rules, or a file); returns seconds and counts."""
    engine = db.connect_checked(url)
    ing = Ingester(engine, Settings(log_dir=str(logs), db_url=url, alert_rules=rules or ""))
    ing.alerts.enabled = rules is not None
    judging = [0.0]
    step = ing.alerts.evaluator.step

    def timed_step(*a, **k):              # every judging step, after passes and at the end
        t = time.perf_counter()
        try:
            return step(*a, **k)
        finally:
            judging[0] += time.perf_counter() - t
    ing.alerts.evaluator.step = timed_step
    wall, cpu = time.perf_counter(), time.process_time()
    if tick_bytes:
        while not ing.run_pass(max_bytes=tick_bytes).complete:
            pass
    else:
        ing.run_until_done()
    if rules is not None:
        ing.alerts.finish(0)
    judged = judging[0]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    with engine.connect() as conn:
        events = conn.execute(sa.text("SELECT COUNT(*) FROM events")).scalar()
        alerts = conn.execute(sa.text("SELECT COUNT(*) FROM alerts")).scalar()
    ing.close()
    db.dispose_engines(url)
    return {"wall": wall, "cpu": cpu, "judged": judged, "events": events, "alerts": alerts}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--per-day", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--backends", default="sqlite,mariadb")
    ap.add_argument("--tick-mb", type=float, default=0)
    args = ap.parse_args()
    tick = int(args.tick_mb * 1024 * 1024) or None
    work = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    try:
        with contextlib.ExitStack() as stack:
            logs = work / "logs"
            logs.mkdir()
            n = write_year(logs, args.days, args.per_day)
            rules = work / "rules.toml"
            rules.write_text(RULES)
            size = sum(p.stat().st_size for p in logs.iterdir()) / 1e6
            print(f"{n:,} event lines, {size:.0f} MB; passes of "
                  f"{'everything' if not tick else f'{args.tick_mb:g} MB'}")
            makers = {}
            for backend in args.backends.split(","):
                if backend == "sqlite":
                    makers["SQLite"] = (lambda i, v: f"sqlite:///{work}/b-{i}-{v}.db")
                else:
                    from bench.mariadb import create_database, throwaway_server
                    server = stack.enter_context(throwaway_server())
                    makers["MariaDB"] = (lambda i, v, s=server: create_database(s, f"ba_{i}_{v}"))
            best: dict[tuple, dict] = {}
            variants = [("without", None), ("default", ""), ("more", str(rules))]
            for r in range(args.rounds):
                for name, make in makers.items():
                    for variant, path in (variants if r % 2 == 0 else variants[::-1]):
                        res = run(make(r, variant), logs, path, tick)
                        if variant == "without":
                            res["judged"] = 0.0
                        print(f"  round {r + 1} {name} {variant}: {res['wall']:.1f} s wall, "
                              f"{res['cpu']:.1f} s CPU, judging {res['judged']:.2f} s, "
                              f"{res['alerts']:,} alerts")
                        key = (name, variant)
                        if key not in best or res["cpu"] < best[key]["cpu"]:
                            best[key] = res
            print("\n| | " + " | ".join(makers) + " |")
            print("|---|" + "---|" * len(makers))
            for label, key, fmt in (
                    ("ingestion without judging, wall / CPU s", "without", "wc"),
                    ("with the default rules, wall / CPU s", "default", "wc"),
                    ("of which judging, s", "default", "j"),
                    ("alerts stored", "default", "a"),
                    ("with 3 more rules (transfers too), wall / CPU s", "more", "wc"),
                    ("of which judging, s", "more", "j"),
                    ("alerts stored", "more", "a")):
                cells = []
                for name in makers:
                    b = best[(name, key)]
                    cells.append(f"{b['wall']:.1f} / {b['cpu']:.1f}" if fmt == "wc" else
                                 f"{b['judged']:.2f}" if fmt == "j" else f"{b['alerts']:,}")
                print(f"| {label} | " + " | ".join(cells) + " |")
            for variant in ("default", "more"):
                cells = []
                for name in makers:
                    w, r_ = best[(name, "without")], best[(name, variant)]
                    cells.append(f"{100 * (r_['wall'] / w['wall'] - 1):+.1f}% / "
                                 f"{100 * (r_['cpu'] / w['cpu'] - 1):+.1f}% "
                                 f"(judging {100 * r_['judged'] / w['wall']:.1f}% of the wall)")
                print(f"| cost of the {variant} rules, wall / CPU | " + " | ".join(cells) + " |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
