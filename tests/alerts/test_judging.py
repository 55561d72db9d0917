"""Each event rule kind against the reference (tests/alerts/reference.py), on SQLite and
MariaDB, through the real path: log lines in files, the Ingester's passes, the hook judging
after each pass. Events arriving at once, in order over many passes, and out of order (an
older archive copied in later)."""
from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

import db
from ingestion.run import Ingester
from settings import Settings

from . import reference as ref
from tests.support.alerts import (FIELDS, RULES, START, actual, expected, rules_file, scenario,
                                  stored, write)


def _ingester(engine, url, log_dir, tmp_path) -> Ingester:
    return Ingester(engine, Settings(log_dir=str(log_dir), db_url=url,
                                     alert_rules=rules_file(tmp_path / "rules.toml", RULES)))


def _run(ing: Ingester) -> None:
    ing.run_until_done()
    ing.alerts.finish(0)


def test_the_plain_reference_is_the_contract_words():
    """The reference's arrival form with nothing stored is its plain form (the contract's
    sentences one by one), on random series: the two readings agree."""
    rnd = random.Random(4)
    for _ in range(200):
        evs = [(("k",), rnd.randrange(0, 3_000_000), rnd.randrange(1, 4)) for _ in range(60)]
        assert ref.counting(evs, 9, 600_000) == ref.plain_counting(evs, 9, 600_000)


@pytest.mark.parametrize("seed", [1, 2])
def test_every_event_rule_at_once_matches_the_reference(engine, db_url, log_dir, tmp_path, seed):
    lines = scenario(seed)
    write(log_dir / "sftpgo.log", lines)
    ing = _ingester(engine, db_url, log_dir, tmp_path)
    _run(ing)
    want = expected(lines)
    assert sum(len(v) for r in want.values() for v in r.values()) > 20   # the scenario fires
    assert want["bf"][("198.51.100.77",)] == [START + 3_600_000 + 600_001,
                                              START + 3_600_000 + 1_200_001]
    assert all(want[r] for r in FIELDS), {r: len(want[r]) for r in FIELDS}
    assert actual(engine) == want
    _run(ing)                                     # nothing new: nothing added
    assert actual(engine) == want
    ing.close()


def test_in_order_over_many_passes_matches_the_rule_as_written(engine, db_url, log_dir,
                                                              tmp_path):
    """Lines appended a chunk at a time, a pass (and its judging) after each: the windows
    that span passes come from the database; the result is the rule as written."""
    lines = scenario(3)
    ing = _ingester(engine, db_url, log_dir, tmp_path)
    for i in range(0, len(lines), 37):
        write(log_dir / "sftpgo.log", lines[i:i + 37], mode="ab")
        ing.run_pass()
    ing.alerts.finish(0)
    assert actual(engine) == expected(lines)
    ing.close()


def test_an_older_archive_copied_in_later_adds_alerts_in_the_past_and_changes_none(
        engine, db_url, log_dir, tmp_path):
    lines = scenario(5)
    rnd = random.Random(5)
    late = [x for x in lines if rnd.random() < 0.35]
    first = [x for x in lines if x not in late]
    write(log_dir / "sftpgo.log", first)
    ing = _ingester(engine, db_url, log_dir, tmp_path)
    _run(ing)
    before = {r["id"]: r for r in stored(engine)}
    assert actual(engine) == expected(first)
    # the archive: older lines, a file of their own that turns up now
    write(log_dir / "sftpgo-2024-03-01T00-00-00.000.log", late)
    _run(ing)
    after = {r["id"]: r for r in stored(engine)}
    assert {i: after[i] for i in before} == before          # none changed, none gone
    want = expected(first + late, stored_before=actual_from(before))
    assert actual(engine) == want
    assert len(after) > len(before)                          # and some were added
    ing.close()


def actual_from(rows: dict) -> dict:
    out: dict = {}
    for r in rows.values():
        out.setdefault(r["rule"], {}).setdefault(
            tuple(r["key"][f] for f in FIELDS[r["rule"]]), []).append(r["at"])
    return {rule: {k: sorted(v) for k, v in keys.items()} for rule, keys in out.items()}


def test_a_line_read_twice_counts_once_and_a_rerun_stores_nothing_new(engine, db_url, log_dir,
                                                                      tmp_path):
    """The same folder judged by a second ingester (a restart): the cursors hold; and with the
    cursors gone (as if a step had been lost), judging again finds the same ids."""
    lines = scenario(6)
    write(log_dir / "sftpgo.log", lines)
    _run(_ingester(engine, db_url, log_dir, tmp_path))
    first = sorted(r["id"] for r in stored(engine))
    _run(_ingester(engine, db_url, log_dir, tmp_path))
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM alert_cursor"))
    _run(_ingester(engine, db_url, log_dir, tmp_path))
    assert sorted(r["id"] for r in stored(engine)) == first
    db.dispose_engines(db_url)
