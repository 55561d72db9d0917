"""Any other path: says there is no such page and links to the ones there are (Dash Pages
shows this module for a path no page registered)."""
import dash
from dash import dcc, html

from components import ids
from components.nav import PAGES

dash.register_page(__name__, path="/404", name="No such page",
                   title="SFTPGo activity · No such page")


def layout(**_query) -> html.Div:
    return html.Div([html.H2("No such page"),
                     html.P("This address is not one of the dashboard's pages. Its pages are:"),
                     html.Ul([html.Li(dcc.Link(text, href=href))
                              for _id, href, text, _page in PAGES])],
                    id=ids.PAGE_NOT_FOUND, className="page-section")
