"""What a range is: whole days, or a window of hours and minutes within them. Pure: no SQL.

A range is asked for with these keys (the pages' query string and every API's arguments):

- ``start=`` and ``end=``: days, both included (``YYYY-MM-DD``); either may carry a time of
  day instead (``YYYY-MM-DDTHH:MM``: from that minute; to the end of that minute), which
  makes the range a *window*;
- ``days=N``: the last N days, today included; with ``ago=K``, the N days that end K days
  before today (``days=1&ago=1`` is yesterday);
- ``hours=N``: the last N hours, a rolling window of whole hours: the hour now under way and
  the N - 1 before it.

A whole-day range is read from the daily rollups, a window from the raw events (by the ts
index), so a window is bounded: MAX_HOURS rolling, MAX_WINDOW_DAYS with times of day.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from .params import MAX_RANGE_DAYS, RangeError, check_range, parse_date

MAX_HOURS = 168                 # hours=: a week
MAX_WINDOW_DAYS = 31            # start/end with a time of day
RANGE_KEYS = ("start", "end", "days", "ago", "hours")
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$", re.ASCII)
_WHOLE = re.compile(r"^[0-9]{1,6}$", re.ASCII)
ONE_MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class Span:
    """A range: the days ``start``..``end`` (both included), and for a window the times
    ``since`` (included) to ``until`` (excluded) within them; None for whole days."""
    start: date
    end: date
    since: datetime | None = None
    until: datetime | None = None

    @property
    def window(self) -> bool:
        return self.since is not None

    @property
    def first(self) -> datetime:
        """The first moment of the range."""
        return self.since if self.since is not None else datetime.combine(self.start, time())

    @property
    def last(self) -> datetime:
        """The moment just after the range."""
        return self.until if self.until is not None else \
            datetime.combine(self.end + timedelta(days=1), time())

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def minutes(self) -> int:
        return round((self.last - self.first).total_seconds() / 60)

    def bounds(self) -> dict:
        """Returns the bind parameters since/until: its first and last millisecond, as stored."""
        return {"since": stored(self.first), "until": stored(self.last - ONE_MS)}

    def __iter__(self):
        """(start, end): a span unpacks as the pair of days it covers."""
        return iter((self.start, self.end))

    def store(self) -> dict:
        """Returns the span as the pages keep it (RANGE_STORE): ISO strings."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "since": self.since.isoformat(timespec="minutes") if self.since else None,
                "until": self.until.isoformat(timespec="minutes") if self.until else None}


def stored(moment: datetime) -> str:
    """Returns a moment as the events table stores ts: 'YYYY-MM-DD HH:MM:SS.mmm'."""
    return f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond // 1000:03d}"


def of_store(store: dict) -> Span:
    """Returns the span kept in a page's store (Span.store); raises RangeError if it is not one."""
    try:
        start, end = date.fromisoformat(store["start"][:10]), date.fromisoformat(store["end"][:10])
        since = datetime.fromisoformat(store["since"]) if store.get("since") else None
        until = datetime.fromisoformat(store["until"]) if store.get("until") else None
    except (KeyError, TypeError, ValueError):
        raise RangeError("the page's range is not one: reload the page") from None
    return Span(start, end, since, until)


def whole(start: date, end: date) -> Span:
    return Span(start, end)


def _count(text, name: str, low: int, high: int) -> int:
    if not (isinstance(text, str) and _WHOLE.fullmatch(text) and low <= int(text) <= high):
        shown = text[:40] if isinstance(text, str) else text
        raise RangeError(f"{name} must be a whole number from {low} to {high:,}, not {shown!r}")
    return int(text)


def parse_moment(text, name: str) -> tuple[date, datetime | None]:
    """Returns (its day, its minute or None) of a start or end: 'YYYY-MM-DD' or
    'YYYY-MM-DDTHH:MM'; raises RangeError naming ``name``."""
    if isinstance(text, str) and _MOMENT.fullmatch(text):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise RangeError(f"{name} {text!r} is not a time of the calendar") from None
        return moment.date(), moment
    if isinstance(text, str) and len(text) > 10 and text[10:11] == "T":
        raise RangeError(f"{name} must be a date written YYYY-MM-DD or a minute written "
                         f"YYYY-MM-DDTHH:MM, not {text[:40]!r}")
    return parse_date(text, name), None


def hours_window(hours: int, now: datetime) -> Span:
    """Returns the last ``hours`` hours at ``now``: the hour under way and those before it."""
    until = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    since = until - timedelta(hours=hours)
    return Span(since.date(), (until - ONE_MS).date(), since, until)


def resolve(spec: dict, today: date, default_start: date, now: datetime | None = None) -> Span:
    """Returns the span ``spec`` asks for (keys as in RANGE_KEYS, values as written) on
    ``today`` (``now``: the clock of a rolling window); raises RangeError for a value that
    cannot be, or for keys that ask for two ranges at once."""
    given = [k for k in ("hours", "days") if spec.get(k) is not None]
    if spec.get("start") is not None or spec.get("end") is not None:
        given.append("start/end")
    if len(given) > 1:
        raise RangeError(f"give one of hours=, days= or start=/end=, not {' and '.join(given)}")
    if spec.get("ago") is not None and "days" not in given:
        raise RangeError("ago= counts back from days=: give days= with it")
    if "hours" in given:
        return hours_window(_count(spec["hours"], "hours", 1, MAX_HOURS),
                            now or datetime.combine(today, datetime.now().time()))
    if "days" in given:
        days = _count(spec["days"], "days", 1, MAX_RANGE_DAYS)
        ago = _count(spec["ago"], "ago", 0, MAX_RANGE_DAYS) if spec.get("ago") is not None else 0
        end = today - timedelta(days=ago)
        return whole(*check_range(end - timedelta(days=days - 1), end))
    start, since = parse_moment(spec["start"], "start") if spec.get("start") \
        else (default_start, None)
    end, until = parse_moment(spec["end"], "end") if spec.get("end") else (today, None)
    if not spec.get("start") and start > end:        # end=B alone, before the default start
        start = end
    if since is None and until is None:
        return whole(*check_range(start, end))
    first = since or datetime.combine(start, time())
    after = until + timedelta(minutes=1) if until \
        else datetime.combine(end + timedelta(days=1), time())
    if first >= after:
        raise RangeError(f"start {spec['start']} is after end {spec['end']}: pick a start "
                         "before the end")
    if after - first > timedelta(days=MAX_WINDOW_DAYS):
        raise RangeError(f"a range with a time of day spans at most {MAX_WINDOW_DAYS} days: "
                         "give whole days (YYYY-MM-DD) for a longer one")
    return Span(first.date(), (after - ONE_MS).date(), first, after)


def parse(args, today: date, default_start: date, now: datetime | None = None) -> Span:
    """Returns the span of request arguments ``args`` (a mapping with .get); raises
    RangeError. A key given empty counts as not given, as start= and end= always did."""
    return resolve({k: args.get(k) or None for k in RANGE_KEYS}, today, default_start, now)


# --- words ---------------------------------------------------------------------------------

def plural(n: int, word: str) -> str:
    """Returns '1 day', '2 days', '1,004 days'."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def short_moment(moment: datetime, with_day: bool = True) -> str:
    """Returns 'Sep 18 03:00' (or '03:00')."""
    return f"{moment:%b} {moment.day} {moment:%H:%M}" if with_day else f"{moment:%H:%M}"
