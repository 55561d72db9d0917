"""The URL is the state: the query string's range, node filter, audit filters and kiosk flag,
read and written as plain data (no Dash here, so the tests call these directly).

A range is a *spec*, kept as the URL says it, and resolved against today each time it is
used, so a rolling range stays rolling (dashboard/span.py reads it, as the API does):

- ``hours=N``: the last N hours, the hour under way included (the preset "Last 24 hours");
- ``days=N``: the last N days, today included (the presets Today, 7 and 30 days); with
  ``ago=K`` the N days that end K days before today (the preset "Yesterday": days=1&ago=1);
- ``start``/``end`` may carry a time of day (``2024-09-18T03:00``): a window of minutes;
- ``start=A`` with no end: A to today (the end follows the clock; "This year", "Everything");
- ``start=A&end=B``: that fixed range; ``end=B`` alone: the default start to B;
- nothing: the default range (the later of DASHBOARD_DEFAULT_START and the first day with
  data, to today), or the wall's last 30 days in kiosk mode.
"""
from __future__ import annotations

from datetime import date
from urllib.parse import parse_qsl, urlencode

from werkzeug.datastructures import MultiDict

from dashboard import span
from dashboard.params import MAX_RANGE_DAYS, RangeError, parse_nodes

RANGE_KEYS = span.RANGE_KEYS
NODE_KEY = "node"                     # repeatable, as the API takes it: node=a&node=b
AUDIT_KEYS = ("user", "kind", "ip", "protocol", "failed", "path")
SHARED_KEYS = RANGE_KEYS + (NODE_KEY, "kiosk", "cycle", "every")   # kept between pages
KIOSK_DAYS = 30


def params(search: str | None) -> list[tuple[str, str]]:
    """Returns the query string's (key, value) pairs, in order, blanks kept."""
    return parse_qsl((search or "").lstrip("?"), keep_blank_values=True)


def first(search: str | None, key: str) -> str | None:
    """Returns the first value of ``key`` in the query string, or None."""
    return next((v for k, v in params(search) if k == key), None)


def range_spec(search: str | None) -> dict:
    """Returns the range the query string asks for: {'hours': 'N'}, {'days': 'N'} (with
    'ago' when given), {'start', 'end'} (either may be missing) or {} for the default; hours
    win over days, days over start/end. Values stay text: resolve() judges them."""
    hours, days, ago, start, end = (first(search, k) for k in ("hours", "days", "ago", "start",
                                                                "end"))
    if hours is not None:
        return {"hours": hours}
    if days is not None:
        return {"days": days} if ago is None else {"days": days, "ago": ago}
    return {k: v for k, v in (("start", start), ("end", end)) if v is not None}


def node_values(search: str | None) -> list[str]:
    """Returns the query string's node= values as written (repeats dropped), [] for none."""
    return list(dict.fromkeys(v for k, v in params(search) if k == NODE_KEY))


def nodes_of(search: str | None) -> tuple[str, ...] | None:
    """Returns the nodes the query string filters on (None: no node=, every node); raises
    BadParameter (dashboard/params.py) for a value that cannot name a node, as the API does."""
    return parse_nodes(MultiDict(params(search)))


def parse_days(text: str) -> int:
    """Returns the N of days=N (1..MAX_RANGE_DAYS); raises RangeError."""
    if not (text.isascii() and text.isdigit() and len(text) <= 6) \
            or not 1 <= int(text) <= MAX_RANGE_DAYS:
        raise RangeError(f"days must be a whole number from 1 to {MAX_RANGE_DAYS:,}, "
                         f"not {text[:40]!r}")
    return int(text)


def resolve(spec: dict, today: date, default_start: date, now=None) -> span.Span:
    """Returns the span of ``spec`` on ``today`` (``now``: the clock of hours=); raises
    RangeError for a value that cannot be a range (not a date, days out of bounds, start
    after end, over a century). A span unpacks as (start, end)."""
    return span.resolve(spec, today, default_start, now)


def picked_spec(start: date, end: date, today: date) -> dict:
    """Returns the spec of a range picked in the calendar: an end of today is written as no
    end, so the range goes on following the clock (as it did before the URL held it)."""
    return {"start": start.isoformat()} if end == today else \
        {"start": start.isoformat(), "end": end.isoformat()}


def with_params(search: str | None, changes: dict) -> str:
    """Returns the query string ``search`` with ``changes`` applied: a key mapped to None or
    '' is removed, a list becomes repeated keys, other keys keep their place and value."""
    kept = [(k, v) for k, v in params(search) if k not in changes]
    for key, value in changes.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        kept += [(key, str(v)) for v in values if v not in (None, "")]
    return "?" + urlencode(kept) if kept else ""


def range_changes(spec: dict) -> dict:
    """Returns the query changes that write ``spec`` (and remove the other range keys)."""
    return {key: spec.get(key) for key in RANGE_KEYS}


def shared_search(search: str | None) -> str:
    """Returns the part of the query string every page shares (range, kiosk, playlist)."""
    return with_params("?" + urlencode([(k, v) for k, v in params(search)
                                         if k in SHARED_KEYS]), {})


def store_query(store: dict | None) -> str:
    """Returns the query string that names the range and node filter of RANGE_STORE, for a
    link that keeps them ('?days=7&node=a'; '' for the default range of every node)."""
    store = store or {}
    return with_params("", {**range_changes(store.get("spec") or {}),
                            NODE_KEY: list(store.get("nodes") or [])})
