"""Stats -> plotly figures, and the number formats the page shares. Pure: no dash, no SQL.

Plotly renders a little HTML in tick labels and hovers, so every username goes through
``label()`` (HTML-escaped) before it reaches a figure: a name like ``<img src=x>`` is drawn
as those characters, never as markup.
"""
from __future__ import annotations

import html
import json
from datetime import date, timedelta
from urllib.parse import quote

import plotly.io as pio

KIND_NAMES = {"upload": "Uploads", "download": "Downloads", "file_op": "File operations",
              "login": "Logins", "login_failed": "Failed logins"}
# Okabe–Ito (Okabe & Ito, "Color Universal Design", 2008): eight colours that stay apart
# for protanopes, deuteranopes and tritanopes as for everyone else. Every figure draws with
# these; upload, download and failed are bluish green, sky blue and vermillion.
OKABE_ITO = {"orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00",
             "reddish_purple": "#CC79A7", "black": "#000000"}
COLORS = {"upload": OKABE_ITO["bluish_green"], "download": OKABE_ITO["sky_blue"],
          "file_op": OKABE_ITO["orange"], "login": OKABE_ITO["reddish_purple"],
          "login_failed": OKABE_ITO["vermillion"], "failed": OKABE_ITO["vermillion"],
          "ban": OKABE_ITO["yellow"], "average": OKABE_ITO["blue"]}
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
_UNITS = ("B", "KB", "MB", "GB", "TB", "PB", "EB")
_TICK_CHARS = 18
MAX_BARS = 120              # per-day graphs group by week or month beyond this many days
_KIOSK_TICK_CHARS = 12      # the wall display's plots keep their height on a 720p screen


# --- formats -----------------------------------------------------------------------------

def human_bytes(n: float, compact: bool = False) -> str:
    """Returns a byte count in decimal units: '999 B', '1.54 KB', '23.4 MB', '1.41 GB'.

    ``compact`` drops trailing zeros ('2 GB', '2.5 GB'), for axis ticks.
    """
    n = float(n)
    unit = 0
    while abs(n) >= 1000 and unit < len(_UNITS) - 1:
        n /= 1000
        unit += 1
    if unit == 0:
        return f"{int(n)} B"
    digits = 2 if abs(n) < 10 else 1 if abs(n) < 100 else 0
    text = f"{n:.{digits}f}"
    if compact and "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} {_UNITS[unit]}"


def count(n: int) -> str:
    """Returns an integer with thousands separators: '12,345'."""
    return f"{int(n):,}"


def display_name(name: str) -> str:
    """Returns a username as shown: itself, or JSON-quoted when blanks at its ends or control
    characters would hide what it is ('admin ' shows as "admin ", next to admin).

    Invisible characters are written as escapes: a bidirectional control such as U+202E
    (right-to-left override) shows as the six characters \\u202e and never reorders the
    text around it, in the table, the ticks or the hovers.
    """
    if name and name == name.strip() and name.isprintable():
        return name
    return visible(json.dumps(name, ensure_ascii=False))


def visible(text: str) -> str:
    """Returns ``text`` with every character that is not printable (bidirectional controls,
    zero-width and other format characters, control characters) written as a \\u escape;
    spaces and printable text are kept. For free text that may hold names or paths."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else
                   f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}"
                   for c in text)


def label(name: str, limit: int | None = None) -> str:
    """Returns ``name`` escaped for a plotly label (optionally shortened to ``limit`` chars)."""
    if limit is not None and len(name) > limit:
        name = name[:limit - 1] + "…"
    return html.escape(name, quote=False)


def byte_ticks(top: float, steps: int = 5) -> tuple[list[float], list[str]]:
    """Returns tick values and their human labels for a bytes axis from 0 to ``top``."""
    if top <= 0:
        return [0], ["0 B"]
    raw = top / steps
    magnitude = 10 ** (len(str(int(raw))) - 1) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    values = [float(i * step) for i in range(int(top // step) + 2)]   # floats: can pass 2^64
    # a bare 0: '0 B' at the axis' foot runs into the first label of the x axis
    return values, [human_bytes(v, compact=True) if v else "0" for v in values]


# --- users: who is drawn -----------------------------------------------------------------

_SUMMED = ("uploads", "downloads", "transfers", "failed_transfers", "bytes_uploaded",
           "bytes_downloaded")


def top_users(users: list[dict], limit: int, totals: dict | None = None) -> list[dict]:
    """Returns the users with transfers, the busiest first; past ``limit``, one 'others' row.

    The 'others' row has ``others`` = how many users it holds and sums their figures. Pass
    the range's ``totals`` when ``users`` is not the whole list (users_truncated): 'others'
    is then everything the users shown did not do, named "all others".
    """
    movers = [u for u in users if u["transfers"] > 0]
    if len(movers) <= limit and totals is None:
        return movers
    shown, rest = movers[:limit], movers[limit:]
    if totals is None:
        others = {"username": f"others ({len(rest)} users)", "others": len(rest)}
        others.update({key: sum(u[key] for u in rest) for key in _SUMMED})
    else:
        others = {"username": "all others", "others": len(rest)}
        others.update({key: totals[key] - sum(u[key] for u in shown) for key in _SUMMED})
        if others["transfers"] <= 0:
            return shown
    volume = others["bytes_uploaded"] + others["bytes_downloaded"]
    others["avg_bytes_per_transfer"] = round(volume / others["transfers"], 2)
    return shown + [others]


def _categories(rows: list[dict], kiosk: bool = False) -> tuple[list[str], list[str]]:
    """Returns (full escaped names, shortened escaped tick labels) in row order.

    Hovers name the user from customdata: plotly's %{x} would show the shortened tick.
    """
    full = [label(r["username"] if r.get("others") else display_name(r["username"]))
            for r in rows]
    ticks = [f"<i>{label(r['username'])}</i>" if r.get("others")
             else label(display_name(r["username"]), _KIOSK_TICK_CHARS if kiosk else _TICK_CHARS)
             for r in rows]
    return full, ticks


# --- figures -----------------------------------------------------------------------------
# A figure is plain data, {"data": [traces], "layout": {...}}, as Plotly's JSON has it: built
# as dicts, never through plotly.graph_objects, whose validating object model cost most of a
# redraw (a year's overview: about 300 ms of building and serialising, against a few ms as
# dicts), and serialised as they are (orjson, through Dash). The tests check each one is a
# valid Plotly figure (go.Figure(fig) validates it).

def _template() -> dict:
    """Returns plotly's dark template as the figures carry it: its layout, and the defaults
    of the trace types drawn (bar, scatter)."""
    dark = pio.templates["plotly_dark"].to_plotly_json()
    return {"layout": dark["layout"],
            "data": {k: v for k, v in dark["data"].items() if k in ("bar", "scatter")}}


TEMPLATE = _template()


def merge(target: dict, changes: dict) -> dict:
    """Merges ``changes`` into ``target`` (nested dicts key by key, as Plotly's update_*
    do); returns ``target``."""
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = value
    return target


def figure() -> dict:
    """Returns an empty figure (no trace) on the dark template."""
    return {"data": [], "layout": {"template": TEMPLATE}}


def axis(fig: dict, name: str, **changes) -> dict:
    """Updates the layout's axis ``name`` ('xaxis', 'yaxis'); returns ``fig``."""
    merge(fig["layout"].setdefault(name, {}), changes)
    return fig


def bar(fig: dict, **trace) -> dict:
    """Adds a bar trace; returns it."""
    trace = {"type": "bar", **trace}
    fig["data"].append(trace)
    return trace


def _base(fig: dict, kiosk: bool, legend: bool = True) -> dict:
    size = 20 if kiosk else 13
    merge(fig["layout"], dict(
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        font={"family": FONT, "size": size, "color": "#e9ecef"},
        # the mode bar stands upright in the right margin, beside the plot and its legend
        # (never over a legend entry); the wall has none
        margin={"l": 70 if kiosk else 60, "r": 16 if kiosk else 40, "t": 8 if kiosk else 16,
                "b": 16},
        modebar={"orientation": "v", "bgcolor": "rgba(0,0,0,0)",
                 "color": "rgba(255,255,255,0.45)", "activecolor": "#e9ecef"},
        showlegend=legend,
        # one line above the plot; on the wall in smaller type, so it keeps to a few percent
        # of the plot on any screen
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0,
                "font": {"size": round(size * 0.75) if kiosk else size}, "itemwidth": 30,
                "bgcolor": "rgba(0,0,0,0)", "traceorder": "normal"},
        hoverlabel={"font": {"size": size, "family": FONT}},
        uirevision="keep",        # a refresh keeps the user's zoom and legend clicks
    ))
    return axis(fig, "yaxis", gridcolor="rgba(255,255,255,0.08)",
                zerolinecolor="rgba(255,255,255,0.2)")


def empty(message: str, kiosk: bool = False) -> dict:
    """Returns a blank figure that says ``message`` in its middle."""
    fig = _base(figure(), kiosk, legend=False)
    axis(fig, "xaxis", visible=False)
    axis(fig, "yaxis", visible=False)
    fig["layout"]["annotations"] = [{
        "text": label(message), "showarrow": False, "x": 0.5, "y": 0.5, "xref": "paper",
        "yref": "paper", "font": {"size": 22 if kiosk else 15, "color": "#aab0b6"}}]
    return fig


def _user_axis(fig: dict, full: list[str], ticks: list[str]) -> None:
    # upright, else slanted, else standing: names never lie over one another (a phone)
    axis(fig, "xaxis", type="category", categoryorder="array", categoryarray=full,
         tickmode="array", tickvals=full, ticktext=ticks, autotickangles=[0, -30, -90],
         automargin=True)


def _per_user(users: list[dict], limit: int, kiosk: bool, series, barmode: str,
              legend: bool = True, totals: dict | None = None) -> dict:
    """Returns bars per user, one trace per (name, colour, value(row), hover(row)) of
    ``series``; the hover text follows the user's (escaped) name.

    Values are drawn as floats: exact sums can pass 2^64, which plotly's JSON cannot carry
    as integers (the hovers and the API keep the exact figures).
    """
    rows = top_users(users, limit, totals)
    if not rows:
        return empty("No transfers in this range", kiosk)
    full, ticks = _categories(rows, kiosk)
    fig = figure()
    for name, color, value, hover in series:
        bar(fig, name=name, x=full, y=[float(value(r)) for r in rows], marker={"color": color},
            # last, the name percent-encoded (no markup): a click opens the user's
            # page at /users/<that> (callbacks/pages.py)
            customdata=[[n, hover(r), None if r.get("others")
                         else quote(r["username"], safe="")] for n, r in zip(full, rows)],
            hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<extra></extra>")
    _base(fig, kiosk, legend)["layout"]["barmode"] = barmode
    _user_axis(fig, full, ticks)
    return fig


def _bytes_axis(fig: dict) -> dict:
    """Labels the y axis of a bytes figure in human units (KB, MB, GB)."""
    if fig["data"]:
        top = max(max(trace["y"]) for trace in fig["data"])
        values, texts = byte_ticks(top)
        axis(fig, "yaxis", tickmode="array", tickvals=values, ticktext=texts,
             range=[0, top * 1.05])
    return fig


def _transfers_of(kind: str, key: str):
    return (KIND_NAMES[kind], COLORS[kind], lambda r: r[key],
            lambda r: f"{KIND_NAMES[kind]}: {count(r[key])}"
                      f"<br>failed transfers (both ways): {count(r['failed_transfers'])}")


def _bytes_of(kind: str, key: str):
    return (KIND_NAMES[kind], COLORS[kind], lambda r: r[key],
            lambda r: f"{KIND_NAMES[kind]}: {human_bytes(r[key])}")


def user_transfers(users: list[dict], limit: int, log_y: bool = False,
                   kiosk: bool = False, totals: dict | None = None) -> dict:
    """Returns stacked bars of uploads and downloads per user (optionally on a log axis);
    ``totals``: see top_users."""
    fig = _per_user(users, limit, kiosk, [_transfers_of("upload", "uploads"),
                                          _transfers_of("download", "downloads")], "stack",
                    totals=totals)
    if fig["data"]:
        axis(fig, "yaxis", type="log" if log_y else "linear", title={"text": "transfers"})
        up, down = fig["data"][0]["y"], fig["data"][1]["y"]
        if not log_y and max(float(u) + float(d) for u, d in zip(up, down)) <= 5:
            axis(fig, "yaxis", dtick=1, tick0=0)          # a few transfers: whole numbers
    return fig


def user_bytes(users: list[dict], limit: int, kiosk: bool = False,
               totals: dict | None = None) -> dict:
    """Returns grouped bars of bytes uploaded vs downloaded per user, in human units;
    ``totals``: see top_users."""
    return _bytes_axis(_per_user(users, limit, kiosk, [
        _bytes_of("upload", "bytes_uploaded"), _bytes_of("download", "bytes_downloaded")],
        "group", totals=totals))


def user_average(users: list[dict], limit: int, kiosk: bool = False,
                 totals: dict | None = None) -> dict:
    """Returns bars of the average bytes per transfer of each user, in human units;
    ``totals``: see top_users."""
    average = ("average", COLORS["average"], lambda r: r["avg_bytes_per_transfer"],
               lambda r: f"{human_bytes(r['avg_bytes_per_transfer'])} per transfer"
                         f"<br>over {count(r['transfers'])} transfers")
    return _bytes_axis(_per_user(users, limit, kiosk, [average], "relative", legend=False,
                                 totals=totals))


def bucket_for(n_days: int) -> str:
    """Returns 'day', 'week' or 'month': the finest grouping that keeps to about MAX_BARS bars."""
    if n_days <= MAX_BARS:
        return "day"
    return "week" if n_days <= MAX_BARS * 7 else "month"


BUCKET_TITLES = {"day": "Activities by day", "week": "Activities by week (weeks start Monday)",
                 "month": "Activities by month"}


def buckets(days: list[dict], bucket: str) -> list[dict]:
    """Returns the days summed by ``bucket``: {'start', 'end' (the bucket's days within the
    range, both included), 'slot' (the bucket's own first day), each count the days carry
    (one per kind, and 'total')}."""
    out: list[dict] = []
    for d in days:
        day = date.fromisoformat(d["date"])
        slot = (day if bucket == "day" else day - timedelta(days=day.weekday())
                if bucket == "week" else day.replace(day=1)).isoformat()
        counts = {k: v for k, v in d.items() if k != "date"}
        if not out or out[-1]["slot"] != slot:
            out.append({"slot": slot, "start": d["date"], "end": d["date"],
                        **dict.fromkeys(counts, 0)})
        b = out[-1]
        b["end"] = d["date"]
        for k, v in counts.items():
            b[k] += v
    return out


def activities_by_day(days: list[dict], kiosk: bool = False) -> dict:
    """Returns stacked bars of events per kind for every day of the range, or every ISO week
    or month of it when it is long (bucket_for); zeros stay as empty slots."""
    from .time_figures import activities, day_rows
    bucket = bucket_for(len(days))
    return activities(day_rows(days, bucket), bucket, kiosk)
