"""Small visual pieces the panels share."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

GRAPH_CONFIG = {"displaylogo": False,
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}


def panel(title: str, body, class_name: str = "", title_id: str | None = None) -> dbc.Card:
    """Returns a titled card around ``body`` (``title_id``: a callback may retitle it)."""
    heading = html.H2(title, className="panel-title", **({"id": title_id} if title_id else {}))
    return dbc.Card([dbc.CardHeader(heading),
                     dbc.CardBody(body, className="panel-body")],
                    className=f"panel {class_name}".strip())


def page_graph(graph_id: str) -> dcc.Graph:
    """Returns a graph of the security or user page (sized like the overview's, by the CSS
    variable; its own class, so the overview's four keep theirs)."""
    return dcc.Graph(id=graph_id, config=GRAPH_CONFIG, responsive=True, className="page-graph",
                     style={"height": "var(--graph-height)"})
