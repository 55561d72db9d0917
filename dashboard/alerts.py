"""The alerts' reads: /api/alerts, the /alerts page, the header's count of firing alerts, the
wall's list and the security page's marks (migration 017; alerts/ stores them).

Channel names are the rules file's shown names (alerts/rules.py): no password, no webhook
path or query. Every string from the log stays a string: the pages render it as text.
"""
from __future__ import annotations

import functools
import json
import re
from datetime import date

import sqlalchemy as sa

from alerts import rules as alert_rules
from alerts.message import events_url, seconds
from settings import Settings

from .params import BadParameter, parse_range
from .timefmt import day_bounds, logged_time

LIMIT, MAX_LIMIT = 100, 1000
STATES = ("fired", "firing", "resolved")
_COLUMNS = ("id, rule, rule_when, key_text, at, state, count, within_s, summary, resolved_at")


@functools.lru_cache(maxsize=8)
def config(settings: Settings) -> alert_rules.Config:
    """Returns the rules of ``settings`` (checked at start by app.py: it loads here)."""
    return alert_rules.load(settings)


def parse_limit(text: str | None) -> int:
    if text is None or text == "":
        return LIMIT
    if not (text.isascii() and text.isdigit() and len(text) <= 7) or \
            not 1 <= int(text) <= MAX_LIMIT:
        raise BadParameter(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {text[:40]!r}")
    return int(text)


def parse_filters(args, today: date, default_start: date) -> dict:
    """Returns {start, end, rule, state, limit} of the query arguments; raises BadParameter."""
    start, end = parse_range(args.get("start"), args.get("end"), today, default_start)
    rule = args.get("rule") or None
    if rule is not None and not alert_rules.NAME.fullmatch(rule):
        raise BadParameter(f"rule must be a rule name (a-z, 0-9, '_', '-'), not {rule[:40]!r}")
    state = args.get("state") or None
    if state is not None and state not in STATES:
        raise BadParameter(f"state must be one of {', '.join(STATES)}, not {state[:40]!r}")
    return {"start": start, "end": end, "rule": rule, "state": state,
            "limit": parse_limit(args.get("limit"))}


def _rows(conn, f: dict, firing_first: bool = False) -> list[dict]:
    where = ["at >= :since", "at <= :until"]
    params = day_bounds(f["start"], f["end"])
    if f.get("rule"):
        where.append("rule = :rule")
        params["rule"] = f["rule"]
    if f.get("state"):
        where.append("state = :state")
        params["state"] = f["state"]
    order = "CASE WHEN state = 'firing' THEN 0 ELSE 1 END, at DESC, id" if firing_first \
        else "at DESC, id"
    sql = (f"SELECT {_COLUMNS} FROM alerts WHERE {' AND '.join(where)} ORDER BY {order}"
           f" LIMIT {int(f['limit'])}")
    return [dict(r) for r in conn.execute(sa.text(sql), params).mappings()]


def _delivery(conn, ids: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = {i: {} for i in ids}
    if not ids:
        return out
    q = sa.text("SELECT item_id, channel, state, status FROM alert_outbox"
                " WHERE item_id IN :ids").bindparams(sa.bindparam("ids", expanding=True))
    for item, channel, state, status in conn.execute(q, {"ids": ids}):
        name = f"{channel} ({state})" if state == "resolved" else channel
        out[item][name] = status
    return out


def _shape(r: dict, delivery: dict) -> dict:
    return {"id": r["id"], "rule": r["rule"], "when": r["rule_when"], "state": r["state"],
            "key": json.loads(r["key_text"]), "at": logged_time(r["at"]),
            "count": int(r["count"]), "within_s": seconds(r["within_s"]), "summary": r["summary"],
            "resolved_at": logged_time(r["resolved_at"]), "delivery": delivery}


def firing_count(conn_or_engine) -> int:
    """Returns how many alerts are firing now."""
    sql = sa.text("SELECT COUNT(*) FROM alerts WHERE state = 'firing'")
    if isinstance(conn_or_engine, sa.Engine):
        with conn_or_engine.connect() as conn:
            return int(conn.execute(sql).scalar() or 0)
    return int(conn_or_engine.execute(sql).scalar() or 0)


def firing_by_rule(conn) -> dict[str, int]:
    """Returns {rule: alerts firing now} of the rules with one firing (any process's rules:
    the same alerts firing_count counts)."""
    return {rule: int(n) for rule, n in conn.execute(sa.text(
        "SELECT rule, COUNT(*) FROM alerts WHERE state = 'firing' GROUP BY rule"))}


def listing(engine, settings: Settings, f: dict, firing_first: bool = False) -> dict:
    """Returns the /api/alerts body for the filters ``f``."""
    with engine.connect() as conn:
        rows = _rows(conn, f, firing_first)
        delivery = _delivery(conn, [r["id"] for r in rows])
        firing = firing_count(conn)
    cfg = config(settings)
    return {"alerts": [_shape(r, delivery[r["id"]]) for r in rows],
            "rules": [r.describe() for r in cfg.rules], "firing": firing}


def page_rows(engine, settings: Settings, f: dict) -> list[dict]:
    """Returns the /alerts page's alerts: firing ones first, then newest first, each with
    the path of the events behind it (the audit trail filtered to them)."""
    body = listing(engine, settings, f, firing_first=True)
    for a in body["alerts"]:
        a["events"] = events_url("", a["when"], a["key"], a["at"], a["within_s"])
    return body["alerts"]


def firing_now(engine, limit: int = 8) -> list[dict]:
    """Returns the firing alerts, newest first (the wall's list)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            f"SELECT {_COLUMNS} FROM alerts WHERE state = 'firing' ORDER BY at DESC, id"
            f" LIMIT {int(limit)}")).mappings().all()
    return [_shape(dict(r), {}) for r in rows]


def recent(engine, since: str, limit: int = 8) -> list[dict]:
    """Returns the alerts that fired since ``since`` ('YYYY-MM-DD HH:MM:SS.mmm') or are
    firing, newest first: what the wall shows."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            f"SELECT {_COLUMNS} FROM alerts WHERE state = 'firing' OR at >= :since"
            f" ORDER BY CASE WHEN state = 'firing' THEN 0 ELSE 1 END, at DESC, id"
            f" LIMIT {int(limit)}"), {"since": since}).mappings().all()
    return [_shape(dict(r), {}) for r in rows]


def recent_count(engine, since: str) -> int:
    """Returns how many alerts that are not firing have their time since ``since``."""
    with engine.connect() as conn:
        return int(conn.execute(sa.text(
            "SELECT COUNT(*) FROM alerts WHERE at >= :since AND state <> 'firing'"),
            {"since": since}).scalar() or 0)


def fired_ips(engine, since: str, until: str) -> dict[str, list[str]]:
    """Returns {ip: [rules]} of the IPs with an alert from ``since`` to ``until``
    ('YYYY-MM-DD HH:MM:SS.mmm', both included: the security page's marks)."""
    out: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for ip, rule in conn.execute(sa.text(
                "SELECT DISTINCT ip, rule FROM alerts WHERE ip IS NOT NULL AND at >= :since"
                " AND at <= :until ORDER BY ip, rule"), {"since": since, "until": until}):
            out.setdefault(ip, []).append(rule)
    return out


_SAFE = re.compile(r"^[a-z0-9_-]+$")
