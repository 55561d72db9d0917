"""Log lines, rules files and stored alerts for the alert tests."""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from tests.alerts import reference as ref

EPOCH = datetime(1970, 1, 1)
# the two rules most tests judge: the default brute-force rule and every ban
BRUTE_FORCE_AND_BAN = """
[[rule]]
name = "brute-force"
when = "login_failures"
over = 20
within = "10m"

[[rule]]
name = "ban"
when = "ban"
"""


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


RULES = """
[[rule]]
name = "bf"
when = "login_failures"
over = 20
within = "10m"

[[rule]]
name = "bf-name"
when = "login_failures"
per = "username"
over = 12
within = "5m"

[[rule]]
name = "bf-pair"
when = "login_failures"
per = ["ip", "username"]
over = 6
within = "2m"

[[rule]]
name = "ban"
when = "ban"

[[rule]]
name = "break-in"
when = "login_after_failures"
over = 5
within = "1h"

[[rule]]
name = "tf"
when = "transfer_failures"
over = 3
within = "10m"

[[rule]]
name = "big"
when = "bytes"
over = "5MB"
within = "1h"
kind = "upload"

[[rule]]
name = "newip"
when = "new_ip"
min_days = 7
"""


START = ms("2024-03-01T08:00:00.000")


IPS = [f"203.0.113.{i}" for i in range(1, 7)]


NAMES = ["admin", "root", "test", "Admin", "admin "]


USERS = ["alice", "bob", "carol"]


def scenario(seed: int) -> list[dict]:
    """Returns a few hours of attacks, bans, logins and transfers, plus logins over weeks for
    new_ip; lines in time order."""
    rnd = random.Random(seed)
    lines = []
    for ip in IPS:
        t = START + rnd.randrange(600_000)
        for _burst in range(rnd.randrange(2, 6)):
            for _ in range(rnd.randrange(3, 30)):
                lines.append(failed_line(t, ip, rnd.choice(NAMES)))
                t += rnd.choice((0, 500, 2_000, 10_000, 25_000, 60_000))
            t += rnd.randrange(60_000, 2_400_000)
            if rnd.random() < 0.4:
                lines.append(ban_line(t, ip))
            if rnd.random() < 0.5:
                lines.append(login_line(t + rnd.randrange(1, 3_000_000), ip, rnd.choice(USERS)))
    # the edges: 19 failures, the 20th exactly `within` after the first (outside the window:
    # (t - within, t]), a 21st 1 ms later (fires there); then 20 more exactly `within` after
    # that firing (fires again at F + within, "at or after")
    edge, t0 = "198.51.100.77", START + 3_600_000
    lines += [failed_line(t0 + 1000 * k, edge) for k in range(19)]
    lines += [failed_line(t0 + 600_000, edge), failed_line(t0 + 600_001, edge)]
    lines += [failed_line(t0 + 1_200_001, edge) for _ in range(20)]
    for user in USERS:
        t = START
        for _ in range(40):
            t += rnd.randrange(1_000, 400_000)
            lines.append(transfer_line(t, user, rnd.randrange(10**6), failed=rnd.random() < 0.3))
    for i, user in enumerate(USERS):       # new_ip: weeks of logins from home, then away
        for day in range(0, 30, 3):
            ip = "192.0.2.1" if day < 12 else f"192.0.2.{10 + day + i}"
            lines.append(login_line(START - 40 * 86400_000 + day * 86400_000 + i, ip, user))
    lines.sort(key=lambda x: x["time"])
    return lines


def expected(lines: list[dict], stored_before: dict | None = None) -> dict:
    """Returns {rule: {key tuple: [times]}} by the reference, from the lines themselves."""
    s = stored_before or {}
    fails = [(x.get("client_ip"), x["username"], ms(x["time"])) for x in lines
             if x["sender"] == "connection_failed"]
    bans = [(x["client_ip"], ms(x["time"])) for x in lines if x["sender"] == "defender"]
    logins = [(x["ip"], x["username"], ms(x["time"])) for x in lines if x["sender"] == "login"]
    transfers = [x for x in lines if x["sender"] in ("Upload", "Download")]
    return {
        "bf": ref.counting([((ip,), t, 1) for ip, _u, t in fails], 20, 600_000, s.get("bf")),
        "bf-name": ref.counting([((u,), t, 1) for _ip, u, t in fails], 12, 300_000,
                                s.get("bf-name")),
        "bf-pair": ref.counting([((ip, u), t, 1) for ip, u, t in fails], 6, 120_000,
                                s.get("bf-pair")),
        "ban": ref.each(bans + [(k[0], t) for k, ts_ in s.get("ban", {}).items() for t in ts_]),
        "break-in": ref.after_failures(logins, [(ip, t) for ip, _u, t in fails], 5, 3600_000,
                                       s.get("break-in")),
        "tf": ref.counting([((x["username"],), ms(x["time"]), 1) for x in transfers
                            if "error" in x], 3, 600_000, s.get("tf")),
        "big": ref.counting([((x["username"],), ms(x["time"]), x["size_bytes"])
                             for x in transfers if x["sender"] == "Upload" and x["size_bytes"]],
                            5_000_000, 3600_000, s.get("big")),
        "newip": ref.new_ip([(u, ip, t) for ip, u, t in logins], 7, s.get("newip")),
    }


FIELDS = {"bf": ("ip",), "bf-name": ("username",), "bf-pair": ("ip", "username"),
          "ban": ("ip",), "break-in": ("ip", "username"), "tf": ("user",), "big": ("user",),
          "newip": ("user", "ip")}


def actual(engine) -> dict:
    rows = stored(engine)
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    return {rule: by_key([r for r in rows if r["rule"] == rule], fields)
            for rule, fields in FIELDS.items()}
