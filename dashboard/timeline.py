"""Time buckets chosen for the range, as Grafana's auto interval does, and their counts.

A range of up to AUTO_SUBDAY_DAYS days is drawn in buckets of part of a day (one day: 24
hourly bars; a week: six-hourly; a few hours: 5 to 30 minutes), a longer one by day, ISO
week or month (figures.buckets). Sub-day counts come from the raw events, grouped by the
minute or the hour of ``ts`` over one range of the ts index (a day of a busy server is a few
thousand rows, a week a few tens of thousands: 4 and 30 ms on SQLite, bench/bench_buckets.py);
the daily rollups cannot split a day. Events past the retention are gone: a range that
reaches before the oldest kept day falls back to days (``fallback``), which the rollups hold.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import db

from . import figures
from .node_scope import node_params, scoped
from .params import BadParameter
from .queries import _connection, exact_sum
from .span import Span

# sub-day buckets, finest first: name -> minutes
SUBDAY = {"5m": 5, "10m": 10, "15m": 15, "30m": 30, "hour": 60, "3h": 180, "6h": 360,
          "12h": 720}
DAYS = ("day", "week", "month")
NAMES = tuple(SUBDAY) + DAYS
ALIASES = {"1h": "hour", "5min": "5m", "10min": "10m", "15min": "15m", "30min": "30m",
           "minute": "5m"}
# the auto interval: the finest bucket for a range of at most this many minutes
AUTO = ((2 * 60, "5m"), (4 * 60, "10m"), (6 * 60, "15m"), (12 * 60, "30m"), (48 * 60, "hour"),
        (96 * 60, "3h"), (8 * 24 * 60, "6h"))
AUTO_SUBDAY_DAYS = 8
MAX_SUBDAY_DAYS = 31            # a sub-day bucket asked for by name (/api/stats bucket=)
MAX_SUBDAY_BUCKETS = 10_000

ALL_KINDS = ("upload", "download", "file_op", "login", "login_failed", "ban")
USER_KINDS = ("upload", "download", "file_op", "login")
TITLES = {"5m": "5 minutes", "10m": "10 minutes", "15m": "15 minutes", "30m": "30 minutes",
          "hour": "hour", "3h": "3 hours", "6h": "6 hours", "12h": "12 hours",
          "day": "day", "week": "week", "month": "month"}


def auto(span: Span) -> str:
    """Returns the bucket that keeps the range to about 12-48 bars (sub-day up to
    AUTO_SUBDAY_DAYS days; then days, weeks, months as figures.bucket_for)."""
    minutes = span.minutes
    for most, name in AUTO:
        if minutes <= most:
            return name
    return figures.bucket_for(span.days)


def parse(text: str | None, span: Span) -> str | None:
    """Returns the bucket named by /api/stats' ``bucket=`` (None when not given; 'auto'
    chooses); raises BadParameter for a name it does not know or a sub-day bucket over a
    range it would make too long."""
    if text is None:
        return None
    name = ALIASES.get(text, text)
    if name == "auto":
        return auto(span)
    if name not in NAMES:
        raise BadParameter(f"bucket {text[:40]!r} is not one of auto, {', '.join(NAMES)}")
    if name in SUBDAY:
        if span.last - span.first > timedelta(days=MAX_SUBDAY_DAYS):
            raise BadParameter(f"bucket={name} needs a range of at most {MAX_SUBDAY_DAYS} days "
                               f"(this one has {span.days:,}): use day, week, month or auto")
        if span.minutes / SUBDAY[name] > MAX_SUBDAY_BUCKETS:
            raise BadParameter(f"bucket={name} would make over {MAX_SUBDAY_BUCKETS:,} buckets: "
                               "use a larger one or auto")
    return name


def title(bucket: str, what: str = "Activities") -> str:
    """Returns a time graph's title: 'Activities by hour', 'Failed logins per 10 minutes'."""
    if bucket == "week":
        return f"{what} by week (weeks start Monday)"
    if bucket in SUBDAY and SUBDAY[bucket] != 60:
        return f"{what} per {TITLES[bucket]}"
    return f"{what} by {TITLES[bucket]}"


# --- slots -------------------------------------------------------------------------------

def floor(moment: datetime, bucket: str) -> datetime:
    """Returns the start of the sub-day bucket ``moment`` is in (buckets start at midnight)."""
    minutes = SUBDAY[bucket]
    into = moment.hour * 60 + moment.minute
    return datetime.combine(moment.date(), time()) + timedelta(minutes=into - into % minutes)


def slots(span: Span, bucket: str) -> list[datetime]:
    """Returns the start of every bucket of the span, the first one's floored."""
    step = timedelta(minutes=SUBDAY[bucket])
    out, at = [], floor(span.first, bucket)
    while at < span.last:
        out.append(at)
        at += step
    return out


def _grain(bucket: str) -> int:
    """Returns how many characters of a stored ts name the groups read: the minute's 16 or
    the hour's 13."""
    return 16 if SUBDAY[bucket] < 60 else 13


def _moment(prefix: str) -> datetime:
    prefix = str(prefix)
    return datetime.fromisoformat(prefix[:10] + "T" + (prefix[11:] + ":00")[:5])


# --- reads -------------------------------------------------------------------------------

def read(conn_or_engine, span: Span, bucket: str, nodes=None,
         username: str | None = None) -> list[tuple]:
    """Returns (prefix, kind, events, bytes, failed) rows of the span's events grouped by
    their minute or hour (the bucket's grain) and kind; of one user's user kinds when
    ``username`` is given."""
    params = {**span.bounds(), "chars": _grain(bucket), **node_params(nodes)}
    name = "window_counts"
    if username is not None:
        name, params["username"] = "window_user_counts", username
    with _connection(conn_or_engine) as conn:
        rows = conn.execute(scoped(name, db.dialect(conn), nodes), params).all()
    return [(prefix, kind, int(events), exact_sum(hi, lo), int(failed or 0))
            for prefix, kind, events, hi, lo, failed in rows]


def bucketed(rows, span: Span, bucket: str, keys) -> list[dict]:
    """Returns one dict per bucket of the span, zeros included: 'start' and 'end' (its first
    and last millisecond within the span, as logged), each kind of ``keys`` its events, and
    'bytes_uploaded'/'bytes_downloaded' and 'total'."""
    starts = slots(span, bucket)
    step = timedelta(minutes=SUBDAY[bucket])
    out = {s: {"start": _logged(max(s, span.first)),
               "end": _logged(min(s + step, span.last) - timedelta(milliseconds=1)),
               **dict.fromkeys(keys, 0), "bytes_uploaded": 0, "bytes_downloaded": 0,
               "total": 0} for s in starts}
    for prefix, kind, events, nbytes, _failed in rows:
        cell = out.get(floor(_moment(prefix), bucket))
        if cell is None:
            continue
        if kind in keys:
            cell[kind] += events
            cell["total"] += events
        if kind == "upload":
            cell["bytes_uploaded"] += nbytes
        elif kind == "download":
            cell["bytes_downloaded"] += nbytes
    return list(out.values())


def _logged(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}"


def day_buckets(days: list[dict], bucket: str) -> list[dict]:
    """Returns the per-day rows (the contract's ``days``) as buckets of day, week or month,
    in the shape of ``bucketed`` (start, end: days)."""
    if bucket == "day":
        return [{"start": d["date"], "end": d["date"],
                 **{k: v for k, v in d.items() if k != "date"}} for d in days]
    return [{k: v for k, v in b.items() if k != "slot"} for b in figures.buckets(days, bucket)]


def rows_for(conn_or_engine, span: Span, days: list[dict], nodes=None,
             username: str | None = None, retention_days: int = 0,
             today: date | None = None) -> tuple[list[dict], str, str | None]:
    """Returns (rows, bucket, note) of a page's time graph: the auto bucket's rows (from the
    events for a sub-day bucket, else ``days`` summed), and a note when a sub-day bucket
    fell back to days because the range's events are past the retention."""
    bucket = auto(span)
    if bucket not in SUBDAY:
        return day_buckets(days, bucket), bucket, None
    with _connection(conn_or_engine) as conn:
        if not span.window:
            kept = fallback(conn, span, retention_days, today or date.today())
            if kept is not None:
                return (day_buckets(days, "day"), "day",
                        f"by day: the events before {kept.isoformat()} are past the retention")
        rows = read(conn, span, bucket, nodes, username)
    keys = USER_KINDS if username is not None else ALL_KINDS
    return bucketed(rows, span, bucket, keys), bucket, None


def fallback(conn, span: Span, retention_days: int, today: date) -> date | None:
    """Returns the first day whose events are all kept when the span starts before it and
    the rollups hold events before it (its sub-day buckets would miss them), else None."""
    from . import retention_notes
    info = retention_notes.info(conn, retention_days, span.start, span.end, today)
    if info is None or not info["range_truncated"]:
        return None
    return date.fromisoformat(info["oldest_kept"])
