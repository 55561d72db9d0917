"""/ : the headline figures (with their change against the period before), four graphs,
each node's activity and health (when there are several nodes), the folders and the hours
of the range, and the per-user table."""
import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.graphs import graphs_grid
from components.headline import headline_row
from components.insight import insight_row
from components.users_table import users_panel

dash.register_page(__name__, path="/", name="Overview", title="SFTPGo activity", order=0)


def layout(**_query) -> html.Div:
    """Returns the page; callbacks/graphs.py fills it for the range (callbacks/nodes.py the
    node panel)."""
    return html.Div([dcc.Store(id=ids.OVERVIEW_RANGE), dcc.Store(id=ids.OVERVIEW_NODES_IN),
                     dcc.Store(id=ids.drawn_id("overview")),
                     dbc.Alert(id=ids.OVERVIEW_MESSAGE, color="warning", is_open=False,
                               className="range-message"),
                     headline_row(), graphs_grid(),
                     html.Div(id=ids.OVERVIEW_NODES, className="overview-nodes control"),
                     insight_row(), users_panel()], id=ids.PAGE_OVERVIEW,
                    className="page-section")
