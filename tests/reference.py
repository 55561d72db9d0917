"""A deliberately plain reading of docs/counting-rules.md, used as the oracle in tests.

It shares no code with the engine: stdlib json, one rule after another, as the contract
words them. Slow and obvious on purpose.
"""
from __future__ import annotations

import json
import re

FILE_OPS = {"Rename", "Rmdir", "Mkdir", "Symlink", "Remove", "Chmod", "Chown", "Chtimes",
            "Truncate", "Copy", "SSHCommand"}


def physical_lines(data: bytes) -> list[bytes]:
    """Returns the complete lines of a file's bytes (without newlines)."""
    return data.split(b"\n")[:-1]


def event_of(raw: bytes) -> dict | None:
    """Returns the event a line is under the contract, or None.

    Its keys: day, kind, username, size_bytes, failed, and the facts the analysis views show
    (docs/counting-rules.md): ts (as logged), action, remote_ip, protocol, file_path, elapsed_ms,
    connection_id, method, error.
    """
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(obj, dict):
        return None
    sender = obj.get("sender")
    kind, user = None, obj.get("username") or ""
    if sender == "defender":
        if obj.get("event") != "banned":
            return None
        kind, user = "ban", ""
    elif sender in ("Upload", "Download") and "size_bytes" in obj:
        kind = sender.lower()
    elif sender in FILE_OPS and "file_path" in obj:
        kind = "file_op"
    elif sender == "login":
        kind = "login"
    elif sender == "connection_failed":
        kind = "login_failed"
    elif isinstance(obj.get("message"), str) and obj["message"].startswith("User ") \
            and " logged in with" in obj["message"]:
        kind = "login"
        m = re.match(r'User "([^"]*)"', obj["message"]) or \
            re.search(r'username: "([^"]*)"', obj["message"])
        user = m.group(1) if m else ""
    if kind is None or not isinstance(obj.get("time"), str):
        return None
    size = obj.get("size_bytes") if kind in ("upload", "download") else None
    failed = 1 if kind in ("upload", "download") and obj.get("error") else 0
    return {"day": obj["time"][:10], "kind": kind, "username": user, "size_bytes": size,
            "failed": failed, "ts": obj["time"], "action": sender, **_facts(obj, kind, sender)}


def _ip_without_port(addr):
    if not isinstance(addr, str) or not addr:
        return None
    if addr.startswith("["):
        return addr[1:addr.index("]")]
    if addr.count(":") == 1:
        return addr.split(":")[0]
    return addr


def _facts(obj: dict, kind: str, sender: str) -> dict:
    """Returns the columns of docs/counting-rules.md, read the plain way."""
    ip = _ip_without_port(obj.get("remote_addr") or obj.get("ip") or obj.get("client_ip"))
    protocol = obj.get("protocol")
    method = None
    if kind == "login" and sender == "login":
        method = obj.get("method")
    elif kind == "login":                                 # the pre-2.7 text
        message = obj["message"]
        m = re.search(r'logged in with:? "([^"]*)"', message)
        method = m.group(1).split(":")[0].strip() if m else None
        m = re.search(r'(?:from ip:? |remote addr: )"([^"]*)"', message)
        ip = _ip_without_port(m.group(1)) if m else None
        protocol = "SSH" if sender == "sftpd" else sender
    elif kind == "login_failed":
        method = obj.get("login_type")
    if kind in ("upload", "download"):
        elapsed = obj.get("elapsed_ms")
    elif kind == "file_op":
        elapsed = obj.get("elapsed")
    else:
        elapsed = None
    error = obj.get("error") if kind in ("upload", "download", "login_failed") else None
    client = encrypted = None                             # insight.md: logins only
    if kind == "login" and sender == "login":
        if isinstance(obj.get("client"), str) and obj["client"]:
            client = obj["client"][:200]
        if obj.get("encrypted") is True:
            encrypted = 1
        elif obj.get("encrypted") is False:
            encrypted = 0
    elif kind == "login":
        m = re.search(r'client version "((?:[^"\\]|\\.)*)"', obj["message"])
        if m and m.group(1):
            client = json.loads('"' + m.group(1) + '"')[:200]
    return {"remote_ip": ip, "protocol": protocol, "file_path": obj.get("file_path"),
            "elapsed_ms": elapsed, "connection_id": obj.get("connection_id"),
            "method": method, "error": error[:1000] if error else None,
            "client": client, "encrypted": encrypted}


def is_malformed(raw: bytes) -> bool:
    """Returns True when a line is not a JSON object."""
    try:
        return not isinstance(json.loads(raw.decode("utf-8")), dict)
    except (UnicodeDecodeError, ValueError):
        return True


def stats(events: list[dict], start: str, end: str) -> dict:
    """Returns the contract's /api/stats figures for events between two days, inclusive."""
    ev = [e for e in events if start <= e["day"] <= end]
    users: dict[str, dict] = {}
    for e in ev:
        if e["kind"] not in ("login_failed", "ban") and e["username"]:
            u = users.setdefault(e["username"], {"username": e["username"], "uploads": 0,
                                                 "downloads": 0, "failed_transfers": 0,
                                                 "bytes_uploaded": 0, "bytes_downloaded": 0,
                                                 "file_ops": 0, "logins": 0})
            if e["kind"] == "upload":
                u["uploads"] += 1
                u["bytes_uploaded"] += e["size_bytes"]
            elif e["kind"] == "download":
                u["downloads"] += 1
                u["bytes_downloaded"] += e["size_bytes"]
            elif e["kind"] == "file_op":
                u["file_ops"] += 1
            else:
                u["logins"] += 1
            u["failed_transfers"] += e["failed"]
    count = lambda k: sum(1 for e in ev if e["kind"] == k)
    total_bytes = lambda k: sum(e["size_bytes"] for e in ev if e["kind"] == k)
    return {
        "users": len(users), "uploads": count("upload"), "downloads": count("download"),
        "transfers": count("upload") + count("download"),
        "failed_transfers": sum(e["failed"] for e in ev),
        "bytes_uploaded": total_bytes("upload"), "bytes_downloaded": total_bytes("download"),
        "file_ops": count("file_op"), "logins": count("login"),
        "login_failures": count("login_failed"), "bans": count("ban"), "per_user": users,
    }


# --- docs/api.md: security, users, the audit trail ---------------------------------------
# Events passed to these carry "pos": a sortable source position (the tests add it).

USER_KINDS = ("upload", "download", "file_op", "login")
API_KEYS = ("ts", "kind", "username", "action", "size_bytes", "failed", "remote_ip", "protocol",
            "file_path", "elapsed_ms", "method", "connection_id", "error")


def _bytes(text: str) -> bytes:
    return text.encode("utf-8")


def security(events: list[dict], start: str, end: str, limit: int = 100) -> dict:
    """Returns the /api/security body for events between two days, inclusive."""
    ev = [e for e in events if start <= e["day"] <= end]
    fails = [e for e in ev if e["kind"] == "login_failed"]
    bans = [e for e in ev if e["kind"] == "ban"]
    ips: dict[str, dict] = {}
    for e in fails + bans:
        ip = e["remote_ip"] or ""
        d = ips.setdefault(ip, {"ip": ip, "failures": 0, "names": set(), "bans": 0,
                                "first": None, "last": None})
        if e["kind"] == "ban":
            d["bans"] += 1
            continue
        d["failures"] += 1
        if e["username"]:
            d["names"].add(e["username"])
        d["first"] = e["ts"] if d["first"] is None else min(d["first"], e["ts"])
        d["last"] = e["ts"] if d["last"] is None else max(d["last"], e["ts"])
    by_ip = sorted(ips.values(), key=lambda d: (-d["failures"], -d["bans"], _bytes(d["ip"])))
    names: dict[str, dict] = {}
    for e in fails:
        d = names.setdefault(e["username"], {"failures": 0, "ips": set()})
        d["failures"] += 1
        if e["remote_ip"]:
            d["ips"].add(e["remote_ip"])

    def per(key):
        counts: dict[str, int] = {}
        for e in fails:
            counts[e[key] or ""] = counts.get(e[key] or "", 0) + 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], _bytes(kv[0])))[:limit]
    days = []
    for day in _days(start, end):
        days.append({"date": day,
                     "login_failed": sum(1 for e in fails if e["day"] == day),
                     "ban": sum(1 for e in bans if e["day"] == day)})
    return {
        "start": start, "end": end,
        "totals": {"login_failures": len(fails),
                   "ips": len({e["remote_ip"] for e in fails if e["remote_ip"]}),
                   "usernames": len({e["username"] for e in fails if e["username"]}),
                   "bans": len(bans),
                   "banned_ips": len({e["remote_ip"] for e in bans if e["remote_ip"]})},
        "by_ip": [{"ip": d["ip"], "failures": d["failures"], "usernames": len(d["names"]),
                   "bans": d["bans"], "first": d["first"], "last": d["last"]}
                  for d in by_ip[:limit]],
        "by_username": [{"username": n, "failures": d["failures"], "ips": len(d["ips"])}
                        for n, d in sorted(names.items(),
                                           key=lambda kv: (-kv[1]["failures"], _bytes(kv[0])))][:limit],
        "by_method": [{"method": m, "failures": n} for m, n in per("method")],
        "by_protocol": [{"protocol": p, "failures": n} for p, n in per("protocol")],
        "days": days,
    }


def _days(start: str, end: str) -> list[str]:
    from datetime import date, timedelta
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def api_event(e: dict) -> dict:
    """Returns an event in the shape of /api/events."""
    return {k: (bool(e[k]) if k == "failed" else e[k]) for k in API_KEYS}


def newest_first(events: list[dict]) -> list[dict]:
    return sorted(events, key=lambda e: (e["ts"], e["pos"]), reverse=True)


def audit(events: list[dict], start: str, end: str, user=None, kinds=None, ip=None,
          protocol=None, failed=None, path=None) -> list[dict]:
    """Returns /api/events' events for the filters (all pages), newest first."""
    out = []
    for e in events:
        if not start <= e["day"] <= end:
            continue
        if user is not None and e["username"] != user:
            continue
        if kinds is not None and e["kind"] not in kinds:
            continue
        if ip is not None and (e["remote_ip"] or "") != ip:
            continue
        if protocol is not None and (e["protocol"] or "") != protocol:
            continue
        if failed is not None and e["failed"] != failed:
            continue
        if path is not None and (e["file_path"] is None or path not in e["file_path"]):
            continue
        out.append(e)
    return [api_event(e) for e in newest_first(out)]


def user(events: list[dict], name: str, start: str, end: str) -> dict | None:
    """Returns the /api/users/<name> body, or None when the answer is 404."""
    mine = [e for e in events if e["username"] == name and e["kind"] in USER_KINDS]
    if not mine or not name:                 # users are non-empty names
        return None
    figures = stats(mine, start, end)["per_user"].get(name) or {
        "uploads": 0, "downloads": 0, "failed_transfers": 0, "bytes_uploaded": 0,
        "bytes_downloaded": 0, "file_ops": 0, "logins": 0}
    figures = {k: v for k, v in figures.items() if k != "username"}
    transfers = figures["uploads"] + figures["downloads"]
    volume = figures["bytes_uploaded"] + figures["bytes_downloaded"]
    totals = {"uploads": figures["uploads"], "downloads": figures["downloads"],
              "transfers": transfers, "failed_transfers": figures["failed_transfers"],
              "bytes_uploaded": figures["bytes_uploaded"],
              "bytes_downloaded": figures["bytes_downloaded"],
              "avg_bytes_per_transfer": round(volume / transfers, 2) if transfers else None,
              "file_ops": figures["file_ops"], "logins": figures["logins"]}
    ranged = [e for e in mine if start <= e["day"] <= end]
    logins = [e["ts"] for e in mine if e["kind"] == "login"]
    days = []
    for day in _days(start, end):
        on = [e for e in ranged if e["day"] == day]
        days.append({"date": day, **{k: sum(1 for e in on if e["kind"] == k) for k in USER_KINDS},
                     "bytes_uploaded": sum(e["size_bytes"] for e in on if e["kind"] == "upload"),
                     "bytes_downloaded": sum(e["size_bytes"] for e in on if e["kind"] == "download")})
    protocols: dict[str, list] = {}
    for e in ranged:
        if e["kind"] in ("upload", "download"):
            p = protocols.setdefault(e["protocol"] or "", [0, 0])
            p[0] += 1
            p[1] += e["size_bytes"]
    ips: dict[str, int] = {}
    for e in ranged:
        if e["remote_ip"]:
            ips[e["remote_ip"]] = ips.get(e["remote_ip"], 0) + 1
    return {
        "username": name, "start": start, "end": end, "totals": totals,
        "first_seen": min(e["ts"] for e in mine), "last_seen": max(e["ts"] for e in mine),
        "last_login": max(logins) if logins else None,
        "days": days,
        "protocols": [{"protocol": p, "transfers": n, "bytes": b} for p, (n, b) in
                      sorted(protocols.items(), key=lambda kv: (-kv[1][0], _bytes(kv[0])))],
        "ips": [{"ip": ip, "events": n} for ip, n in
                sorted(ips.items(), key=lambda kv: (-kv[1], _bytes(kv[0])))][:100],
        "recent": [api_event(e) for e in newest_first(ranged)][:20],
    }


# --- insight.md: countries, clients, folders, the period before, when -----------------------

def country(ip) -> str | None:
    """Returns the country of an IP by the built-in data: none for an empty, private,
    loopback, documentation or other special address."""
    import ipaddress

    import iptocc
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if addr.version == 6 and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    if addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_multicast \
            or addr.is_reserved or addr.is_unspecified or not addr.is_global:
        return None
    return iptocc.country_code(str(addr))


def security_with_countries(events: list[dict], start: str, end: str, limit: int = 100,
                            place=country) -> dict:
    """Returns /api/security's body with each IP's country and by_country."""
    body = security(events, start, end, limit)
    for d in body["by_ip"]:
        d["country"] = place(d["ip"])
    per: dict = {}
    for e in events:
        if e["kind"] == "login_failed" and start <= e["day"] <= end:
            c = per.setdefault(place(e["remote_ip"] or ""), {"failures": 0, "ips": set()})
            c["failures"] += 1
            if e["remote_ip"]:
                c["ips"].add(e["remote_ip"])
    ranked = sorted(per.items(), key=lambda kv: (-kv[1]["failures"], kv[0] is None, kv[0] or ""))
    body["by_country"] = [{"country": c, "failures": d["failures"], "ips": len(d["ips"])}
                          for c, d in ranked][:limit]
    return body


def family(client) -> str:
    """Returns a client's family, as insight.md words it."""
    if client is None:
        return "(unknown)"
    for banner in ("SSH-2.0-", "SSH-1.99-"):
        if client.startswith(banner):
            rest, stops = client[len(banner):], "_-/ "
            break
    else:
        rest, stops = client, "/ "
    for i, ch in enumerate(rest):
        if ch in stops:
            return rest[:i]
    return rest


def clients(events: list[dict], start: str, end: str) -> dict:
    """Returns the /api/clients body for events between two days, inclusive."""
    logins = [e for e in events if e["kind"] == "login" and start <= e["day"] <= end]

    def ranked(key):
        groups: dict = {}
        for e in logins:
            g = groups.setdefault(key(e), {"logins": 0, "users": set()})
            g["logins"] += 1
            if e["username"]:
                g["users"].add(e["username"])
        return sorted(groups.items(), key=lambda kv: (-kv[1]["logins"], kv[0] is None,
                                                      kv[0] or ""))
    plain = [e for e in logins if e["encrypted"] == 0]
    return {
        "start": start, "end": end,
        "families": [{"family": f, "logins": g["logins"], "users": len(g["users"])}
                     for f, g in ranked(lambda e: family(e["client"]))],
        "clients": [{"client": c, "family": family(c), "logins": g["logins"],
                     "users": len(g["users"])} for c, g in ranked(lambda e: e["client"])],
        "plaintext": {"logins": len(plain),
                      "users": sorted({e["username"] for e in plain if e["username"]})},
    }


def folder(path: str, depth: int) -> str:
    """Returns the folder of a file's path at ``depth`` (insight.md, /api/paths)."""
    sep = "\\" if "/" not in path and "\\" in path else "/"
    parts = path.split(sep)[:-1]                  # the file's name is not a folder
    lead = bool(parts) and parts[0] == "" and path.startswith(sep)
    names = parts[1:] if lead else parts
    return ((sep if lead else "") + sep.join(names[:depth]))[:255]


def paths(events: list[dict], start: str, end: str, depth: int = 2, user=None,
          limit: int = 100) -> dict:
    """Returns the /api/paths body for events between two days, inclusive."""
    acc: dict = {}
    for e in events:
        if e["kind"] not in ("upload", "download") or not start <= e["day"] <= end \
                or e["file_path"] is None or (user is not None and e["username"] != user):
            continue
        p = acc.setdefault(folder(e["file_path"], depth),
                           {"uploads": 0, "downloads": 0, "bytes_uploaded": 0,
                            "bytes_downloaded": 0, "users": set()})
        p[e["kind"] + "s"] += 1
        p["bytes_" + e["kind"] + "ed"] += e["size_bytes"]
        if e["username"]:
            p["users"].add(e["username"])
    ranked = sorted(acc.items(), key=lambda kv: (-(kv[1]["bytes_uploaded"]
                                                   + kv[1]["bytes_downloaded"]), _bytes(kv[0])))
    return {"start": start, "end": end, "depth": depth,
            "paths": [{"path": name, **{k: v for k, v in p.items() if k != "users"},
                       "users": len(p["users"])} for name, p in ranked[:limit]]}


def activity(events: list[dict], start: str, end: str) -> dict:
    """Returns the /api/activity body: events but bans per weekday (Monday first) and hour."""
    from datetime import date
    hours = [[0] * 24 for _ in range(7)]
    for e in events:
        if e["kind"] != "ban" and start <= e["day"] <= end:
            hours[date.fromisoformat(e["day"]).weekday()][int(e["ts"][11:13])] += 1
    return {"start": start, "end": end, "hours": hours}


def previous(events: list[dict], start: str, end: str) -> dict:
    """Returns /api/stats' previous: the totals of as many days just before ``start``."""
    from datetime import date, timedelta
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    n = (last - first).days + 1
    before = (first - timedelta(days=n)).isoformat(), (first - timedelta(days=1)).isoformat()
    totals = {k: v for k, v in stats(events, *before).items() if k != "per_user"}
    return {"start": before[0], "end": before[1], **totals}
