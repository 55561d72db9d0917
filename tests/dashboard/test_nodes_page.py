"""The node filter of the page as plain data: the URL's node=, RANGE_STORE, the picker, the
links that carry it, and /api/users.csv?node= (the browser tests are test_nodes_browser.py)."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from dash import no_update

from callbacks import audit, date_range, nodes, pages, url, users
from callbacks.graphs import nodes_of, users_csv_href
from components import ids
from components.nodes import stale_text
from dashboard import span
from dashboard.context import AppContext
from settings import Settings
from tests.support.ingest import LogWriter, event_line, run_all

from tests.support.dashboard import client_for

TODAY = {"today": "2024-09-18", "previous": None}


def test_node_in_the_query_string():
    assert url.node_values("?node=a&days=7&node=b&node=a") == ["a", "b"]
    assert url.nodes_of("?node=a&node=b") == ("a", "b")
    assert url.nodes_of("?days=7") is None and url.node_values("") == []
    for bad in ("?node=", "?node=a%20b", "?node=..%2Fx"):
        with pytest.raises(Exception, match="node must be a node name"):
            url.nodes_of(bad)
    assert url.shared_search("?node=a&user=carol&node=b&days=7") == "?node=a&node=b&days=7"
    assert pages.nav_links("/", "?node=a&days=7")[0][1] == "/security?node=a&days=7"


def test_the_range_store_carries_the_node_filter(sqlite_url):
    context = AppContext(Settings(db_url=sqlite_url))
    out = date_range.control_range(context, None, "?days=7&node=a&node=b", (None, None),
                                   TODAY, None)
    assert out["store"]["nodes"] == ["a", "b"] and nodes_of(out["store"]) == ("a", "b")
    moved = date_range.control_range(context, None, "?days=7&node=b", (None, None), TODAY,
                                     out["store"])               # same range, other nodes
    assert moved["store"]["nodes"] == ["b"]
    bad = date_range.control_range(context, None, "?days=7&node=a%20b", (None, None), TODAY,
                                   None)                         # said by the picker's message
    assert bad["store"]["nodes"] is None and nodes_of(bad["store"]) is None
    assert date_range.control_range(context, None, "?days=7", (None, None), TODAY,
                                    None)["store"]["nodes"] is None


def test_the_picker_follows_the_url_and_says_what_cannot_be():
    health = [{"node": "alpha", "stale": False}, {"node": "beta", "stale": True}]
    out = nodes.picker("?node=beta", health)
    assert out["value"] == ["beta"] and out["hidden"] is False and out["message"] is None
    assert [o["value"] for o in out["options"]] == ["alpha", "beta"]
    assert nodes.picker("", health[:1])["hidden"] is True          # one node: no picker
    assert nodes.picker("?node=alpha", health[:1])["hidden"] is False
    bad = nodes.picker("?node=%3Cb%3E", health)
    assert bad["message"].startswith("The address asks for a node that cannot be: node must")
    assert bad["message"].endswith("Showing every node.") and bad["value"] == ["<b>"]
    assert nodes.picker("?node=gamma", health)["message"] == \
        "No node called gamma has ingested anything here: its figures are empty."
    assert nodes.picker("?node=gamma", None)["message"] is None    # before the first tick
    assert stale_text(health) == ("No ingestion for 3 refresh intervals on node beta. Its "
                                  "figures stop at its last pass: check its ingest.py --follow.")
    assert stale_text([{**h, "stale": True} for h in health]).startswith(
        "No ingestion for 3 refresh intervals on nodes alpha, beta. Their figures")


def test_the_links_carry_the_node_filter():
    assert users_csv_href(span.whole(date(2024, 9, 1), date(2024, 9, 2)), ("a", "b")) == \
        "/api/users.csv?start=2024-09-01&end=2024-09-02&node=a&node=b"
    assert users_csv_href(span.whole(date(2024, 9, 1), date(2024, 9, 2))) == \
        "/api/users.csv?start=2024-09-01&end=2024-09-02"
    window = span.resolve({"hours": "24"}, date(2024, 9, 18), date(2022, 1, 1),
                          datetime(2024, 9, 18, 14, 5))
    assert users_csv_href(window) == \
        "/api/users.csv?start=2024-09-17T15%3A00&end=2024-09-18T14%3A59"  # the same window
    assert ("node", "a") in audit.query_args("2024-09-01", "2024-09-02", "", [], "", "", "",
                                             "", ("a",))


def test_a_bad_range_keeps_the_user_and_audit_pages(sqlite_url):
    context = AppContext(Settings(db_url=sqlite_url))
    out = users.redraw(context, "/users/alice", "2024-09-30", "2024-09-01", None, nodes=("a",))
    assert set(out) == set(users.KEYS) and all(v is no_update for v in out.values())
    shown = audit.show(context, [("start", "2024-09-30"), ("end", "2024-09-01")], None, None)
    assert set(shown) == set(audit.KEYS) and all(v is no_update for v in shown.values())
    assert ids.NODE_PICKER and ids.NODES_STALE


def test_users_csv_takes_node(engine, db_url, tmp_path):
    a, b = LogWriter(tmp_path / "a"), LogWriter(tmp_path / "b")
    a.write(*[event_line(i, user="alice") for i in range(2)])
    b.write(*[event_line(i, user="bob") for i in range(3)])
    run_all(engine, a.dir, node="node-a")
    run_all(engine, b.dir, node="node-b")
    client = client_for(db_url, tmp_path)
    names = lambda q: [line.split(",")[0] for line in client.get(
        f"/api/users.csv?start=2024-09-18&end=2024-09-18{q}").get_data(as_text=True)
        .split("\r\n")[1:-1]]
    assert sorted(names("")) == ["alice", "bob"]
    assert names("&node=node-a") == ["alice"] and names("&node=node-b") == ["bob"]
    assert client.get("/api/users.csv?node=a%20b").status_code == 400
