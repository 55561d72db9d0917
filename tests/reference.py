"""A deliberately plain reading of counting-rules.md, used as the oracle in tests.

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
    (analysis-api.md): ts (as logged), action, remote_ip, protocol, file_path, elapsed_ms,
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
    """Returns the columns of analysis-api.md, read the plain way."""
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
    return {"remote_ip": ip, "protocol": protocol, "file_path": obj.get("file_path"),
            "elapsed_ms": elapsed, "connection_id": obj.get("connection_id"),
            "method": method, "error": error[:1000] if error else None}


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
