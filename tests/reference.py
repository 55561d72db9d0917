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
    """Returns the event a line is under the contract, or None."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(obj, dict):
        return None
    sender = obj.get("sender")
    kind, user = None, obj.get("username") or ""
    if sender in ("Upload", "Download") and "size_bytes" in obj:
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
            "failed": failed}


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
        if e["kind"] != "login_failed" and e["username"]:
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
        "login_failures": count("login_failed"), "per_user": users,
    }
