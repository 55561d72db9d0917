"""The security page: the range (and the data version) -> /api/security's figures -> page."""
from __future__ import annotations

from datetime import date

from dash import Input, Output

from components import ids
from components.security_page import FIGURES
from components.tables import text_table
from dashboard import alerts, analysis_figures, figures, queries, security

from .common import KEEP_ON, kept
from .graphs import nodes_of, range_of


KEYS = ("failures", "ips", "usernames", "bans", "days", "top_ips", "top_usernames", "methods",
        "protocols")


def alert_mark(rules: list[str] | None) -> str | None:
    """Returns the Alerts cell of an IP: '⚠ ' and the rules that fired for it, or None."""
    return "⚠ " + ", ".join(rules) if rules else None


def redraw(context, start, end, mode, today: date | None = None, nodes=None) -> dict:
    """Returns the page's outputs (of ``nodes``' events; None: every node). A bad range or
    an outage keeps what is drawn (the banner and the range message say why)."""
    today = today or date.today()
    try:
        first, last = queries.parse_range((start or "")[:10], (end or "")[:10], today,
                                          context.default_start())
        data = security.security(context.engine(), first, last, limit=50, nodes=nodes)
        fired = alerts.fired_ips(context.engine(), first, last)    # the IPs that fired
    except KEEP_ON as exc:
        return kept(KEYS, "Security redraw", exc)
    kiosk = bool(mode and mode.get("kiosk"))
    t = data["totals"]
    return {
        "failures": figures.count(t["login_failures"]), "ips": figures.count(t["ips"]),
        "usernames": figures.count(t["usernames"]), "bans": figures.count(t["bans"]),
        "days": analysis_figures.failures_by_day(data["days"], kiosk),
        "top_ips": text_table(["IP", "Failures", "Names", "Bans", "First", "Last", "Alerts"],
                              [[r["ip"] or "(none)", r["failures"], r["usernames"], r["bans"],
                                r["first"], r["last"], alert_mark(fired.get(r["ip"]))]
                               for r in data["by_ip"]],
                              "No failed logins or bans in this range.",
                              row_classes=["alert-ip" if r["ip"] in fired else None
                                           for r in data["by_ip"]]),
        "top_usernames": text_table(["Username", "Failures", "IPs"],
                                    [[r["username"], r["failures"], r["ips"]]
                                     for r in data["by_username"]],
                                    "No failed logins in this range."),
        "methods": analysis_figures.counts_bar(data["by_method"], "method", "failures", kiosk),
        "protocols": analysis_figures.counts_bar(data["by_protocol"], "protocol", "failures",
                                                 kiosk),
    }


def register(app, context) -> None:
    value_ids = [value_id for value_id, _caption, _tone in FIGURES]
    output = {key: Output(value_id, "children") for key, value_id in zip(KEYS, value_ids)}
    output.update(days=Output(ids.SECURITY_DAYS, "figure"),
                  top_ips=Output(ids.SECURITY_TOP_IPS, "children"),
                  top_usernames=Output(ids.SECURITY_TOP_USERNAMES, "children"),
                  methods=Output(ids.SECURITY_METHODS, "figure"),
                  protocols=Output(ids.SECURITY_PROTOCOLS, "figure"))

    @app.callback(output=output,
                  inputs={"store": Input(ids.RANGE_STORE, "data"),
                          "version": Input(ids.LIVE_VERSION, "data"),
                          "mode": Input(ids.MODE_STORE, "data")})
    def _redraw(store, version, mode):
        return redraw(context, *range_of(store), mode, nodes=nodes_of(store))
