"""The node= filter of every API, on both backends: two nodes' logs in one database (the
second node's on two days, sharing user names, IPs and even whole lines with the first), each
answer for node=a, node=b, both and none against tests/reference.py over those nodes' lines.

A user (or an IP, a name tried) active on two nodes is one: distinct counts are over the
union of the nodes asked for, never a sum of per-node answers.
"""
from __future__ import annotations

from datetime import date
from urllib.parse import quote

import pytest

from ingestion.run import Ingester
from settings import Settings
from tests import reference

from tests.support.dashboard import attack_lines, by_name, client_for, events_page, expected_stats

START, END = "2024-09-17", "2024-09-19"


def _ingest(engine, log_dir, node: str) -> None:
    Ingester(engine, Settings(log_dir=str(log_dir), node=node)).run_until_done()


def _events(data: bytes, file_no: int) -> list[dict]:
    out, pos = [], 0
    for line in reference.physical_lines(data):
        e = reference.event_of(line)
        if e:
            out.append({**e, "pos": (file_no, pos)})
        pos += len(line) + 1
    return out


@pytest.fixture
def two_nodes(engine, tmp_path) -> dict:
    """node-a: a day of attacks and transfers; node-b: the same day (its own hours) and the
    next. Returns {node: reference events}, the file of node-a ingested first."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    data_a = attack_lines("2024-09-18", 3)
    data_b = attack_lines("2024-09-18", 10) + attack_lines("2024-09-19", 3)
    (a / "sftpgo.log").write_bytes(data_a)
    (b / "sftpgo.log").write_bytes(data_b)
    _ingest(engine, a, "node-a")
    _ingest(engine, b, "node-b")
    return {"node-a": _events(data_a, 0), "node-b": _events(data_b, 1)}


SCOPES = [("", ("node-a", "node-b")), ("&node=node-a", ("node-a",)),
          ("&node=node-b", ("node-b",)), ("&node=node-a&node=node-b", ("node-a", "node-b")),
          ("&node=node-b&node=elsewhere", ("node-b",)), ("&node=elsewhere", ())]


def _of(two_nodes: dict, nodes) -> list[dict]:
    return [e for n in nodes for e in two_nodes[n]]


def test_stats_per_node_and_together(two_nodes, db_url, tmp_path):
    client = client_for(db_url, tmp_path)
    for query, nodes in SCOPES:
        got = client.get(f"/api/stats?start={START}&end={END}{query}").get_json()
        want = expected_stats(_of(two_nodes, nodes), date.fromisoformat(START),
                              date.fromisoformat(END))
        assert got["totals"] == want["totals"], query
        assert got["days"] == want["days"], query
        assert by_name(got["users"]) == by_name(want["users"]), query
    both = client.get(f"/api/stats?start={START}&end={END}").get_json()["totals"]
    each = [client.get(f"/api/stats?start={START}&end={END}&node={n}").get_json()["totals"]
            for n in ("node-a", "node-b")]
    assert both["uploads"] == each[0]["uploads"] + each[1]["uploads"]
    assert both["users"] < each[0]["users"] + each[1]["users"]     # the same people on both


def test_security_per_node_and_together(two_nodes, db_url, tmp_path):
    client = client_for(db_url, tmp_path)
    for query, nodes in SCOPES:
        for limit in (100, 2):
            got = client.get(f"/api/security?start={START}&end={END}&limit={limit}{query}")
            assert got.status_code == 200, got.get_json()
            assert got.get_json() == reference.security_with_countries(_of(two_nodes, nodes), START, END,
                                                        limit), (query, limit)


def test_users_and_events_per_node_and_together(two_nodes, db_url, tmp_path):
    client = client_for(db_url, tmp_path)
    for query, nodes in SCOPES:
        events = _of(two_nodes, nodes)
        for name in ("admin", "Admin", "root", "a/b"):
            got = client.get(f"/api/users/{quote(name, safe='')}?start={START}&end={END}{query}")
            want = reference.user(events, name, START, END)
            if want is None:
                assert got.status_code == 404, (name, query)
            else:
                assert got.status_code == 200 and got.get_json() == want, (name, query)
        pages, before = [], ""
        while True:
            page = client.get(f"/api/events?start={START}&end={END}&limit=37{query}{before}")
            assert page.status_code == 200, page.get_json()
            body = page.get_json()
            pages += body["events"]
            if body["next"] is None:
                break
            before = f"&before={body['next']}"
        assert pages == reference.audit(events, START, END), query
        csv_rows = client.get(f"/api/events.csv?start={START}&end={END}{query}") \
            .get_data(as_text=True).count("\r\n") - 1
        assert csv_rows == len(pages), query


def test_bounded_path_pages_per_node(two_nodes, engine):
    """A path search's bounded pages (a few rows examined each) keep to the nodes asked for."""
    for query, nodes in SCOPES:
        got, before, n = [], "", 0
        while True:
            body = events_page(engine, f"/api/events?start={START}&end={END}&limit=3&path=_{query}"
                                       f"{before}", scan=5)
            got += body["events"]
            n += 1
            if body["next"] is None:
                break
            before = f"&before={body['next']}"
        assert got == reference.audit(_of(two_nodes, nodes), START, END, path="_"), query
        assert n > len(got) // 3 + 1 or not got, query            # short pages were walked


def test_a_bad_node_is_a_400(two_nodes, db_url, tmp_path):
    client = client_for(db_url, tmp_path)
    for path in ("/api/stats", "/api/status", "/api/security", "/api/users/admin",
                 "/api/events", "/api/events.csv"):
        for bad in ("", "a b", "../x", "x" * 65):
            answer = client.get(f"{path}?node={quote(bad)}")
            assert answer.status_code == 400, (path, bad)
            assert "node" in answer.get_json()["error"]


def test_status_per_node(two_nodes, db_url, tmp_path):
    client = client_for(db_url, tmp_path, node="node-a")
    body = client.get("/api/status").get_json()
    assert [n["node"] for n in body["nodes"]] == ["node-a", "node-b"]
    assert body["stale_nodes"] == [] and all(not n["stale"] for n in body["nodes"])
    assert body["events_read"] == sum(n["events_read"] for n in body["nodes"]) == \
        len(two_nodes["node-a"]) + len(two_nodes["node-b"])
    only = client.get("/api/status?node=node-b").get_json()
    assert [n["node"] for n in only["nodes"]] == ["node-b"]
    assert only["events_read"] == len(two_nodes["node-b"])
    assert only["newest_event"] == max(e["ts"] for e in two_nodes["node-b"]).replace("T", " ")


def test_events_per_node_past_the_bound_file_list(two_nodes, engine):
    """A node with more files than can be bound as a list is filtered by a subquery instead:
    the same pages (node-a has one file, so a bound of 0 takes that path)."""
    for query, nodes in SCOPES:
        pages, before = [], ""
        while True:
            body = events_page(engine, f"/api/events?start={START}&end={END}&limit=37{query}"
                                       f"{before}", max_bound_files=0)
            pages += body["events"]
            if body["next"] is None:
                break
            before = f"&before={body['next']}"
        assert pages == reference.audit(_of(two_nodes, nodes), START, END), query
