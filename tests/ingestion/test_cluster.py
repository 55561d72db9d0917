"""Three SFTPGo nodes, one MariaDB: a realistic cluster under kills (issue #12).

Three lumberjack-style writers (tests/support/soak_writer.py: rotation every 256 KB, gzip
by a background mill) each write their own node's folder, the same user names on every node.
Three `ingest.py --follow --node nX` processes ingest them into one MariaDB at once and are
SIGKILLed and restarted at random, while a dashboard under gunicorn (three workers, node n1,
whose ticks contend with n1's tailer for n1's lock) answers /api/stats throughout: every
answer 200 and consistent in itself, the all-node totals never going back. Then n3's folder
is "unmounted" (an empty mount point, then no folder at all) and mounted again: nothing is
ever reported lost. Afterwards every node's events equal what its writer wrote, and /api/stats
per node and for all nodes equals tests/reference.py over those lines.

Run alone:  ./test.sh -k cluster     (CLUSTER_SECONDS, default 15, the writers' run time)
"""
from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date

import orjson
import pytest
import sqlalchemy as sa

import db
from ingestion import rollups
from tests.support.dashboard import by_name, expected_stats, reference_events, wait_until_serving
from tests.support.ingest import ROOT, expected_events, node_events, run_cli, scalar
from tests.support.mariadb import _free_port

SECONDS = float(os.environ.get("CLUSTER_SECONDS", "15"))
RATE = 500                     # lines a second per node: three writers on two shared cores
NODES = ("n1", "n2", "n3")
DAY = "2024-09-18"


def _follower(db_url: str, log_dir, node: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "ingest.py", "--node", node, "--log-dir",
                             str(log_dir), "--db", db_url, "--follow", "--quiet"], cwd=ROOT)


def _get_json(port: int, path: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        conn.close()


class Reader(threading.Thread):
    """Reads /api/stats (all nodes, and one) until stopped; keeps what was wrong."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port, self.stop, self.problems, self.answers = port, threading.Event(), [], 0

    def run(self) -> None:
        last_total = 0
        while not self.stop.is_set():
            for query in ("", "&node=n2", "&node=n1&node=n3"):
                if self.stop.is_set():
                    break
                try:
                    status, body = _get_json(self.port, f"/api/stats?start={DAY}&end={DAY}{query}")
                except Exception as exc:            # a refused or dropped connection is wrong
                    self.problems.append(f"{query}: {exc!r}")
                    continue
                self.answers += 1
                if status != 200:
                    self.problems.append(f"{query}: {status} {body}")
                    continue
                t, days = body["totals"], body["days"]
                if days[0]["upload"] != t["uploads"] or days[0]["download"] != t["downloads"] \
                        or len(body["users"]) != t["users"]:
                    self.problems.append(f"{query}: inconsistent {t}")
                if query == "":
                    total = t["transfers"]
                    if total < last_total:
                        self.problems.append(f"all-node transfers went back {last_total}->{total}")
                    last_total = total
            time.sleep(0.1)


@pytest.mark.slow
def test_three_nodes_one_mariadb_with_kills_and_a_dashboard(mariadb_url, tmp_path):
    engine = db.make_engine(mariadb_url)
    db.migrate(engine)
    rng = random.Random(12)
    dirs = {n: tmp_path / n for n in NODES}
    records = {n: tmp_path / f"{n}.json" for n in NODES}
    for d in dirs.values():
        d.mkdir()
    writers = {n: subprocess.Popen([sys.executable, "-m", "tests.support.soak_writer",
                                    str(dirs[n]), str(SECONDS), str(RATE), str(i + 1),
                                    str(records[n])], cwd=ROOT)
               for i, n in enumerate(NODES)}
    followers = {n: _follower(mariadb_url, dirs[n], n) for n in NODES}
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": mariadb_url, "SFTPGO_NODE": "n1",
           "SFTPGO_LOG_DIR": str(dirs["n1"]), "DASHBOARD_INTERVAL": "1"}
    web = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py",
                            "-w", "3", "-b", f"127.0.0.1:{port}", "app:wsgi()"], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    reader = Reader(port)
    kills, lost_seen = 0, 0
    try:
        wait_until_serving(web, port)
        reader.start()
        next_kill = time.monotonic() + rng.uniform(0.5, 2.0)
        while any(w.poll() is None for w in writers.values()):
            time.sleep(0.1)
            lost_seen = max(lost_seen, _lost(engine))
            if time.monotonic() >= next_kill:
                node = rng.choice(NODES)
                followers[node].send_signal(signal.SIGKILL)
                assert followers[node].wait() == -signal.SIGKILL
                kills += 1
                followers[node] = _follower(mariadb_url, dirs[node], node)
                next_kill = time.monotonic() + rng.uniform(0.3, 2.0)
        assert all(w.returncode == 0 for w in writers.values())

        # n3's share goes away (an empty mount point, then not even that) and comes back
        hidden = tmp_path / "n3-hidden"
        shutil.move(str(dirs["n3"]), hidden)
        dirs["n3"].mkdir()
        lost_seen = max(lost_seen, _watch_lost(engine, 3.0))
        dirs["n3"].rmdir()
        lost_seen = max(lost_seen, _watch_lost(engine, 2.0))
        shutil.move(str(hidden), dirs["n3"])
        lost_seen = max(lost_seen, _lost(engine))
        _wait_caught_up(engine, dirs, 60)
        status, body = _get_json(port, "/api/status")
        assert status == 200 and [n["node"] for n in body["nodes"]] == list(NODES)
        assert body["stale_nodes"] == [] and body["bytes_lost"] == 0, body
    finally:
        # the reader ends before the server does: a query sent while gunicorn closes its
        # listener is reset by the kernel, which says nothing of the dashboard
        reader.stop.set()
        reader.join(timeout=30)
        for f in followers.values():
            f.send_signal(signal.SIGKILL)
            f.wait()
        web.send_signal(signal.SIGTERM)
        web.wait(timeout=60)
        for w in writers.values():
            if w.poll() is None:
                w.kill()
                w.wait()
    assert not reader.is_alive()
    assert reader.problems == [] and reader.answers > 20, (reader.problems[:5], reader.answers)
    assert kills >= 3 and lost_seen == 0, (kills, lost_seen)

    written = {}
    for n in NODES:
        done = run_cli("--node", n, "--log-dir", str(dirs[n]), "--db", mariadb_url, "--quiet")
        assert done.returncode == 0, done.stderr
        rec = orjson.loads(records[n].read_bytes())
        assert rec["rotations"] >= 5 and not rec["deleted"], (n, rec["rotations"])
        written[n] = [x.encode() for x in rec["lines"]]
        assert node_events(engine, n) == expected_events(written[n]), n
        committed = scalar(engine, "SELECT SUM(c.committed_offset) FROM checkpoints c JOIN"
                                   " log_files f ON f.id = c.file_id WHERE f.node = :n", n=n)
        assert committed == sum(map(len, written[n])), n
    assert _lost(engine) == 0
    assert rollups.check(engine) == []

    # the API per node and for all: the reference over those nodes' lines
    from app import create_app
    from settings import Settings
    client = create_app(Settings(db_url=mariadb_url, log_dir=str(dirs["n1"]), node="n1")) \
        .server.test_client()
    events = {n: reference_events(b"".join(written[n])) for n in NODES}
    for query, nodes in (("", NODES), ("&node=n1", ("n1",)), ("&node=n2&node=n3", ("n2", "n3"))):
        got = client.get(f"/api/stats?start={DAY}&end={DAY}{query}").get_json()
        want = expected_stats([e for n in nodes for e in events[n]], date.fromisoformat(DAY),
                              date.fromisoformat(DAY))
        assert got["totals"] == want["totals"] and got["days"] == want["days"], query
        assert by_name(got["users"]) == by_name(want["users"]), query
    db.dispose_engines(mariadb_url)


def _lost(engine) -> int:
    try:
        return int(scalar(engine, "SELECT COALESCE(SUM(bytes_lost), 0) FROM log_files") or 0)
    except sa.exc.DBAPIError:
        return 0


def _watch_lost(engine, seconds: float) -> int:
    """Returns the most bytes reported lost while watching for ``seconds``."""
    worst, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        worst = max(worst, _lost(engine))
        time.sleep(0.1)
    return worst


def _wait_caught_up(engine, dirs, seconds: float) -> None:
    """Waits until the tailers have read every byte now in the folders."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pending = scalar(engine, "SELECT COALESCE(SUM(f.size_seen - c.committed_offset), 0)"
                                 " FROM log_files f JOIN checkpoints c ON c.file_id = f.id"
                                 " WHERE f.state = 'active'")
        if pending == 0:
            return
        time.sleep(0.2)
    raise AssertionError("the tailers did not catch up")
