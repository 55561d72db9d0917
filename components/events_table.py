"""The events tables of the audit and user pages: one event a line, as /api/events gives it
(times short with the logged value in a tooltip, a path cut at its left, bytes in human units
with the exact count in a tooltip)."""
from __future__ import annotations

from dash import html

from dashboard.figures import count, human_bytes

from .tables import NUMBER, PATH, TEXT, TIME, TOKEN, text_table

AUDIT_COLUMNS = ["Time", "User", "Kind", "Action", "Path", "IP", "Protocol", "Bytes", "Failed",
                 "Error"]
USER_COLUMNS = ["Time", "Action", "Path", "IP", "Bytes", "Failed", "Error"]
# the columns a narrow wall leaves out, first to last
_DROP = ("Protocol", "Failed", "Action", "Error", "Bytes", "IP")
_KINDS = {"Time": TIME, "User": TEXT, "Kind": TOKEN, "Action": TOKEN, "Path": PATH,
          "IP": TOKEN, "Protocol": TOKEN, "Bytes": NUMBER, "Failed": TOKEN, "Error": TEXT}


def size(value) -> html.Span | None:
    """Returns a transfer's size: human units, the exact bytes in its tooltip."""
    if value is None:
        return None
    return html.Span(human_bytes(value), title=f"{count(value)} bytes")


def _value(e: dict, column: str):
    if column == "Time":
        return e["ts"]
    if column == "User":
        return e["username"] if e["username"] else html.Span(
            "(none)", className="none-name", title="the event carries no username")
    if column == "Kind":
        return e["kind"]
    if column == "Action":
        return e["action"]
    if column == "Path":
        return e["file_path"]
    if column == "IP":
        return e["remote_ip"]
    if column == "Protocol":
        return e["protocol"]
    if column == "Bytes":
        return size(e["size_bytes"])
    if column == "Failed":
        return e["failed"] if e["kind"] in ("upload", "download") else None
    return e["error"]


def events_table(events: list[dict], columns: list[str], empty: str, year: int | None = None):
    """Returns the table of ``events`` (/api/events' objects) with ``columns`` (of
    AUDIT_COLUMNS); names, paths and errors are text, never markup; ``year``: the range's
    (its times leave it out)."""
    rows = [[_value(e, c) for c in columns] for e in events]
    names = tuple(i for i, c in enumerate(columns) if c == "User")
    return text_table(columns, rows, empty, name_columns=names,
                      kinds={i: _KINDS[c] for i, c in enumerate(columns)},
                      class_name="events-table", year=year,
                      drop={i: _DROP.index(c) + 1 for i, c in enumerate(columns) if c in _DROP})
