"""Alerts on every page and on their own: the header's count of firing alerts and the wall's
list (each live tick), the /alerts page (range, rule and state -> table), and nothing else.
The security page's marks are callbacks/security.py's."""
from __future__ import annotations

import logging
from datetime import date, datetime

from dash import Input, Output, State, html, no_update
from werkzeug.datastructures import MultiDict

from alerts.records import from_ms, now_ms
from components import ids
from components.alerts import alerts_table, count_text, rules_note, wall_list
from dashboard import alerts
from dashboard.context import DB_FAULTS
from dashboard.params import BadParameter

from .audit import new_search
from .keeping import KEEP_ON, kept
from .graphs import range_of

log = logging.getLogger(__name__)

ALERTS_RANGE = ids.ALERTS_RANGE        # the page's copy of the range, the version and the tick
PAGE_LIMIT = 500
KEYS = ("table", "rules")
WALL_ROWS = 4                          # the wall keeps room for its figures


def recent_since(context, now: datetime | None = None) -> str:
    """Returns the time from which an alert counts as recent: ALERT_MAX_AGE ago (the alerts
    that would still be sent), on the log's clock."""
    cfg = alerts.config(context.settings)
    return from_ms(now_ms(now) - int(cfg.max_age_s * 1000))


def header(context, kiosk: bool, now: datetime | None = None) -> dict:
    """Returns the header's count (text and class) and the wall's list (and whether it is
    hidden: always outside the wall, and when nothing is firing or recent)."""
    try:
        engine = context.engine()
        firing = alerts.firing_count(engine)
        since = recent_since(context, now)
        rows = alerts.recent(engine, since, limit=WALL_ROWS)
        recent = alerts.recent_count(engine, since)
    except DB_FAULTS as exc:          # the live tick's banner says why
        log.info("Alert count skipped. error=%s", exc)
        return dict.fromkeys(("count", "count_class", "wall", "wall_hidden"), no_update)
    tone = "alerts-count firing" if firing else "alerts-count recent" if recent else \
        "alerts-count calm"
    return {"count": count_text(firing, recent), "count_class": tone,
            "wall": wall_list(rows) if kiosk and rows else None,
            "wall_hidden": not (kiosk and rows)}


def page(context, start, end, rule, state, today: date | None = None) -> dict:
    """Returns the /alerts page's table and rules for the range and filters."""
    today = today or date.today()
    args = MultiDict([("start", (start or "")[:10]), ("end", (end or "")[:10]),
                      ("limit", str(PAGE_LIMIT))]
                     + ([("rule", rule.strip())] if rule and rule.strip() else [])
                     + ([("state", state)] if state and state != "any" else []))
    try:
        f = alerts.parse_filters(args, today, context.default_start())
        rows = alerts.page_rows(context.engine(), context.settings, f)
    except BadParameter as exc:       # a rule name that cannot be: say so where the table is
        return {"table": html.P(str(exc), className="empty-note"), "rules": no_update}
    except KEEP_ON as exc:
        return kept(KEYS, "Alerts page", exc)
    cfg = alerts.config(context.settings)
    return {"table": alerts_table(rows),
            "rules": rules_note([r.describe() for r in cfg.rules], cfg.source)}


def register(app, context) -> None:
    app.clientside_callback("function (range, version, n) {"
                            " return {range: range, version: version, n: n}; }",
                            Output(ALERTS_RANGE, "data"), Input(ids.RANGE_STORE, "data"),
                            Input(ids.LIVE_VERSION, "data"),
                            Input(ids.LIVE_INTERVAL, "n_intervals"))

    @app.callback(Output(ids.ALERTS_COUNT, "children"), Output(ids.ALERTS_COUNT, "className"),
                  Output(ids.ALERTS_WALL, "children"), Output(ids.ALERTS_WALL, "hidden"),
                  Input(ids.LIVE_INTERVAL, "n_intervals"), Input(ids.LIVE_VERSION, "data"),
                  Input(ids.MODE_STORE, "data"))
    def _header(_n, _version, mode):
        out = header(context, bool(mode and mode.get("kiosk")))
        return out["count"], out["count_class"], out["wall"], out["wall_hidden"]

    @app.callback(Output(ids.ALERTS_TABLE, "children"), Output(ids.ALERTS_RULES, "children"),
                  Output(ids.URL, "search", allow_duplicate=True),
                  Input(ALERTS_RANGE, "data"), Input(ids.ALERTS_RULE, "value"),
                  Input(ids.ALERTS_STATE, "value"), State(ids.URL, "search"),
                  prevent_initial_call="initial_duplicate")
    def _page(store, rule, state, search):
        start, end = range_of((store or {}).get("range"))
        out = page(context, start, end, rule, state)
        return out["table"], out["rules"], new_search(search, {"rule": (rule or "").strip(),
                                                               "state": None if state in (None, "", "any") else state})

