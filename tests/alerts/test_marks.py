"""The security page's marks (dashboard.alerts.fired_ips) over a range's bounds, on SQLite and
MariaDB: whole days and windows of hours, the window's first moment included and its end
excluded, to the millisecond."""
from __future__ import annotations

from datetime import date, datetime

from dashboard import alerts, answers
from dashboard.span import Span
from ingestion.run import Ingester
from settings import Settings

from tests.support.alerts import BRUTE_FORCE_AND_BAN, ban_line, failed_line, ms, rules_file, write

RULES = BRUTE_FORCE_AND_BAN
DAY = date(2024, 3, 1)
FIRED = datetime(2024, 3, 1, 8, 0, 19)             # the 20th failure: brute-force fires here


def marks(engine, since: datetime | None = None, until: datetime | None = None) -> dict:
    return alerts.fired_ips(engine, **Span(DAY, DAY, since, until).bounds())


def test_marks_follow_the_window_to_the_millisecond(db_url, engine, log_dir, tmp_path):
    rules = rules_file(tmp_path / "rules.toml", RULES)
    start = ms("2024-03-01T08:00:00.000")
    lines = [failed_line(start + 1000 * i, "203.0.113.9") for i in range(20)]
    lines += [ban_line(ms("2024-03-01T10:30:00.000"), "198.51.100.4"),
              ban_line(ms("2024-03-02T00:00:00.000"), "192.0.2.1")]      # the next day
    write(log_dir / "sftpgo.log", lines)
    ing = Ingester(engine, Settings(log_dir=str(log_dir), db_url=db_url, alert_rules=rules))
    ing.alerts.enabled = False
    ing.run_until_done()
    ing.alerts.evaluator.run()
    ing.close()

    assert marks(engine) == {"203.0.113.9": ["brute-force"], "198.51.100.4": ["ban"]}
    assert marks(engine, datetime(2024, 3, 1, 8), datetime(2024, 3, 1, 9)) == \
        {"203.0.113.9": ["brute-force"]}
    assert marks(engine, datetime(2024, 3, 1, 10), datetime(2024, 3, 1, 11)) == \
        {"198.51.100.4": ["ban"]}
    assert marks(engine, datetime(2024, 3, 1, 9), datetime(2024, 3, 1, 10)) == {}
    # the window's first moment is in it, its end is not
    assert marks(engine, FIRED, datetime(2024, 3, 1, 9)) == {"203.0.113.9": ["brute-force"]}
    assert marks(engine, datetime(2024, 3, 1, 8), FIRED) == {}


def test_judging_raises_the_data_version_so_kept_answers_show_new_marks(db_url, engine,
                                                                         log_dir, tmp_path):
    """The pages keep answers per data version (dashboard/answers.py): alerts stored after
    the events' batch must raise it again, or a security page drawn in between keeps
    showing an IP without its mark."""
    rules = rules_file(tmp_path / "rules.toml", RULES)
    start = ms("2024-03-01T08:00:00.000")
    write(log_dir / "sftpgo.log", [failed_line(start + 1000 * i, "203.0.113.9")
                                   for i in range(20)])
    ing = Ingester(engine, Settings(log_dir=str(log_dir), db_url=db_url, alert_rules=rules))
    ing.alerts.enabled = False
    ing.run_until_done()
    before = answers.data_version(engine)
    ing.alerts.evaluator.run()
    ing.close()
    assert marks(engine) == {"203.0.113.9": ["brute-force"]}
    assert answers.data_version(engine) > before
