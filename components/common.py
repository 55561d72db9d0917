"""Small visual pieces the panels share."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html


def panel(title: str, body, class_name: str = "") -> dbc.Card:
    """Returns a titled card around ``body``."""
    return dbc.Card([dbc.CardHeader(html.H2(title, className="panel-title")),
                     dbc.CardBody(body, className="panel-body")],
                    className=f"panel {class_name}".strip())
