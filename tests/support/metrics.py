"""Helpers of the /metrics tests: SFTPGo lines for many users on several nodes, the figures
they must give (read the plain way, with tests/reference.py), and a scrape parsed by
prometheus_client's own parser."""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import orjson
from prometheus_client.parser import text_string_to_metric_families

from ingestion.run import Ingester
from settings import Settings
from tests import reference

OTHER = "__other__"
HOSTILE = ('quote"d', "back\\slash", "new\nline", "ünïcødé 🚀 名前", "brace}", 'x{y="z"}',
           "\\n not a newline", "tab\tand\rcr", "comma,=equals", "sp ace ", "nul\x00byte")
METHODS = ("password", "publickey", "keyboard-interactive", "no_auth_tried", "weird-method")
PROTOCOLS = ("SSH", "FTP", "DAV", "HTTP", None, "Gopher")


def _ts(t0: datetime, seconds: float) -> str:
    return (t0 + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def activity_lines(users, seed: int = 1, t0: datetime = datetime(2024, 9, 18, 3, 0, 0),
                   per_user: int = 6, spread_s: float = 3 * 86400) -> list[bytes]:
    """Returns SFTPGo 2.6/2.7 lines for ``users``: uploads and downloads (some failed, sizes
    that make the users' volumes differ), file operations, logins, failed logins with varied
    methods and protocols (some unknown or missing), bans and noise, over a few days."""
    rnd = random.Random(seed)
    out = []
    for i, user in enumerate(users):
        for j in range(per_user):
            t = _ts(t0, rnd.uniform(0, spread_s))
            r = j % 6
            base = {"level": "info", "time": t, "local_addr": "10.0.0.5:2022",
                    "username": user, "connection_id": f"SFTP_{i}_{j}", "protocol": "SFTP"}
            if r in (0, 1, 2):
                obj = {**base, "sender": "Upload" if r != 1 else "Download",
                       "remote_addr": f"198.51.100.{i % 250}:{5000 + j}", "elapsed_ms": 7,
                       "size_bytes": 1000 * (len(users) - i) + rnd.randrange(1000),
                       "file_path": f"/srv/{i}/f{j}.bin"}
                if rnd.random() < 0.2:
                    obj["error"] = "unexpected EOF"
            elif r == 3:
                obj = {**base, "sender": "Rename", "remote_addr": "198.51.100.7:1",
                       "file_path": f"/srv/{i}/a{j}", "target_path": f"/srv/{i}/b{j}"}
            elif r == 4:
                obj = {"level": "info", "time": t, "sender": "login", "ip": "198.51.100.8",
                       "username": user, "method": "password", "protocol": "SSH"}
            else:
                obj = {"level": "debug", "time": t, "sender": "connection_failed",
                       "client_ip": f"203.0.113.{rnd.randrange(250)}", "username": user,
                       "login_type": rnd.choice(METHODS), "protocol": rnd.choice(PROTOCOLS),
                       "error": "invalid credentials"}
                if obj["protocol"] is None:
                    del obj["protocol"]
            out.append(orjson.dumps(obj) + b"\n")
    for k in range(max(3, len(users) // 50)):
        out.append(orjson.dumps({"level": "info", "time": _ts(t0, rnd.uniform(0, spread_s)),
                                 "sender": "defender", "client_ip": f"203.0.113.{k % 250}",
                                 "protocol": "SSH", "event": "banned"}) + b"\n")
        out.append(orjson.dumps({"level": "debug", "time": _ts(t0, k), "sender": "SFTP",
                                 "message": f"noise {k}"}) + b"\n")
    return out


def write_log(folder: Path, lines: list[bytes], append: bool = False) -> None:
    """Writes ``lines`` to folder/sftpgo.log (appended with ``append``)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "sftpgo.log", "ab" if append else "wb") as f:
        f.writelines(lines)


def ingest(engine, folder: Path, node: str) -> None:
    """Ingests ``folder`` as ``node`` until nothing is pending (the real ingestion path)."""
    ing = Ingester(engine, Settings(log_dir=str(folder), db_url=str(engine.url), node=node))
    try:
        ing.run_until_done()
    finally:
        ing.close()


def expected(lines_by_node: dict[str, list[bytes]]) -> dict:
    """Returns what /metrics must say, from the lines by the plain reading (tests/reference):
    {"transfers"|"bytes"|"failures": {(node, user, direction): n}, "file_ops"|"logins":
    {(node, user): n}, "login_failures": {(node, protocol, method): n}, "bans": {node: n},
    "users_seen": {node: n}, "newest": {node: 'YYYY-MM-DDTHH:MM:SS.mmm'}}, every user by name."""
    out = {k: defaultdict(int) for k in ("transfers", "bytes", "failures", "file_ops", "logins",
                                         "login_failures", "bans")}
    seen, newest = defaultdict(set), {}
    for node, lines in lines_by_node.items():
        for raw in lines:
            e = reference.event_of(raw.rstrip(b"\n"))
            if e is None:
                continue
            newest[node] = max(newest.get(node, ""), e["ts"])
            kind, user = e["kind"], e["username"]
            if kind in ("upload", "download"):
                out["transfers"][(node, user, kind)] += 1
                out["bytes"][(node, user, kind)] += e["size_bytes"]
                out["failures"][(node, user, kind)] += e["failed"]
            elif kind in ("file_op", "login"):
                out["file_ops" if kind == "file_op" else "logins"][(node, user)] += 1
            elif kind == "login_failed":
                out["login_failures"][(node, e["protocol"], e["method"])] += 1
            elif kind == "ban":
                out["bans"][node] += 1
            if kind not in ("login_failed", "ban") and user:
                seen[node].add(user)
    out["users_seen"] = {n: len(s) for n, s in seen.items()}
    out["newest"] = newest
    return out


def folded(per_label: dict, given: set) -> dict:
    """Returns per-user figures {(node, user[, direction]): n}, zeros left out, with the
    users not in ``given`` (and '') summed as OTHER."""
    out: dict = defaultdict(int)
    for key, n in per_label.items():
        user = key[1] if key[1] in given else OTHER
        out[(key[0], user, *key[2:])] += n
    return {k: v for k, v in out.items() if v}


def parse(text: str) -> dict[str, dict[tuple, float]]:
    """Returns {sample name: {sorted label items: value}} of an exposition, read by
    prometheus_client's parser."""
    out: dict[str, dict] = defaultdict(dict)
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = tuple(sorted(s.labels.items()))
            assert key not in out[s.name], f"duplicate series {s.name}{key}"
            out[s.name][key] = s.value
    return dict(out)


def by(samples: dict[tuple, float], *labels: str) -> dict[tuple, float]:
    """Returns the samples keyed by the values of ``labels`` (in that order), summed."""
    out: dict = defaultdict(float)
    for key, value in samples.items():
        d = dict(key)
        out[tuple(d.get(name, "") for name in labels) if len(labels) > 1 else d.get(labels[0], "")] \
            += value
    return dict(out)
