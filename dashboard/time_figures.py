"""Bars over time, in the bucket timeline.py chose: every time graph of the pages (the
overview's activities, the security page's failures, a user's activity and bytes).

A bar fills 85% of its bucket, centred in it, on a date axis: a day runs from midnight to
midnight (its label in the middle), an hour from 03:00 to 04:00. Every bucket of the range
is a slot, so a quiet hour is a gap, never bridged. A bar's customdata holds the times it
covers ('2024-09-18T03:00 → 2024-09-18T03:59', or days), which a click turns into the audit
trail of those minutes (callbacks/pages.py).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from . import timeline
from .figures import (COLORS, KIND_NAMES, _base, axis, bar, byte_ticks, count, empty, figure,
                      human_bytes)

HOVER = {"day": "%a %Y-%m-%d", "week": "week of %a %Y-%m-%d", "month": "%B %Y"}


def _slot(row: dict, bucket: str) -> datetime:
    """Returns the start of the bucket a row is (its first moment may be later: a range
    that starts within it)."""
    first = datetime.fromisoformat(row["start"][:19] if "T" in row["start"] else row["start"])
    if bucket in timeline.SUBDAY:
        return timeline.floor(first, bucket)
    if bucket == "week":
        return first - timedelta(days=first.weekday())
    if bucket == "month":
        return first.replace(day=1)
    return first


def _after(slot: datetime, bucket: str) -> datetime:
    """Returns the start of the bucket after ``slot``."""
    if bucket in timeline.SUBDAY:
        return slot + timedelta(minutes=timeline.SUBDAY[bucket])
    if bucket == "day":
        return slot + timedelta(days=1)
    if bucket == "week":
        return slot + timedelta(days=7)
    return (slot.replace(day=28) + timedelta(days=4)).replace(day=1)


def _text(moment: datetime, bucket: str) -> str:
    return moment.strftime("%Y-%m-%d %H:%M" if bucket in timeline.SUBDAY else "%Y-%m-%d")


def _covers(row: dict, bucket: str) -> str:
    """Returns the times a bar holds, as a click reads them: 'A → B' (minutes or days) or
    one day."""
    if bucket in timeline.SUBDAY:
        return f"{row['start'][:16]} → {row['end'][:16]}"
    return row["start"] if row["start"] == row["end"] else f"{row['start']} → {row['end']}"


def time_bars(rows: list[dict], bucket: str, series, kiosk: bool = False,
              barmode: str = "stack", y_title: str = "events", log_y: bool = False,
              nbytes: bool = False) -> dict:
    """Returns bars of ``rows`` (one per bucket: 'start', 'end' and the values) for each
    (key, name, colour) of ``series``; bytes in human units when ``nbytes``."""
    if not rows:
        return empty("No range", kiosk)
    slots = [_slot(r, bucket) for r in rows]
    widths = [(_after(s, bucket) - s).total_seconds() * 1000 for s in slots]
    x = [_text(s, bucket) for s in slots]
    covers = [_covers(r, bucket) for r in rows]
    fig = figure()
    for key, name, color in series:
        values = [float(r[key]) if nbytes else r[key] for r in rows]
        shown = [human_bytes(v) for v in values] if nbytes else [count(v) for v in values]
        bar(fig, name=name, x=x, y=values, width=[0.85 * w for w in widths],
            offset=[-0.425 * w for w in widths] if bucket == "day" else
            [0.075 * w for w in widths],
            customdata=[[c, t] for c, t in zip(covers, shown)],
            marker={"color": color, "line": {"width": 0}},
            hovertemplate=f"{name}: %{{customdata[1]}}<extra></extra>")
    _base(fig, kiosk)["layout"].update(barmode=barmode, hovermode="x unified", bargap=0)
    # a day's bar is centred on its date (its label, as before); the others fill their slot
    first = slots[0] - (timedelta(hours=12) if bucket == "day" else timedelta())
    last = _after(slots[-1], bucket) - (timedelta(hours=12) if bucket == "day" else timedelta())
    axis(fig, "xaxis", type="date", range=[first.strftime("%Y-%m-%d %H:%M"),
                                           last.strftime("%Y-%m-%d %H:%M")],
         hoverformat=HOVER.get(bucket, "%a %b %d %H:%M"), tickangle=0,
         ticklabelmode="period" if bucket in ("week", "month") else "instant")
    axis(fig, "yaxis", title={"text": y_title}, rangemode="tozero")
    ys = [t["y"] for t in fig["data"]]
    if not nbytes:
        whole_ticks(fig, max((sum(v) for v in zip(*ys)), default=0)
                    if barmode == "stack" else max((max(y) for y in ys), default=0))
    if nbytes:
        _bytes_axis(fig, log_y)
    elif log_y:
        axis(fig, "yaxis", type="log", rangemode="normal")
    return fig


def whole_ticks(fig: dict, top: float, axis_name: str = "y") -> None:
    """Keeps a count axis to whole numbers: a step of 1 up to a few events (no '0.5')."""
    if top <= 5:
        axis(fig, f"{axis_name}axis", dtick=1, tick0=0)


def _bytes_axis(fig: dict, log_y: bool) -> None:
    top = max((max(t["y"]) for t in fig["data"] if t["y"]), default=0)
    if log_y:
        log_byte_axis(fig)
        return
    values, texts = byte_ticks(top)
    axis(fig, "yaxis", tickmode="array", tickvals=values, ticktext=texts,
         range=[0, top * 1.05 or 1])


def log_byte_axis(fig: dict, axis_name: str = "y") -> None:
    """Puts the bytes of ``fig`` on a log axis with human ticks (1 KB, 10 KB, ... 1 TB)."""
    values = [v for t in fig["data"] for v in t.get(axis_name) or () if v and v > 0]
    if not values:
        return
    low, high = min(values), max(values)
    decades = len(f"{int(high):d}") - len(f"{max(int(low), 1):d}")
    step = 1000 if decades > 6 else 100 if decades > 3 else 10    # a few ticks, not twelve
    ticks, at = [], 1.0
    while at <= high * 10:
        if at >= low / step:
            ticks.append(at)
        at *= step
    update = dict(type="log", tickmode="array", tickvals=ticks, autorange=True,
                  ticktext=[human_bytes(v, compact=True) for v in ticks], rangemode="normal")
    if axis_name == "y":
        fig["layout"].get("yaxis", {}).pop("range", None)
    axis(fig, f"{axis_name}axis", **update)


def marks(fig: dict, rows: list[dict], bucket: str, key: str, name: str, color: str) -> None:
    """Adds markers with their number above the bars of the buckets where ``key`` is not 0
    (the bans over the failed logins)."""
    shown = [r for r in rows if r[key]]
    centres = []
    for r in shown:
        s = _slot(r, bucket)
        centre = s if bucket == "day" else s + (_after(s, bucket) - s) / 2
        centres.append(centre.strftime("%Y-%m-%d %H:%M:%S"))
    fig["data"].append({"type": "scatter", "name": name, "x": centres,
                        "y": [r[key] for r in shown], "mode": "markers+text",
                        "text": [str(r[key]) for r in shown], "textposition": "top center",
                        "marker": {"symbol": "x", "size": 12, "color": color},
                        "hovertemplate": f"{name}: %{{y:,}}<extra></extra>"})


# --- the pages' time graphs -----------------------------------------------------------------

ACTIVITY = tuple((kind, name, COLORS[kind]) for kind, name in KIND_NAMES.items())
USER_ACTIVITY = tuple((k, KIND_NAMES[k], COLORS[k]) for k in ("upload", "download", "file_op",
                                                                  "login"))
USER_BYTES = (("bytes_uploaded", "Uploaded", COLORS["upload"]),
              ("bytes_downloaded", "Downloaded", COLORS["download"]))


def activities(rows: list[dict], bucket: str, kiosk: bool = False) -> dict:
    """Returns the overview's stacked events per kind and bucket."""
    per = "" if bucket in ("day", "hour") else f" per {timeline.TITLES[bucket]}"
    return time_bars(rows, bucket, ACTIVITY, kiosk,
                     y_title="events" + (per if bucket not in timeline.SUBDAY else ""))


def failures(rows: list[dict], bucket: str, kiosk: bool = False) -> dict:
    """Returns the security page's failed logins per bucket, its bans marked above them."""
    fig = time_bars(rows, bucket, (("login_failed", "Failed logins", COLORS["login_failed"]),),
                    kiosk)
    marks(fig, rows, bucket, "ban", "Bans", COLORS["ban"])
    return fig


def user_activity(rows: list[dict], bucket: str, kiosk: bool = False,
                  log_y: bool = False) -> dict:
    return time_bars(rows, bucket, USER_ACTIVITY, kiosk, log_y=log_y)


def user_bytes(rows: list[dict], bucket: str, kiosk: bool = False,
               log_y: bool = False) -> dict:
    return time_bars(rows, bucket, USER_BYTES, kiosk, barmode="group", y_title="bytes",
                     log_y=log_y, nbytes=True)


def day_rows(days: list[dict], bucket: str) -> list[dict]:
    """Returns the per-day rows (days: {'date', counts...}) as rows of day, week or month."""
    return timeline.day_buckets(days, bucket)


def spread(values) -> float:
    """Returns how many times the largest value is the smallest one that is not 0 (1 when
    there are fewer than two)."""
    shown = [v for v in values if v and v > 0]
    return max(shown) / min(shown) if len(shown) > 1 else 1.0


LOG_SPREAD = 40      # past this, a linear axis leaves the small bars under a few pixels
# a time graph's quiet hours and the range's partial buckets make spread of their own: it
# goes log only when its smallest bar would be a line at the foot of the tallest
TIME_LOG_SPREAD = 100


def wants_log(values, most: float = LOG_SPREAD) -> bool:
    """Returns True when a linear axis would hide the small values: the largest is more
    than ``most`` times the smallest one that is not 0."""
    return spread(values) > most


def scale(fig: dict, choice: str, nbytes: bool = False, over_time: bool = False) -> str:
    """Puts ``fig``'s y axis on the scale ``choice`` ('auto', 'linear' or 'log'; auto: log
    when wants_log says the bars' values call for it; ``over_time``: a time graph's
    threshold, TIME_LOG_SPREAD); returns the scale used."""
    bars = [t for t in fig["data"] if t.get("type") == "bar"]
    if fig["layout"].get("barmode") == "stack":        # what shows is each stack's height
        values = [sum(float(v or 0) for v in column) for column in zip(*(t["y"] for t in bars))]
    else:
        values = [v for t in bars for v in (t.get("y") or ())]
    if not values:
        return "linear"
    most = TIME_LOG_SPREAD if over_time else LOG_SPREAD
    used = "log" if choice == "log" or (choice == "auto" and wants_log(values, most)) else "linear"
    if used == "log":
        if nbytes:
            log_byte_axis(fig)
        else:
            fig["layout"].get("yaxis", {}).pop("range", None)
            axis(fig, "yaxis", type="log", rangemode="normal", autorange=True, dtick=1, tick0=0,
                 tickformat="~s")
    return used
