"""Small visual pieces the panels share."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html


def panel(title: str, body, class_name: str = "", title_id: str | None = None) -> dbc.Card:
    """Returns a titled card around ``body`` (``title_id``: a callback may retitle it)."""
    heading = html.H2(title, className="panel-title", **({"id": title_id} if title_id else {}))
    return dbc.Card([dbc.CardHeader(heading),
                     dbc.CardBody(body, className="panel-body")],
                    className=f"panel {class_name}".strip())
