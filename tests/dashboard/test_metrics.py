"""GET /metrics on both backends: the counters equal the plain reading of the lines and the
all-time /api/stats per node, user and direction; user series stay within METRICS_MAX_USERS
with "__other__" carrying the rest; a user keeps its series; two processes giving slots at
once; hostile usernames; auth; an outage is a 503."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

import app as dashboard_app
import db
from dashboard import metrics
from settings import ConfigError, Settings, from_env
from tests.support.metrics import (HOSTILE, OTHER, activity_lines, by, expected, folded, ingest,
                                   parse, write_log)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KNOWN_PROTOCOLS = {"SSH", "FTP", "DAV", "HTTP"}           # of those the lines use
KNOWN_METHODS = {"password", "publickey", "keyboard-interactive", "no_auth_tried"}


def _client(db_url, tmp_path, **kw):
    cfg = Settings(log_dir=str(tmp_path / "none"), db_url=db_url, node="n1", **kw)
    return dashboard_app.create_app(cfg).server.test_client()


def _scrape(client) -> dict:
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.data[:300]
    assert answer.content_type == "text/plain; version=0.0.4; charset=utf-8"
    return parse(answer.data.decode("utf-8"))


def _given(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {u: s for s, u in conn.execute(sa.text("SELECT slot, username FROM metrics_users"))}


def _two_nodes(engine, tmp_path, users_n1, users_n2):
    lines = {"n1": activity_lines(users_n1, seed=1), "n2": activity_lines(users_n2, seed=2)}
    for node, node_lines in lines.items():
        write_log(tmp_path / node, node_lines)
        ingest(engine, tmp_path / node, node)
    return lines


def test_counters_equal_the_lines_and_the_all_time_api_stats(db_url, tmp_path):
    engine = db.make_engine(db_url)
    db.migrate(engine)
    users_n1 = [f"user{i:02d}" for i in range(12)] + list(HOSTILE) + [OTHER, ""]
    users_n2 = [f"user{i:02d}" for i in range(6, 20)]
    lines = _two_nodes(engine, tmp_path, users_n1, users_n2)
    want = expected(lines)
    client = _client(db_url, tmp_path)
    got = _scrape(client)
    given = set(_given(engine))
    everyone = {u for u in users_n1 + users_n2 if u} - {OTHER}
    assert given == everyone                  # room for all; '' and a user named __other__ never
    for name, key in (("sftpgo_dash_transfers_total", "transfers"),
                      ("sftpgo_dash_transfer_bytes_total", "bytes"),
                      ("sftpgo_dash_transfer_failures_total", "failures")):
        have = {k: v for k, v in by(got[name], "node", "user", "direction").items() if v}
        assert have == folded(want[key], given), name
    assert {k: v for k, v in by(got["sftpgo_dash_file_operations_total"], "node", "user").items()
            if v} == folded(want["file_ops"], given)
    assert {k: v for k, v in by(got["sftpgo_dash_logins_total"], "node", "user").items() if v} \
        == folded(want["logins"], given)
    failures = {}
    for (node, protocol, method), n in want["login_failures"].items():
        key = (node, protocol if protocol in KNOWN_PROTOCOLS else "other",
               method if method in KNOWN_METHODS else "other")
        failures[key] = failures.get(key, 0) + n
    assert by(got["sftpgo_dash_login_failures_total"], "node", "protocol", "method") == failures
    assert ("n1", "other", "other") in failures
    assert by(got["sftpgo_dash_bans_total"], "node") == want["bans"]
    assert by(got["sftpgo_dash_users_seen"], "node") == want["users_seen"]
    newest = by(got["sftpgo_dash_newest_event_timestamp_seconds"], "node")
    assert newest == {n: metrics._epoch(ts.replace("T", " ")) for n, ts in want["newest"].items()}
    passes = by(got["sftpgo_dash_ingest_last_pass_timestamp_seconds"], "node")
    assert set(passes) == {"n1", "n2"} and all(abs(v - time.time()) < 600 for v in passes.values())
    assert by(got["sftpgo_dash_ingest_bytes_pending"], "node") == {"n1": 0, "n2": 0}
    assert by(got["sftpgo_dash_ingest_bytes_lost_total"], "node") == {"n1": 0, "n2": 0}
    assert "sftpgo_dash_alerts_firing" not in got               # a family without samples (#24)

    # the all-time /api/stats of each node gives the same figures per user
    for node in ("n1", "n2"):
        body = client.get(f"/api/stats?start=2024-09-01&end=2024-09-30&node={node}"
                          "&users_limit=100000").get_json()
        for u in body["users"]:
            user = u["username"] if u["username"] in given else OTHER
            if user == OTHER:
                continue
            series = {"node": node, "user": user}
            for direction, count, volume in (("upload", "uploads", "bytes_uploaded"),
                                             ("download", "downloads", "bytes_downloaded")):
                key = tuple(sorted({**series, "direction": direction}.items()))
                assert got["sftpgo_dash_transfers_total"][key] == u[count]
                assert got["sftpgo_dash_transfer_bytes_total"][key] == u[volume]
            failed = sum(v for k, v in got["sftpgo_dash_transfer_failures_total"].items()
                         if dict(k)["node"] == node and dict(k)["user"] == user)
            assert failed == u["failed_transfers"]
            key = tuple(sorted(series.items()))
            assert got["sftpgo_dash_file_operations_total"][key] == u["file_ops"]
            assert got["sftpgo_dash_logins_total"][key] == u["logins"]
        totals = body["totals"]
        assert sum(v for k, v in got["sftpgo_dash_transfers_total"].items()
                   if dict(k)["node"] == node) == totals["transfers"]
        assert sum(v for k, v in got["sftpgo_dash_transfer_bytes_total"].items()
                   if dict(k)["node"] == node) == totals["bytes_uploaded"] + totals["bytes_downloaded"]
        assert sum(v for k, v in got["sftpgo_dash_login_failures_total"].items()
                   if dict(k)["node"] == node) == totals["login_failures"]
        assert got["sftpgo_dash_bans_total"][(("node", node),)] == totals["bans"]
        assert got["sftpgo_dash_users_seen"][(("node", node),)] == totals["users"]
    engine.dispose()


def test_5000_users_stay_within_the_bound_and_keep_their_series(db_url, tmp_path):
    """The 1,000 busiest get series (the default bound), the other 4,000 are summed under
    __other__ exactly; later, with the bound full, a newcomer busier than all of them stays
    in __other__, and no counter goes down."""
    engine = db.make_engine(db_url)
    db.migrate(engine)
    users = [f"u{i:04d}" for i in range(5000)]        # u0000 moves the most bytes
    lines = activity_lines(users, seed=3, per_user=3)
    write_log(tmp_path / "n1", lines)
    ingest(engine, tmp_path / "n1", "n1")
    client = _client(db_url, tmp_path)
    assert Settings().metrics_max_users == 1000
    got = _scrape(client)
    assert client.get("/metrics").data == metrics.library_exposition(metrics.read(engine, 1000))
    want = expected({"n1": lines})
    series_users = set(by(got["sftpgo_dash_transfers_total"], "user"))
    assert len(series_users) == 1001 and OTHER in series_users
    volume = {}
    for (_node, user, _d), n in want["bytes"].items():
        volume[user] = volume.get(user, 0) + n
    busiest = sorted(volume, key=lambda u: (-volume[u], u))[:1000]
    assert series_users - {OTHER} == set(busiest) == set(_given(engine))
    for name, key in (("sftpgo_dash_transfers_total", "transfers"),
                      ("sftpgo_dash_transfer_bytes_total", "bytes")):
        have = by(got[name], "node", "user", "direction")
        assert {k: v for k, v in have.items() if v} == folded(want[key], set(busiest))
        assert sum(have.values()) == sum(want[key].values())
    assert len(got["sftpgo_dash_transfers_total"]) == 2 * 1001     # node x user x direction

    # more activity: a newcomer busier than everyone, an __other__ user and a given one
    more = [line.replace(b'"u4999"', b'"newcomer"').replace(b'"size_bytes":', b'"size_bytes":9')
            for line in activity_lines(["u4999"], seed=4, per_user=6)]
    more += activity_lines(["u4998", "u0001"], seed=5, per_user=6)
    write_log(tmp_path / "n1", more, append=True)
    ingest(engine, tmp_path / "n1", "n1")
    again = _scrape(client)
    assert set(by(again["sftpgo_dash_transfers_total"], "user")) == series_users
    assert set(_given(engine)) == set(busiest)
    for name in ("sftpgo_dash_transfers_total", "sftpgo_dash_transfer_bytes_total",
                 "sftpgo_dash_logins_total", "sftpgo_dash_file_operations_total"):
        for key, value in got[name].items():
            assert again[name][key] >= value, (name, key)
    want = expected({"n1": lines + more})
    assert by(again["sftpgo_dash_transfer_bytes_total"], "user")[OTHER] == sum(
        n for (_node, user, _d), n in want["bytes"].items() if user not in set(busiest))
    assert "newcomer" not in series_users
    engine.dispose()


def test_the_bound_can_be_zero_and_a_lower_bound_folds_the_later_slots(db_url, tmp_path):
    engine = db.make_engine(db_url)
    db.migrate(engine)
    users = [f"u{i}" for i in range(8)]
    write_log(tmp_path / "n1", activity_lines(users))
    ingest(engine, tmp_path / "n1", "n1")
    none = _scrape(_client(db_url, tmp_path, metrics_max_users=0))
    assert set(by(none["sftpgo_dash_transfers_total"], "user")) == {OTHER}
    assert _given(engine) == {}
    five = _scrape(_client(db_url, tmp_path, metrics_max_users=5))
    assert len(set(by(five["sftpgo_dash_transfers_total"], "user"))) == 6
    three = _scrape(_client(db_url, tmp_path, metrics_max_users=3))
    kept = {u for u, slot in _given(engine).items() if slot <= 3}
    assert set(by(three["sftpgo_dash_transfers_total"], "user")) == kept | {OTHER}
    assert sum(three["sftpgo_dash_transfer_bytes_total"].values()) \
        == sum(five["sftpgo_dash_transfer_bytes_total"].values())
    engine.dispose()


def test_the_setting_is_read_and_bounded():
    assert from_env({"METRICS_MAX_USERS": "25"}).metrics_max_users == 25
    for bad in ("-1", "100001"):
        with pytest.raises(ConfigError, match="METRICS_MAX_USERS"):
            from_env({"METRICS_MAX_USERS": bad})


_GIVER = """
import json, sys, time
sys.path.insert(0, {root!r})
import db
from dashboard import metrics
engine = db.make_engine({url!r})
users = [tuple(t) for t in json.loads({users!r})]
while time.time() < {start!r}:
    time.sleep(0.001)
print(json.dumps(sorted(metrics.give_slots(engine, users, {bound!r}))))
"""


def test_processes_giving_slots_at_once_never_pass_the_bound(db_url):
    """Four processes give slots at the same instant, each from a different view of the
    users (as workers scraping while ingestion goes on): the table ends with exactly the
    bound's slots, one per user, and every process answers the users the table holds."""
    engine = db.make_engine(db_url)
    db.migrate(engine)
    bound = 40
    start = time.time() + 3
    procs = []
    for p in range(4):
        users = [("n1", f"user{(i * 7 + p * 13) % 90:03d}", None, 1, 1000 + i, 0, None, None,
                  None, None, None) for i in range(60)]           # metrics.USER_ROW rows
        code = _GIVER.format(root=ROOT, url=db_url, users=json.dumps(users), start=start,
                             bound=bound)
        procs.append(subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    answers = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        answers.append(set(json.loads(out)))
    given = _given(engine)
    assert sorted(given.values()) == list(range(1, bound + 1))
    assert all(answer == set(given) for answer in answers)
    engine.dispose()


def test_hostile_usernames_are_valid_labels(db_url, tmp_path):
    engine = db.make_engine(db_url)
    db.migrate(engine)
    lines = activity_lines(list(HOSTILE), per_user=3)
    write_log(tmp_path / "n1", lines)
    ingest(engine, tmp_path / "n1", "n1")
    client = _client(db_url, tmp_path)
    body = client.get("/metrics").data
    got = parse(body.decode("utf-8"))
    assert set(by(got["sftpgo_dash_transfers_total"], "user")) == set(HOSTILE)
    # our writer's bytes are prometheus_client's generate_latest()'s, escapes included
    assert body == metrics.library_exposition(metrics.read(engine, 1000))
    assert b'user="quote\\"d"' in body and b'user="new\\nline"' in body
    check = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                           timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    engine.dispose()


def test_an_unreachable_database_is_a_503_without_a_trace(closed_port, tmp_path):
    url = f"mysql+pymysql://u:p@127.0.0.1:{closed_port}/nothing"
    client = _client(url, tmp_path)
    answer = client.get("/metrics")
    assert answer.status_code == 503
    assert answer.get_json()["error"].startswith("database unreachable")
    assert b"Traceback" not in answer.data


def test_metrics_are_behind_the_basic_auth(tmp_path):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    client = _client(url, tmp_path, auth_user="admin", auth_password="s3cret")
    assert client.get("/metrics").status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Basic YWRtaW46czNjcmV0"})
    assert ok.status_code == 200 and b"# TYPE sftpgo_dash_transfers_total counter" in ok.data


def test_the_answer_is_gzipped_for_a_client_that_takes_gzip(tmp_path):
    import gzip
    url = f"sqlite:///{tmp_path / 'd.db'}"
    client = _client(url, tmp_path)
    plain = client.get("/metrics")
    packed = client.get("/metrics", headers={"Accept-Encoding": "gzip, deflate"})
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(packed.data) == plain.data
