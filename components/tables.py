"""Plain-text tables: every cell is a string child, never HTML or markdown, so names, IPs and
paths from the log show as written (invisible characters as escapes)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashboard.figures import display_name, visible


def cell(value) -> str:
    """Returns a value as the text of a cell: '–' for none, names shown as display_name."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return visible(str(value))


def text_table(columns: list[str], rows: list[list], empty: str, name_columns=(0,),
               class_name: str = "", row_classes: list | None = None) -> html.Div | dbc.Table:
    """Returns a table of ``rows``; cells in ``name_columns`` go through display_name;
    ``row_classes`` (one per row, None for none) marks rows (the IPs that fired)."""
    if not rows:
        return html.P(empty, className="empty-note")
    marks = row_classes or [None] * len(rows)
    body = [html.Tr([html.Td(display_name(v) if i in name_columns and isinstance(v, str)
                             else cell(v), className="name" if i in name_columns else None)
                     for i, v in enumerate(row)], className=mark)
            for row, mark in zip(rows, marks)]
    return dbc.Table([html.Thead(html.Tr([html.Th(c) for c in columns])), html.Tbody(body)],
                     size="sm", hover=True, responsive=True,
                     className=f"table-dark text-table {class_name}".strip())
