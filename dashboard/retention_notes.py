"""What the views that read raw events say about retention (EVENTS_RETENTION_DAYS).

The rollups are never pruned, so /api/stats, /api/security, the overview and the rollup parts
of /api/users/<name> (totals, days, ips, protocols) are complete for any range. /api/events,
/api/events.csv, the audit page and the raw parts of /api/users/<name> (first_seen, last_seen,
last_login, recent) only have the events kept: ``info`` says
whether a range reaches past them, ``notice`` turns that into a sentence for a page.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

import db
from ingestion import retention

from .queries import _connection, _day
from .timefmt import logged_time


def oldest_kept(conn, days: int, today: date) -> date | None:
    """Returns the first day whose raw events are all kept (None: every event is kept).

    The later of the policy's cut (today minus ``days``) and how far pruning went already
    (a retention made longer later does not bring pruned events back).
    """
    cuts = [d for d in (retention.cutoff_day(days, today), retention.pruned_before(conn)) if d]
    return max(cuts, default=None)


def info(conn_or_engine, days: int, start: date, end: date, today: date,
         username: str | None = None) -> dict | None:
    """Returns the additive ``retention`` field of a raw-event answer for start..end, or
    None when retention is off and nothing was ever pruned.

    {"days": N or null, "oldest_kept": "YYYY-MM-DD", "range_truncated": bool}: truncated when
    the rollups hold events (of ``username``, when given) on a day of the range before
    ``oldest_kept``, i.e. the answer lacks some of them.
    """
    with _connection(conn_or_engine) as conn:
        kept = oldest_kept(conn, days, today)
        if kept is None:
            return None
        truncated = False
        if start < kept:
            sql = "SELECT 1 FROM daily_stats WHERE day >= :start AND day <= :end AND day < :kept"
            params = {"start": start.isoformat(), "end": end.isoformat(),
                      "kept": kept.isoformat()}
            if username is not None:
                sql += " AND username = :u"
                params["u"] = username
            truncated = conn.execute(sa.text(sql + " LIMIT 1"), params).first() is not None
    return {"days": days if days and days > 0 else None, "oldest_kept": kept.isoformat(),
            "range_truncated": truncated}


_USER_EDGES = (("first_seen", "first_day"), ("last_seen", "last_day"),
               ("last_login", "last_login_day"))


def user_info(conn_or_engine, days: int, body: dict, start: date, end: date,
              today: date) -> dict | None:
    """Returns ``info`` for a /api/users/<name> body, plus ``first_seen_day``,
    ``last_seen_day`` or ``last_login_day`` (from the rollup) for each of those times that
    is null because its day's events were pruned."""
    with _connection(conn_or_engine) as conn:
        out = info(conn, days, start, end, today, body["username"])
        if out is None:
            return None
        missing = [(k, col) for k, col in _USER_EDGES if body.get(k) is None]
        if missing:
            seen = conn.execute(db.load_sql("user_seen_days", db.dialect(conn)),
                                {"username": body["username"]}).mappings().one()
            for key, col in missing:
                if seen[col] is not None:
                    out[f"{key}_day"] = _day(seen[col])
    return out


def status(conn_or_engine, days: int) -> dict:
    """Returns the /api/status ``retention`` field: the setting, the oldest event kept, the
    day before which events were pruned and how many were."""
    with _connection(conn_or_engine) as conn:
        oldest = conn.execute(sa.text("SELECT MIN(ts) FROM events")).scalar()
        row = conn.execute(sa.text("SELECT pruned_before, events_pruned, pruned_at"
                                   " FROM events_retention WHERE id = 1")).one()
    return {"days": days if days and days > 0 else None, "oldest_event": logged_time(oldest),
            "pruned_before": _day(row[0]) if row[0] is not None else None,
            "events_pruned": int(row[1] or 0),
            "pruned_at": str(row[2]) if row[2] is not None else None}


def header(field: dict | None) -> str | None:
    """Returns the X-Retention header of /api/events.csv for an ``info`` field (None: none)."""
    if field is None:
        return None
    return (f"days={field['days'] or 0}; oldest_kept={field['oldest_kept']}; "
            f"range_truncated={'true' if field['range_truncated'] else 'false'}")


def notice(field: dict | None) -> str | None:
    """Returns the sentence a page shows above raw events when its range reaches past the
    retention (None: nothing to say)."""
    if not field or not field.get("range_truncated"):
        return None
    kept = field["oldest_kept"]
    policy = f"Raw events are kept for {field['days']} days. " if field.get("days") else ""
    return (f"{policy}Events before {kept} have been removed, so this list starts on {kept}. "
            "The totals and graphs come from the daily rollups and still cover the whole range.")
