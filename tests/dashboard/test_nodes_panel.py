"""The node panel's rows (dashboard/nodes.py) on both backends, and its drawing."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from components.nodes import nodes_panel, stale_text
from dashboard.nodes import node_rows
from tests.support.ingest import LogWriter, event_line, noise_line, run_all


def test_rows_per_node_and_the_stale_warning(engine, tmp_path):
    a, b = LogWriter(tmp_path / "a"), LogWriter(tmp_path / "b")
    a.write(*[event_line(i, size=100) for i in range(5)], noise_line(9))
    b.write(*[event_line(i, user="bob", sender="Download", size=7) for i in range(3)])
    run_all(engine, a.dir, node="node-a")
    run_all(engine, b.dir, node="node-b")
    day = date(2024, 9, 18)
    rows = node_rows(engine, day, day, stale_after_s=3600)
    assert [(r["node"], r["events"], r["transfers"], r["bytes"], r["files"], r["stale"])
            for r in rows] == [("node-a", 5, 5, 500, 1, False), ("node-b", 3, 3, 21, 1, False)]
    assert stale_text(rows) is None
    assert [r["node"] for r in node_rows(engine, day, day, nodes=("node-b",))] == ["node-b"]
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE node_status SET last_pass_epoch = last_pass_epoch - 7200"
                             " WHERE node = 'node-b'"))
    rows = node_rows(engine, day, day, stale_after_s=30)
    assert [r["stale"] for r in rows] == [False, True]
    warning = stale_text(rows)
    assert warning is not None and "node node-b." in warning and "node-a" not in warning
    text = str(nodes_panel(rows))
    assert "node-a" in text and "node-stale" in text
    empty = node_rows(engine, date(2020, 1, 1), date(2020, 1, 1), stale_after_s=30)
    assert [(r["node"], r["events"]) for r in empty] == [("node-a", 0), ("node-b", 0)]
