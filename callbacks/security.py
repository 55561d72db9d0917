"""The security page: the range (and the data version) -> /api/security's figures -> page."""
from __future__ import annotations

from datetime import date

from dash import Input, Output, html

from components import ids
from components.security import FIGURES
from components.tables import TIME, TOKEN, text_table
from dashboard import (alerts, analysis_figures, answers, figures, geo, insight, insight_figures,
                       time_figures, timeline)

from .keeping import KEEP_ON, kept
from .graphs import drawn, nodes_of, range_of, span_of, window_of
from .insight import plaintext_line


KEYS = ("failures", "ips", "usernames", "bans", "days", "top_ips", "top_usernames", "methods",
        "protocols", "days_title", "failures_note", "ips_note", "usernames_note", "bans_note",
        "countries", "plaintext", "drawn")
LIMIT = 100                 # rows of each table (the wall shows those that fit)
COUNTRIES = 12              # bars of the countries' graph
# the login_type of a connection that never tried to log in (SFTPGo 2.6+, and before 2.6)
SCAN_METHODS = ("no_auth_tried", "no_auth_tryed")
METHOD_WORDS = {m: "no login tried (scan)" for m in SCAN_METHODS}
NONE = "(none)"


def scans(data: dict) -> int:
    """Returns how many of the failed logins were connections that never tried to log in
    (login_type no_auth_tried: port scans, health checks; the contract counts them as
    failed logins, as SFTPGo logs them as connection_failed)."""
    return sum(m["failures"] for m in data["by_method"] if m["method"] in SCAN_METHODS)


def tiles(data: dict) -> dict:
    """Returns the tiles' values and notes. /api/security's distinct counts leave the empty
    username and IP out; the tables list them as "(none)", so the tiles count "(none)" too
    when it is listed, and say so."""
    t = data["totals"]
    failures = t["login_failures"]
    scanned = scans(data)
    empty_name = next((u["failures"] for u in data["by_username"] if u["username"] == ""), 0)
    empty_ip = next((r["failures"] for r in data["by_ip"] if r["ip"] == "" and r["failures"]), 0)
    names = t["usernames"] + (1 if empty_name else 0)
    ips = t["ips"] + (1 if empty_ip else 0)
    return {
        "failures": figures.count(failures),
        "failures_note": (f"{'all' if scanned == failures else 'incl.'} {figures.count(scanned)}"
                          f" scan{'' if scanned == 1 else 's'}: no login tried"
                          if scanned else "every one a login tried"),
        "ips": figures.count(ips),
        "ips_note": f"incl. {NONE}: {figures.count(empty_ip)} without an IP" if empty_ip else "",
        "usernames": figures.count(names),
        "usernames_note": (f"incl. {NONE}: {figures.count(empty_name)} sent no name"
                           if empty_name else ""),
        "bans": figures.count(t["bans"]),
        "bans_note": (f"{figures.count(t['banned_ips'])} IP{'' if t['banned_ips'] == 1 else 's'}"
                      " banned" if t["bans"] else ""),
    }


def alert_mark(rules: list[str] | None) -> str | None:
    """Returns the Alerts cell of an IP: '⚠ ' and the rules that fired for it, or None."""
    return "⚠ " + ", ".join(rules) if rules else None


def redraw(context, start, end, mode, today: date | None = None, nodes=None,
           since: str | None = None, until: str | None = None) -> dict:
    """Returns the page's outputs (of ``nodes``' events; None: every node) for the days
    start..end or the window since..until. A bad range or an outage keeps what is drawn
    (the banner and the range message say why)."""
    today = today or date.today()
    try:
        span = span_of(context, start, end, today, since, until)
        engine = context.engine()
        shown = drawn(context, "/security")
        data = insight.security_with_countries(engine, span, LIMIT, nodes,
                                               geo.locator(context.settings.geoip_db))
        logins = insight.clients(engine, span, nodes)
        fired = alerts.fired_ips(engine, **span.bounds())     # the IPs that fired
        rows, bucket, note = timeline.rows_for(
            engine, span, data["days"], nodes,
            retention_days=context.settings.events_retention_days, today=today)
    except KEEP_ON as exc:
        return kept(KEYS, "Security redraw", exc)
    kiosk = bool(mode and mode.get("kiosk"))
    return {
        **tiles(data), "drawn": shown,
        "days": time_figures.failures(rows, bucket, kiosk),
        "days_title": timeline.title(bucket, "Failed logins") + " (× bans)"
                      + (f" ({note})" if note else ""),
        "top_ips": text_table(["IP", "Country", "Failures", "Names", "Bans", "First", "Last",
                               "Alerts"],
                              [[r["ip"] or NONE, r["country"] or "–", r["failures"],
                                r["usernames"], r["bans"], r["first"], r["last"],
                                alert_mark(fired.get(r["ip"]))]
                               for r in data["by_ip"]],
                              "No failed logins or bans in this range.", name_columns=(),
                              kinds={0: TOKEN, 1: TOKEN, 5: TIME, 6: TIME, 7: TOKEN},
                              drop={3: 1, 5: 2, 4: 3, 7: 4, 1: 5}, year=span.end.year,
                              row_classes=["alert-ip" if r["ip"] in fired else None
                                           for r in data["by_ip"]]),
        "countries": insight_figures.countries_bar(data["by_country"][:COUNTRIES], kiosk),
        "plaintext": plaintext_line(logins),
        "top_usernames": text_table(["Username", "Failures", "IPs"],
                                    [[r["username"] if r["username"] else _none(), r["failures"],
                                      r["ips"]] for r in data["by_username"]],
                                    "No failed logins in this range.", drop={2: 1}),
        "methods": analysis_figures.counts_bar(data["by_method"], "method", "failures", kiosk,
                                               names=METHOD_WORDS),
        "protocols": analysis_figures.counts_bar(data["by_protocol"], "protocol", "failures",
                                                 kiosk),
    }


def _none():
    """Returns the cell of the empty username: "(none)", marked as not a name."""
    return html.Span(NONE, className="none-name", title="the client sent no username")


def register(app, context) -> None:
    value_ids = [value_id for value_id, _caption, _tone in FIGURES]
    output = {key: Output(value_id, "children") for key, value_id in zip(KEYS, value_ids)}
    output.update({f"{key}_note": Output(value_id + "-note", "children")
                   for key, value_id in zip(KEYS, value_ids)})
    output.update(days=Output(ids.SECURITY_DAYS, "figure"),
                  days_title=Output(ids.SECURITY_DAYS_TITLE, "children"),
                  top_ips=Output(ids.SECURITY_TOP_IPS, "children"),
                  top_usernames=Output(ids.SECURITY_TOP_USERNAMES, "children"),
                  methods=Output(ids.SECURITY_METHODS, "figure"),
                  protocols=Output(ids.SECURITY_PROTOCOLS, "figure"),
                  countries=Output(ids.SECURITY_COUNTRIES, "figure"),
                  plaintext=Output(ids.SECURITY_PLAINTEXT, "children"),
                  drawn=Output(ids.drawn_id("security"), "data"))

    @app.callback(output=output,
                  inputs={"store": Input(ids.RANGE_STORE, "data"),
                          "version": Input(ids.LIVE_VERSION, "data"),
                          "mode": Input(ids.MODE_STORE, "data")})
    def _redraw(store, version, mode):
        since, until = window_of(store)
        return answers.plain(redraw(context, *range_of(store), mode, nodes=nodes_of(store),
                                    since=since, until=until))
