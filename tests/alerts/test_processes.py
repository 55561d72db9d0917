"""Whole processes: ingest.py SIGKILLed (a real kill -9) while judging and while delivering,
then run again: every alert once, with the same id, delivered at least once; and several
`ingest.py --node` processes judging at once into one MariaDB."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

import db

from . import reference as ref
from tests.support.receivers import HttpReceiver
from tests.support.alerts import (BRUTE_FORCE_AND_BAN, EPOCH, RULES, actual, ban_line, expected, failed_line, ms,
                                  rules_file, scenario, stored,
                                  write)

ROOT = Path(__file__).resolve().parents[2]


def _ingest(url: str, log_dir, rules: str, crash_at: str | None = None,
            node: str | None = None, follow: bool = False, **env) -> subprocess.Popen:
    environ = {**os.environ, "ALERT_RULES": rules, **env}
    launcher = ["-m", "tests.support.crash", crash_at, "0"] if crash_at else ["ingest.py"]
    cmd = [sys.executable, *launcher, "--log-dir", str(log_dir), "--db", url, "--quiet"]
    if node:
        cmd += ["--node", node]
    if follow:
        cmd.append("--follow")
    return subprocess.Popen(cmd, cwd=ROOT, env=environ, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def done(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    """Waits for ``proc``; returns its exit code and what it wrote to stderr."""
    _out, err = proc.communicate(timeout=timeout)
    return proc.returncode, err.decode(errors="replace")


def test_kill_9_while_judging_then_a_rerun_stores_each_alert_once(db_url, log_dir, tmp_path):
    lines = scenario(7)
    write(log_dir / "sftpgo.log", lines)
    rules = rules_file(tmp_path / "rules.toml", RULES)
    proc = _ingest(db_url, log_dir, rules, crash_at="alerts_judged")
    assert done(proc)[0] == -signal.SIGKILL
    engine = db.make_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM events")).scalar() > 0
        assert conn.execute(sa.text("SELECT COUNT(*) FROM alerts")).scalar() == 0  # rolled back
    proc = _ingest(db_url, log_dir, rules)
    assert done(proc) == (0, "")
    assert actual(engine) == expected(lines)


def test_kill_9_between_sending_and_recording_sends_again_with_the_same_id(db_url, log_dir,
                                                                           tmp_path):
    http = HttpReceiver().start()
    try:
        base = (datetime.now() - EPOCH) // timedelta(milliseconds=1)
        lines = [failed_line(base - 60_000 + 1000 * i, "203.0.113.9") for i in range(20)]
        lines += [ban_line(base - 5000 + i, f"203.0.113.{20 + i}") for i in range(4)]
        write(log_dir / "sftpgo.log", lines)
        rules = rules_file(tmp_path / "rules.toml", f"""
{BRUTE_FORCE_AND_BAN}
[[notify]]
webhook = "{http.url}/hook"
""")
        proc = _ingest(db_url, log_dir, rules, crash_at="alert_sent")
        assert done(proc)[0] == -signal.SIGKILL
        assert len(http.got) == 1                  # sent, and killed before it was recorded
        first = http.bodies()[0]["id"]
        # the lease of the killed sender runs out (120 s): let it have run out already
        engine = db.make_engine(db_url)
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT status FROM alert_outbox WHERE item_id = :i"),
                                {"i": first}).scalar() == "pending"
            conn.execute(sa.text("UPDATE alert_outbox SET lease_epoch = lease_epoch - 121"
                                 " WHERE lease_epoch IS NOT NULL"))
        proc = _ingest(db_url, log_dir, rules)
        assert done(proc) == (0, "")
        ids = [b["id"] for b in http.bodies()]
        alerts = {r["id"] for r in stored(engine)}
        assert len(alerts) == 5 and set(ids) == alerts          # every alert, at least once
        assert ids.count(first) == 2 and len(ids) == 6          # the one in flight twice
        with engine.connect() as conn:
            assert set(conn.execute(sa.text("SELECT status FROM alert_outbox")).scalars()) == \
                {"sent"}
        # a clean run after that sends nothing more
        proc = _ingest(db_url, log_dir, rules)
        assert done(proc) == (0, "") and len(http.got) == 6
    finally:
        http.stop()


def test_several_nodes_judging_at_once_into_one_mariadb(mariadb_url, tmp_path):
    """Three `ingest.py --node` processes following their own folders while lines arrive, an
    attack spread over the three: each alert stored once; where a key's events are all on one
    node (arriving in order) the result is the rule as written; over the nodes, the alerts are
    real crossings, `within` apart, and every crossing is within `within` of one."""
    rnd = random.Random(11)
    rules = rules_file(tmp_path / "rules.toml", RULES)
    nodes = ["n1", "n2", "n3"]
    folders = {n: tmp_path / n for n in nodes}
    for f in folders.values():
        f.mkdir()
    per_node = {n: own(scenario(20 + i), i) for i, n in enumerate(nodes)}
    shared = "198.51.100.200"                      # this attacker hits all three nodes
    t0 = ms("2024-03-01T12:00:00.000")
    spread = [(rnd.choice(nodes), failed_line(t0 + rnd.randrange(1_800_000), shared, "root"))
              for _ in range(150)]
    for node, line in spread:
        per_node[node].append(line)
    for n in nodes:
        per_node[n].sort(key=lambda x: x["time"])
    procs = [_ingest(mariadb_url, folders[n], rules, node=n, follow=True) for n in nodes]
    try:
        chunks = {n: [per_node[n][i:i + 40] for i in range(0, len(per_node[n]), 40)]
                  for n in nodes}
        while any(chunks.values()):
            for n in nodes:
                if chunks[n]:
                    write(folders[n] / "sftpgo.log", chunks[n].pop(0), mode="ab")
            time.sleep(rnd.uniform(0.0, 0.15))
        engine = db.make_engine(mariadb_url)
        total = sum(len(v) for v in per_node.values())
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with engine.connect() as conn:
                    events = conn.execute(sa.text("SELECT COUNT(*) FROM events")).scalar()
                    behind = conn.execute(sa.text(
                        "SELECT COUNT(*) FROM checkpoints c LEFT JOIN alert_cursor a"
                        " ON a.file_id = c.file_id WHERE c.committed_offset >"
                        " COALESCE(a.evaluated, 0)")).scalar()
            except sa.exc.ProgrammingError:       # no process has made the schema yet
                events = behind = None
                time.sleep(0.2)
                continue
            if events == total and behind == 0:
                break
            time.sleep(0.2)
        assert (events, behind) == (total, 0)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            assert done(p, 60) == (0, "")
    rows = stored(engine)
    assert len({r["id"] for r in rows}) == len(rows)
    got = actual(engine)
    # keys of one node only: exactly the rule as written
    checked = 0
    for i, n in enumerate(nodes):
        mine = expected(own(scenario(20 + i), i))
        for rule, keys in mine.items():
            for key, times in keys.items():
                assert got[rule].get(key) == times, (rule, key)
                checked += 1
        for rule, keys in got.items():
            for key in keys:
                if any(str(k).endswith(f"-{i}") or f".{120 + i}." in str(k) for k in key):
                    assert key in mine[rule], (rule, key)
    assert checked > 50
    # the spread attacker: valid, separated, covering
    fails = sorted(ms(line["time"]) for _n, line in spread)
    fired = got["bf"][(shared,)]
    assert fired
    for f in fired:
        assert sum(1 for t in fails if f - 600_000 < t <= f) >= 20 and f in fails
    assert all(b - a >= 600_000 for a, b in zip(fired, fired[1:]))
    for t in fails:
        if sum(1 for u in fails if t - 600_000 < u <= t) >= 20:
            assert any(abs(t - f) < 600_000 for f in fired), t
    assert ref.counting([((shared,), t, 1) for t in fails], 20, 600_000)   # it is an attack


def own(lines: list[dict], i: int) -> list[dict]:
    """Returns a node's scenario with IPs and names of its own (no key shared by nodes)."""
    out = []
    for x in lines:
        x = dict(x)
        for f in ("client_ip", "ip"):
            if f in x:
                x[f] = x[f].replace("203.0.113.", f"203.0.{120 + i}.").replace(
                    "192.0.2.", f"192.0.{30 + i}.").replace("198.51.100.", f"198.51.{110 + i}.")
        if "username" in x:
            x["username"] = f"{x['username']}-{i}"
        out.append(x)
    return out
