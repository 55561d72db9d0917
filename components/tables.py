"""Plain-text tables: every cell is a string child, never HTML or markdown, so names, IPs and
paths from the log show as written (invisible characters as escapes).

A row is one line: no cell wraps, so an IP, a number, a time or a kind is never split.
Times show as 'Sep 18 03:24:21' with the logged value in their tooltip; a long path is cut
at its left ('…/dba/dba_log20240918.csv', its end is what tells files apart), a long name or
error text at its right, each with the whole text in its tooltip. On a narrow screen the
table scrolls inside its panel (assets/dashboard.css)."""
from __future__ import annotations

from datetime import datetime

import dash_bootstrap_components as dbc
from dash import html
from dash.development.base_component import Component

from dashboard.figures import display_name, visible

# how a column's cells are drawn: its td class
TOKEN = "token"        # an IP, a kind, a protocol: one unbroken word
NUMBER = "number"      # right-aligned, tabular digits
TIME = "time"          # a logged time, shown short
PATH = "path"          # cut at its left
TEXT = "clip"          # free text (a name, an error), cut at its right


def cell(value) -> str:
    """Returns a value as the text of a cell: '–' for none, names shown as display_name."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return visible(str(value))


def short_time(ts: str | None, year: int | None = None) -> str:
    """Returns a logged time ('2024-09-18T03:24:21.300') as 'Sep 18 03:24:21', with its year
    ('Sep 18, 2023 03:24:21') when it is not ``year`` (the range's: None, any year)."""
    try:
        moment = datetime.fromisoformat(ts[:19].replace(" ", "T"))
    except (TypeError, ValueError):
        return cell(ts)
    day = f"{moment:%b} {moment.day}" + ("" if year in (None, moment.year) else f", {moment.year}")
    return f"{day} {moment:%H:%M:%S}"


def moment(ts: str | None, year: int | None = None) -> html.Span | str:
    """Returns a time cell: short (its year when it is not ``year``), the time as logged in
    its tooltip."""
    if not ts:
        return "–"
    return html.Span(short_time(ts, year), title=ts.replace(" ", "T"), className="moment")


def _clipped(text: str, kind: str) -> html.Span:
    """Returns text cut by CSS (at the left for a path, else the right), whole in its
    tooltip; a path's letters stay in their order (bdi, left to right)."""
    inner = html.Bdi(text, dir="ltr") if kind == PATH else text
    return html.Span(inner, title=text, className=f"cut-{kind}")


def _cell(value, kind: str | None, name: bool, year: int | None = None):
    if isinstance(value, Component):
        return value
    if kind == TIME:
        return moment(value, year)
    text = display_name(value) if name and isinstance(value, str) else cell(value)
    if kind in (PATH, TEXT) and value is not None:
        return _clipped(text, kind)
    return text


def text_table(columns: list[str], rows: list[list], empty: str, name_columns=(0,),
               class_name: str = "", kinds: dict | None = None,
               drop: dict | None = None, year: int | None = None,
               row_classes: list | None = None) -> html.Div | dbc.Table:
    """Returns a table of ``rows``; cells in ``name_columns`` go through display_name;
    ``kinds``: {column index: TOKEN, NUMBER, TIME, PATH or TEXT} (names are TEXT, ints
    NUMBER, others TOKEN unless said); ``drop``: {column index: n}, the columns a wall too
    narrow for the table leaves out, n = 1 first (assets/wall.js); ``year``: the range's,
    which its times leave out; ``row_classes``: one per row (None: none), marks rows (the
    security page's IPs that fired an alert)."""
    if not rows:
        return html.P(empty, className="empty-note")
    kinds = dict(kinds or {})
    for i in name_columns:
        kinds.setdefault(i, TEXT)
    for i in range(len(columns)):
        if i not in kinds:
            kinds[i] = NUMBER if any(isinstance(r[i], int) and not isinstance(r[i], bool)
                                     for r in rows) else TOKEN
    drop = drop or {}
    head = html.Thead(html.Tr([html.Th(c, className=kinds[i],
                                       **({"data-drop": str(drop[i])} if i in drop else {}))
                               for i, c in enumerate(columns)]))
    marks = row_classes or [None] * len(rows)
    body = [html.Tr([html.Td(_cell(v, kinds[i], i in name_columns, year),
                             className=f"{kinds[i]} name" if i in name_columns else kinds[i])
                     for i, v in enumerate(row)], className=mark)
            for row, mark in zip(rows, marks)]
    return dbc.Table([head, html.Tbody(body)], size="sm", hover=True,
                     className=f"table-dark text-table {class_name}".strip())
