"""Small visual pieces the panels share."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

# The mode bar stands upright in the plot's right margin (figures._base leaves it room), so
# it never lies over the legend; the wall hides it (assets/dashboard.css).
GRAPH_CONFIG = {"displaylogo": False,
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "zoomIn2d",
                                           "zoomOut2d"]}


def panel(title: str, body, class_name: str = "", title_id: str | None = None,
          tools=None) -> dbc.Card:
    """Returns a titled card around ``body`` (``title_id``: a callback may retitle it;
    ``tools``: controls at the right of the title)."""
    heading = html.H2(title, className="panel-title", **({"id": title_id} if title_id else {}))
    header = [heading] if tools is None else [heading, tools]
    return dbc.Card([dbc.CardHeader(header, className="panel-header"),
                     dbc.CardBody(body, className="panel-body")],
                    className=f"panel {class_name}".strip())


def scale_control(control_id: str) -> dbc.RadioItems:
    """Returns the y scale of a graph: auto (the figure's spread decides: a log axis when
    one bar is many times another), linear or log; the options' words are the redraw's."""
    return dbc.RadioItems(
        id=control_id, value="auto", className="btn-group scale-control control",
        inputClassName="btn-check", labelClassName="btn btn-outline-secondary btn-sm",
        labelCheckedClassName="active",
        options=[{"label": "auto", "value": "auto"}, {"label": "lin", "value": "linear"},
                 {"label": "log", "value": "log"}])


def page_graph(graph_id: str) -> dcc.Graph:
    """Returns a graph of the security or user page (sized like the overview's, by the CSS
    variable; its own class, so the overview's four keep theirs)."""
    return dcc.Graph(id=graph_id, config=GRAPH_CONFIG, responsive=True, className="page-graph",
                     style={"height": "var(--graph-height)"})
