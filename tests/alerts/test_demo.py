"""The demo shows alerts at once with the default rules: its history ends with a password
spray (brute-force) and its defender bans IPs (ban)."""
from __future__ import annotations

import db
from ingestion.run import Ingester
from settings import Settings
from simulate.demo import start_demo

from tests.support.alerts import stored


def test_the_demo_fires_brute_force_and_ban_with_no_rules_file(sqlite_url, tmp_path):
    handle = start_demo(str(tmp_path / "logs"), history_days=4, history_lines_per_day=2000,
                        seed=3)
    handle.stop()
    engine = db.connect_checked(sqlite_url)
    ing = Ingester(engine, Settings(log_dir=handle.log_dir, db_url=sqlite_url))
    ing.run_until_done()
    ing.alerts.finish(0)
    rules = {r["rule"] for r in stored(engine)}
    assert {"brute-force", "ban"} <= rules, rules
    ing.close()
