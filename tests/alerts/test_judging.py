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
from .support import (ban_line, by_key, failed_line, login_line, ms, rules_file, stored,
                      transfer_line, write)

RULES = """
[[rule]]
name = "bf"
when = "login_failures"
over = 20
within = "10m"

[[rule]]
name = "bf-name"
when = "login_failures"
per = "username"
over = 12
within = "5m"

[[rule]]
name = "bf-pair"
when = "login_failures"
per = ["ip", "username"]
over = 6
within = "2m"

[[rule]]
name = "ban"
when = "ban"

[[rule]]
name = "break-in"
when = "login_after_failures"
over = 5
within = "1h"

[[rule]]
name = "tf"
when = "transfer_failures"
over = 3
within = "10m"

[[rule]]
name = "big"
when = "bytes"
over = "5MB"
within = "1h"
kind = "upload"

[[rule]]
name = "newip"
when = "new_ip"
min_days = 7
"""
START = ms("2024-03-01T08:00:00.000")
IPS = [f"203.0.113.{i}" for i in range(1, 7)]
NAMES = ["admin", "root", "test", "Admin", "admin "]
USERS = ["alice", "bob", "carol"]


def scenario(seed: int) -> list[dict]:
    """Returns a few hours of attacks, bans, logins and transfers, plus logins over weeks for
    new_ip; lines in time order."""
    rnd = random.Random(seed)
    lines = []
    for ip in IPS:
        t = START + rnd.randrange(600_000)
        for _burst in range(rnd.randrange(2, 6)):
            for _ in range(rnd.randrange(3, 30)):
                lines.append(failed_line(t, ip, rnd.choice(NAMES)))
                t += rnd.choice((0, 500, 2_000, 10_000, 25_000, 60_000))
            t += rnd.randrange(60_000, 2_400_000)
            if rnd.random() < 0.4:
                lines.append(ban_line(t, ip))
            if rnd.random() < 0.5:
                lines.append(login_line(t + rnd.randrange(1, 3_000_000), ip, rnd.choice(USERS)))
    # the edges: 19 failures, the 20th exactly `within` after the first (outside the window:
    # (t - within, t]), a 21st 1 ms later (fires there); then 20 more exactly `within` after
    # that firing (fires again at F + within, "at or after")
    edge, t0 = "198.51.100.77", START + 3_600_000
    lines += [failed_line(t0 + 1000 * k, edge) for k in range(19)]
    lines += [failed_line(t0 + 600_000, edge), failed_line(t0 + 600_001, edge)]
    lines += [failed_line(t0 + 1_200_001, edge) for _ in range(20)]
    for user in USERS:
        t = START
        for _ in range(40):
            t += rnd.randrange(1_000, 400_000)
            lines.append(transfer_line(t, user, rnd.randrange(10**6), failed=rnd.random() < 0.3))
    for i, user in enumerate(USERS):       # new_ip: weeks of logins from home, then away
        for day in range(0, 30, 3):
            ip = "192.0.2.1" if day < 12 else f"192.0.2.{10 + day + i}"
            lines.append(login_line(START - 40 * 86400_000 + day * 86400_000 + i, ip, user))
    lines.sort(key=lambda x: x["time"])
    return lines


def expected(lines: list[dict], stored_before: dict | None = None) -> dict:
    """Returns {rule: {key tuple: [times]}} by the reference, from the lines themselves."""
    s = stored_before or {}
    fails = [(x.get("client_ip"), x["username"], ms(x["time"])) for x in lines
             if x["sender"] == "connection_failed"]
    bans = [(x["client_ip"], ms(x["time"])) for x in lines if x["sender"] == "defender"]
    logins = [(x["ip"], x["username"], ms(x["time"])) for x in lines if x["sender"] == "login"]
    transfers = [x for x in lines if x["sender"] in ("Upload", "Download")]
    return {
        "bf": ref.counting([((ip,), t, 1) for ip, _u, t in fails], 20, 600_000, s.get("bf")),
        "bf-name": ref.counting([((u,), t, 1) for _ip, u, t in fails], 12, 300_000,
                                s.get("bf-name")),
        "bf-pair": ref.counting([((ip, u), t, 1) for ip, u, t in fails], 6, 120_000,
                                s.get("bf-pair")),
        "ban": ref.each(bans + [(k[0], t) for k, ts_ in s.get("ban", {}).items() for t in ts_]),
        "break-in": ref.after_failures(logins, [(ip, t) for ip, _u, t in fails], 5, 3600_000,
                                       s.get("break-in")),
        "tf": ref.counting([((x["username"],), ms(x["time"]), 1) for x in transfers
                            if "error" in x], 3, 600_000, s.get("tf")),
        "big": ref.counting([((x["username"],), ms(x["time"]), x["size_bytes"])
                             for x in transfers if x["sender"] == "Upload" and x["size_bytes"]],
                            5_000_000, 3600_000, s.get("big")),
        "newip": ref.new_ip([(u, ip, t) for ip, u, t in logins], 7, s.get("newip")),
    }


FIELDS = {"bf": ("ip",), "bf-name": ("username",), "bf-pair": ("ip", "username"),
          "ban": ("ip",), "break-in": ("ip", "username"), "tf": ("user",), "big": ("user",),
          "newip": ("user", "ip")}


def actual(engine) -> dict:
    rows = stored(engine)
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    return {rule: by_key([r for r in rows if r["rule"] == rule], fields)
            for rule, fields in FIELDS.items()}


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
