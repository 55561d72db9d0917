"""The ``node=`` filter of the named SQL: one query text, scoped to some nodes or to all.

In sql/queries/*.sql, the comment /*nodes*/ stands where a node filter goes in a WHERE
clause of a rollup (its node column), and /*event_nodes*/ where it goes for the events
table (an event's node is its file's). Without a filter both are dropped. Which nodes a
request asks for is params.parse_nodes'.
"""
from __future__ import annotations

import sqlalchemy as sa

import db

_NODE_FILTERS = {"/*nodes*/": " AND node IN :nodes",
                 "/*event_nodes*/": " AND file_id IN (SELECT lf.id FROM log_files lf"
                                    " WHERE lf.node IN :nodes)"}


def node_filter(text: str, nodes) -> str:
    """Returns SQL text with its node markers filled for ``nodes`` (None: dropped)."""
    for marker, cond in _NODE_FILTERS.items():
        text = text.replace(marker, "" if nodes is None else cond)
    return text


def scoped(name: str, d: str, nodes, fill: dict | None = None) -> sa.TextClause:
    """Returns the named query filtered to ``nodes`` (bind parameter ``nodes``, a list), or
    the query as it is when ``nodes`` is None; ``fill``: other markers of its text and what
    stands for them (fixed SQL of the caller's, never a value from a request)."""
    base = db.load_sql(name, d)
    if nodes is None and not fill:
        return base
    text = base.text
    for marker, sql in (fill or {}).items():
        text = text.replace(marker, sql)
    query = sa.text(node_filter(text, nodes))
    return query if nodes is None else query.bindparams(sa.bindparam("nodes", expanding=True))


def node_params(nodes) -> dict:
    """Returns the bind parameters of a node filter ({} without one)."""
    return {} if nodes is None else {"nodes": list(nodes)}
