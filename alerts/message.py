"""What an alert says: its summary, its link to the events behind it, the webhook body, the
Slack-style text and the e-mail. Pure.

Usernames and IPs come from the log (attacker-controlled): the summary is plain text, the
JSON body escapes what JSON must, the e-mail's HTML part escapes every value.
"""
from __future__ import annotations

import html
from datetime import datetime, timedelta
from urllib.parse import urlencode

from .rules import format_duration
from .records import iso

KEY_FIELDS = ("ip", "username", "user", "node")


def human_bytes(n: int) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _within(seconds) -> str:
    if not seconds:
        return ""
    text = format_duration(seconds)
    for unit, word in (("d", " days"), ("h", " h"), ("m", " min"), ("s", " s")):
        if text.endswith(unit):
            n = text[:-1]
            if unit == "d" and n == "1":
                return "1 day"
            return n + word
    return text


def _shown(value: str) -> str:
    """A log value as it appears in a one-line summary: control characters made visible,
    long values cut."""
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in str(value))
    return text if len(text) <= 80 else text[:79] + "…"


def summary(when: str, key: dict, count: int, within_s, state: str = "fired",
            extra: dict | None = None) -> str:
    """Returns the one-line summary of an alert."""
    ip = _shown(key.get("ip", ""))
    who = _shown(key.get("user", key.get("username", "")))
    w = _within(within_s)
    if when == "login_failures":
        if "ip" not in key:
            return f"{count} failed logins for {who!r} within {w}"
        name = f" for {who!r}" if "username" in key else ""
        return f"{count} failed logins from {ip}{name} within {w}"
    if when == "ban":
        return f"{ip} was banned by the defender"
    if when == "login_after_failures":
        return f"login as {who!r} from {ip} after {count} failed logins within {w}"
    if when == "transfer_failures":
        return f"{count} failed transfers by {who!r} within {w}"
    if when == "bytes":
        kind = (extra or {}).get("kind", "transferred")
        return f"{who!r} {kind} {human_bytes(count)} within {w}"
    if when == "new_ip":
        days = (extra or {}).get("days")
        since = f" (user known for {days} days)" if days is not None else ""
        return f"{who!r} logged in from a new IP {ip}{since}"
    if when == "quiet":
        kinds = (extra or {}).get("kinds", "events")
        fewer = (extra or {}).get("min", 1)
        if state == "resolved":
            return f"{who!r} is active again"
        what = "no" if fewer == 1 else f"fewer than {fewer}"
        return f"{who!r}: {what} {kinds} in the last {w}"
    if when == "stale_node":
        node = _shown(key.get("node", ""))
        if state == "resolved":
            return f"node {node} is ingesting again"
        return f"node {node} has not ingested for {w}"
    return f"{when} {key}"


def events_url(base: str, when: str, key: dict, at: str, within_s) -> str:
    """Returns the address of the events behind an alert: the audit trail filtered to them,
    over the days from at - within to at (the node's overview for a stale node)."""
    if when == "stale_node":
        return f"{base}/?{urlencode({'node': key.get('node', '')})}"
    t = datetime.fromisoformat(str(at).replace("T", " "))
    first = t - timedelta(seconds=within_s or 0)
    if when == "quiet":
        first = t - timedelta(seconds=within_s or 0)
    params: list = []
    if "user" in key:
        params.append(("user", key["user"]))
    if "username" in key and when == "login_failures":
        params.append(("user", key["username"]))
    if "ip" in key:
        params.append(("ip", key["ip"]))
    kinds = {"login_failures": ["login_failed"], "ban": ["ban"],
             "login_after_failures": ["login_failed", "login"], "new_ip": ["login"],
             "bytes": ["upload", "download"], "transfer_failures": ["upload", "download"]}
    for k in kinds.get(when, []):
        params.append(("kind", k))
    if when == "transfer_failures":
        params.append(("failed", "1"))
    params += [("start", first.date().isoformat()), ("end", t.date().isoformat())]
    return f"{base}/audit?{urlencode(params)}"


def seconds(value):
    """Returns a number of seconds as an int when it is whole (600, not 600.0)."""
    if value is None:
        return None
    value = float(value)
    return int(value) if value.is_integer() else value


def payload(alert: dict, base: str, state: str | None = None) -> dict:
    """Returns the webhook body of an alert row (as alerts/records.py stores it, key parsed)."""
    key = alert["key"]
    st = state or alert["state"]
    text = alert["summary"] if st == alert["state"] else summary(
        alert["when"], key, alert["count"], alert["within_s"], st, alert.get("extra"))
    return {"id": alert["id"], "rule": alert["rule"], "when": alert["when"], "state": st,
            "key": key, "at": iso(alert["at"]), "count": alert["count"],
            "within_s": seconds(alert["within_s"]), "summary": text,
            "url": events_url(base, alert["when"], key, alert["at"], alert["within_s"])}


def slack(body: dict) -> dict:
    """Returns the Slack-style body: {"text": summary + " " + url}."""
    if body.get("kind") == "digest":
        return {"text": body["text"]}
    return {"text": f"{body['summary']} {body['url']}"}


def email_parts(body: dict) -> tuple[str, str, str]:
    """Returns (subject, text, html) of an alert's (or a digest's) e-mail."""
    if body.get("kind") == "digest":
        return body["subject"], body["text"], body["html"]
    subject = f"[SFTPGo] {body['rule']}: {body['summary']}"
    subject = " ".join(subject.split())[:250]
    key = ", ".join(f"{k}={v}" for k, v in body["key"].items())
    lines = [body["summary"], "", f"rule: {body['rule']} ({body['when']}), {body['state']}",
             f"key: {key}", f"at: {body['at']}", f"events: {body['url']}", f"id: {body['id']}"]
    e = html.escape
    rows = "".join(f"<tr><th align=left>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in (
        ("rule", f"{body['rule']} ({body['when']}), {body['state']}"), ("key", key),
        ("at", body["at"]), ("id", body["id"])))
    page = (f"<html><body><p>{e(body['summary'])}</p><table>{rows}</table>"
            f"<p><a href=\"{e(body['url'], quote=True)}\">The events behind it</a></p>"
            "</body></html>")
    return subject, "\n".join(lines) + "\n", page
