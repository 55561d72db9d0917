"""Digests: once per ended period, a summary of it beside the period before, queued in the
outbox like an alert (identity: the digest and the period's start; never for a period older
than the one just ended).

Periods are aligned to the epoch in UTC (1d: UTC midnight to midnight, 7d: from a Thursday);
each bound is turned into the log's clock (this host's local time, as SFTPGo writes it) to
count the events between them.
"""
from __future__ import annotations

import hashlib
import html
from datetime import datetime, timezone

import sqlalchemy as sa

import db

from . import records
from .message import human_bytes
from .rules import Config, Digest

_FIGURES = (
    "SELECT kind, COUNT(*), SUM(failed), SUM(COALESCE(size_bytes, 0) >> 20),"
    " SUM(COALESCE(size_bytes, 0) & 1048575) FROM events WHERE ts >= :lo AND ts < :hi"
    " GROUP BY kind")
_USERS = ("SELECT COUNT(DISTINCT username) FROM events WHERE ts >= :lo AND ts < :hi"
          " AND kind IN ('upload', 'download', 'file_op', 'login')")
_TOP_USERS = (
    "SELECT username, SUM(COALESCE(size_bytes, 0) >> 20) AS hi,"
    " SUM(COALESCE(size_bytes, 0) & 1048575) AS lo FROM events"
    " WHERE ts >= :lo AND ts < :hi AND kind IN ('upload', 'download')"
    " GROUP BY username ORDER BY hi DESC, lo DESC, username LIMIT 5")
_TOP_IPS = ("SELECT remote_ip, COUNT(*) AS n FROM events WHERE ts >= :lo AND ts < :hi"
            " AND kind = 'login_failed' GROUP BY remote_ip ORDER BY n DESC, remote_ip LIMIT 5")
_ALERTS = ("SELECT id, rule, summary, at FROM alerts WHERE at >= :lo AND at < :hi"
           " ORDER BY at LIMIT 50")
_ALERT_COUNT = "SELECT COUNT(*) FROM alerts WHERE at >= :lo AND at < :hi"
FIGURES = ("users", "transfers", "uploads", "downloads", "bytes_uploaded", "bytes_downloaded",
           "failed_transfers", "login_failures", "bans")


def period(every_s: int, now_epoch: float) -> tuple[int, int]:
    """Returns (start, end) in epoch seconds of the last period that has ended."""
    end = int(now_epoch // every_s) * every_s
    return end - every_s, end


def digest_id(d: Digest, start: int) -> str:
    raw = f"digest\x1f{d.every_s}\x1f{d.channel.kind}:{d.channel.target}\x1f{start}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def _local(epoch: int) -> str:
    return datetime.fromtimestamp(epoch).isoformat(sep=" ", timespec="milliseconds")


def _utc(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def figures(conn, start: int, end: int) -> dict:
    """Returns the figures of the events in [start, end) (epoch seconds)."""
    b = {"lo": _local(start), "hi": _local(end)}
    out = dict.fromkeys(FIGURES, 0)
    for kind, n, failed, hi, lo in conn.execute(sa.text(_FIGURES), b):
        n, failed = int(n), int(failed or 0)
        nbytes = int(hi or 0) * 1048576 + int(lo or 0)
        if kind in ("upload", "download"):
            out["transfers"] += n
            out["failed_transfers"] += failed
            out[f"{kind}s"] = n
            out[f"bytes_{kind}ed"] = nbytes
        elif kind == "login_failed":
            out["login_failures"] = n
        elif kind == "ban":
            out["bans"] = n
    out["users"] = int(conn.execute(sa.text(_USERS), b).scalar() or 0)
    out["top_users"] = [{"username": u, "bytes": int(hi or 0) * 1048576 + int(lo or 0)}
                        for u, hi, lo in conn.execute(sa.text(_TOP_USERS), b)]
    out["top_ips"] = [{"ip": ip or "", "login_failures": int(n)}
                      for ip, n in conn.execute(sa.text(_TOP_IPS), b)]
    return out


def build(conn, config: Config, d: Digest, start: int, end: int) -> dict:
    """Returns the digest's body: this period's figures beside the previous one's, the alerts
    that fired in it, and the subject, text and HTML of its e-mail."""
    now, before = figures(conn, start, end), figures(conn, start - d.every_s, start)
    b = {"lo": _local(start), "hi": _local(end)}
    fired = [{"id": i, "rule": r, "summary": s, "at": records.iso(a)}
             for i, r, s, a in conn.execute(sa.text(_ALERTS), b)]
    n_fired = int(conn.execute(sa.text(_ALERT_COUNT), b).scalar() or 0)
    first = datetime.fromtimestamp(start, timezone.utc).date().isoformat()
    last = datetime.fromtimestamp(end - 1, timezone.utc).date().isoformat()
    url = f"{config.dashboard_url}/?start={first}&end={last}"
    label = first if first == last else f"{first} to {last}"
    body = {"kind": "digest", "id": digest_id(d, start), "digest": d.name,
            "every_s": d.every_s, "start": _utc(start), "end": _utc(end),
            "previous_start": _utc(start - d.every_s), "figures": now, "previous": before,
            "alerts_fired": n_fired, "alerts": fired, "url": url}
    body["subject"] = f"[SFTPGo] digest {label}: {now['transfers']:,} transfers, " \
                      f"{now['login_failures']:,} failed logins, {n_fired} alerts"
    body["text"], body["html"] = _text(body, label), _html(body, label)
    return body


def _rows(body: dict) -> list[tuple[str, str, str]]:
    n, p = body["figures"], body["previous"]
    out = []
    for k in FIGURES:
        fmt = human_bytes if k.startswith("bytes") else (lambda v: f"{v:,}")
        out.append((k.replace("_", " "), fmt(n[k]), fmt(p[k])))
    return out


def _text(body: dict, label: str) -> str:
    lines = [f"SFTPGo digest, {label} (the period before in brackets)", ""]
    lines += [f"{name}: {now} ({before})" for name, now, before in _rows(body)]
    lines += ["", "top users by bytes:"] + [
        f"  {u['username']}: {human_bytes(u['bytes'])}" for u in body["figures"]["top_users"]]
    lines += ["", "top IPs by failed logins:"] + [
        f"  {i['ip']}: {i['login_failures']:,}" for i in body["figures"]["top_ips"]]
    lines += ["", f"alerts that fired: {body['alerts_fired']}"] + [
        f"  {a['at']} {a['rule']}: {a['summary']}" for a in body["alerts"]]
    lines += ["", body["url"]]
    return "\n".join(lines) + "\n"


def _html(body: dict, label: str) -> str:
    e = html.escape
    rows = "".join(f"<tr><th align=left>{e(a)}</th><td align=right>{e(b)}</td>"
                   f"<td align=right>{e(c)}</td></tr>" for a, b, c in _rows(body))
    users = "".join(f"<li>{e(u['username'])}: {e(human_bytes(u['bytes']))}</li>"
                    for u in body["figures"]["top_users"])
    ips = "".join(f"<li>{e(i['ip'])}: {i['login_failures']:,}</li>"
                  for i in body["figures"]["top_ips"])
    alerts = "".join(f"<li>{e(a['at'])} {e(a['rule'])}: {e(a['summary'])}</li>"
                     for a in body["alerts"])
    return (f"<html><body><h3>SFTPGo digest, {e(label)}</h3><table><tr><th></th>"
            f"<th>this period</th><th>the one before</th></tr>{rows}</table>"
            f"<h4>Top users by bytes</h4><ul>{users}</ul><h4>Top IPs by failed logins</h4>"
            f"<ul>{ips}</ul><h4>Alerts that fired: {body['alerts_fired']}</h4><ul>{alerts}</ul>"
            f"<p><a href=\"{e(body['url'], quote=True)}\">Open the dashboard</a></p>"
            "</body></html>")


def queue(conn, config: Config, now_epoch: float, now: datetime | None = None) -> int:
    """Queues each digest's last ended period unless it is queued already; returns how many."""
    n = 0
    for d in config.digests:
        start, end = period(d.every_s, now_epoch)
        did = digest_id(d, start)
        if conn.execute(sa.text("SELECT 1 FROM alert_outbox WHERE id = :id"),
                        {"id": records.outbox_id(did, d.channel.name, "digest")}).first():
            continue
        body = build(conn, config, d, start, end)
        n += records.enqueue(conn, did, "digest", d.channel.name, "digest", body, "pending",
                           now_epoch)
    return n


__all__ = ["queue", "build", "period", "db"]
