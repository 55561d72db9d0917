"""The audit page: filters, the range and newer/older -> one page of /api/events -> table.

Paging keeps the cursors of the pages shown so far ("stack"): older pushes the page's
``next``, newer pops. A cursor pins a page to its place in the order, so new events never
shift the page being read; changing a filter or the range starts again from the newest.
"""
from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from dash import Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate
from werkzeug.datastructures import MultiDict

from components import ids
from components.events_table import AUDIT_COLUMNS, events_table
from dashboard import audit, retention_notes, span as spans

from . import url
from .keeping import KEEP_ON, kept
from .graphs import copy_range, nodes_of, range_args, range_of, window_of
from .users import retention_alert


PAGE_SIZE = 50                  # events a page shows: the default of show()'s page_size
KEYS = ("table", "paging", "info", "newer_disabled", "older_disabled", "csv", "retention")


def query_args(start, end, user, kinds, ip, protocol, failed, path,
               nodes=None, since=None, until=None) -> list[tuple[str, str]]:
    """Returns the /api/events query arguments of the form (an empty box filters nothing)
    and of the URL's node filter (None: every node); a window (since..until) as the
    minutes of start and end."""
    if since and until:
        window = spans.of_store({"start": start, "end": end, "since": since, "until": until})
        args = range_args(window)
    else:
        args = [("start", (start or "")[:10]), ("end", (end or "")[:10])]
    args += [("node", n) for n in nodes or ()]
    for key, value in (("user", user), ("ip", ip), ("protocol", protocol), ("path", path)):
        if value:
            args.append((key, value))
    args += [("kind", k) for k in kinds or []]
    if failed in ("0", "1"):
        args.append(("failed", failed))
    return args


def filter_changes(user, kinds, ip, protocol, failed, path) -> dict:
    """Returns the query string's audit keys for the form (an empty box: no key)."""
    return {"user": user, "kind": list(kinds or []), "ip": ip, "protocol": protocol,
            "failed": failed if failed in ("0", "1") else None, "path": path}


def new_search(search: str | None, changes: dict):
    """Returns the query string with the form's ``changes``, or no_update when it already
    says the same (in whatever order), so opening a bookmark adds no history entry."""
    wanted = url.with_params(search, changes)
    return no_update if sorted(url.params(wanted)) == sorted(url.params(search)) else wanted


def show(context, args: list, trigger, paging: dict | None, today: date | None = None,
         page_size: int = PAGE_SIZE, scan: int = audit.SCAN_ROWS) -> dict:
    """Returns the page's outputs (but the query string) for the form's ``args``: pages of
    ``page_size`` events, a path search examining at most ``scan`` rows a page (audit.page)."""
    today = today or date.today()
    stack = list((paging or {}).get("stack") or [None])
    counts = list((paging or {}).get("counts") or [])   # events shown on each page before
    if trigger == ids.AUDIT_OLDER and (paging or {}).get("next"):
        stack.append(paging["next"])
        counts.append(int(paging.get("shown") or 0))
    elif trigger == ids.AUDIT_NEWER and len(stack) > 1:
        stack.pop()
        counts = counts[:len(stack) - 1]
    elif trigger in (ids.AUDIT_OLDER, ids.AUDIT_NEWER):
        raise PreventUpdate
    else:
        stack, counts = [None], []
    try:
        filters = audit.parse_filters(MultiDict(args), today, context.default_start())
        engine = context.engine()
        answer = audit.page(engine, filters, page_size, stack[-1], scan=scan)
        field = retention_notes.info(engine, context.settings.events_retention_days, filters.start,
                              filters.end, today)
    except KEEP_ON as exc:
        return kept(KEYS, "Audit page", exc)
    # A path= page examines a bounded stretch of events, so it may be short, or empty with a
    # `next` (more to search): the numbering adds up what each page showed.
    first = sum(counts) + 1
    shown = len(answer["events"])
    searching = answer["next"] is not None
    return {
        "table": events_table(answer["events"], AUDIT_COLUMNS,
                              "None found in the stretch searched: press Older to search "
                              "further back." if searching else "No events match.",
                              filters.end.year),
        "paging": {"stack": stack, "next": answer["next"], "counts": counts, "shown": shown},
        "info": (f"events {first:,}–{first + shown - 1:,}" if shown else
                 "none yet, more to search" if searching else "no events"),
        "newer_disabled": len(stack) == 1, "older_disabled": answer["next"] is None,
        "csv": "/api/events.csv?" + urlencode([a for a in args if a[1]]),
        "retention": retention_alert(retention_notes.notice(field)),
    }


def register(app, context) -> None:
    copy_range(app, ids.AUDIT_RANGE)
    output = {"table": Output(ids.AUDIT_TABLE, "children"),
              "paging": Output(ids.AUDIT_PAGING, "data"),
              "info": Output(ids.AUDIT_PAGE_INFO, "children"),
              "newer_disabled": Output(ids.AUDIT_NEWER, "disabled"),
              "older_disabled": Output(ids.AUDIT_OLDER, "disabled"),
              "csv": Output(ids.AUDIT_CSV, "href"),
              "retention": Output(ids.AUDIT_RETENTION, "children"),
              "search": Output(ids.URL, "search", allow_duplicate=True)}

    @app.callback(output=output,
                  inputs={"store": Input(ids.AUDIT_RANGE, "data"),
                          "user": Input(ids.AUDIT_USER, "value"),
                          "kinds": Input(ids.AUDIT_KIND, "value"),
                          "ip": Input(ids.AUDIT_IP, "value"),
                          "protocol": Input(ids.AUDIT_PROTOCOL, "value"),
                          "failed": Input(ids.AUDIT_FAILED, "value"),
                          "path": Input(ids.AUDIT_PATH, "value"),
                          "newer": Input(ids.AUDIT_NEWER, "n_clicks"),
                          "older": Input(ids.AUDIT_OLDER, "n_clicks")},
                  state={"paging": State(ids.AUDIT_PAGING, "data"),
                         "search": State(ids.URL, "search")},
                  prevent_initial_call="initial_duplicate")
    def _show(store, user, kinds, ip, protocol, failed, path, newer, older, paging, search):
        start, end = range_of(store)
        since, until = window_of(store)
        args = query_args(start, end, user, kinds, ip, protocol, failed, path, nodes_of(store),
                          since, until)
        out = show(context, args, ctx.triggered_id, paging)
        out["search"] = new_search(search, filter_changes(user, kinds, ip, protocol, failed,
                                                          path))
        return out
