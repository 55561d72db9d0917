"""Log lines, rules files and stored alerts for the alert tests."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

EPOCH = datetime(1970, 1, 1)


def ms(text: str) -> int:
    return (datetime.fromisoformat(text.replace("T", " ")) - EPOCH) // timedelta(milliseconds=1)


def ts(ms_: int) -> str:
    """Milliseconds -> SFTPGo's 'YYYY-MM-DDTHH:MM:SS.mmm'."""
    return (EPOCH + timedelta(milliseconds=ms_)).isoformat(timespec="milliseconds")


def failed_line(t: int, ip: str, user: str = "admin") -> dict:
    return {"level": "debug", "time": ts(t), "sender": "connection_failed", "client_ip": ip,
            "username": user, "login_type": "password", "protocol": "SSH",
            "error": "invalid credentials"}


def ban_line(t: int, ip: str) -> dict:
    return {"level": "info", "time": ts(t), "sender": "defender", "client_ip": ip,
            "protocol": "SSH", "event": "banned"}


def login_line(t: int, ip: str, user: str) -> dict:
    return {"level": "info", "time": ts(t), "sender": "login", "ip": ip, "username": user,
            "method": "password", "protocol": "SSH"}


def transfer_line(t: int, user: str, size: int, kind: str = "Upload", failed: bool = False,
                  ip: str = "10.1.2.3") -> dict:
    obj = {"level": "info", "time": ts(t), "sender": kind, "remote_addr": f"{ip}:5555",
           "username": user, "connection_id": "SFTP_1", "protocol": "SFTP", "elapsed_ms": 5,
           "size_bytes": size, "file_path": f"/data/{user}/f.bin"}
    if failed:
        obj["error"] = "unexpected EOF"
    return obj


def write(path: Path, lines: list[dict], mode: str = "wb") -> None:
    with path.open(mode) as f:
        f.write(b"".join(json.dumps(x).encode() + b"\n" for x in lines))


def rules_file(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def stored(engine, rule: str | None = None) -> list[dict]:
    """Returns every stored alert (of ``rule``) as dicts, key parsed, at in ms."""
    q = "SELECT id, rule, key_text, at, state, count FROM alerts"
    params = {}
    if rule:
        q += " WHERE rule = :rule"
        params["rule"] = rule
    with engine.connect() as conn:
        rows = conn.execute(sa.text(q), params).mappings().all()
    out = []
    for r in rows:
        at = r["at"] if isinstance(r["at"], datetime) else datetime.fromisoformat(str(r["at"]))
        out.append({"id": r["id"], "rule": r["rule"], "key": json.loads(r["key_text"]),
                    "at": (at - EPOCH) // timedelta(milliseconds=1), "state": r["state"],
                    "count": int(r["count"])})
    return out


def by_key(rows: list[dict], fields: tuple) -> dict:
    """Returns {key tuple: sorted times} of stored alerts."""
    out: dict = {}
    for r in rows:
        out.setdefault(tuple(r["key"][f] for f in fields), []).append(r["at"])
    return {k: sorted(v) for k, v in out.items()}
