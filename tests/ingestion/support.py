"""Ground truth for ingestion tests: real lines written to real files, and what the DB holds."""
from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import sqlalchemy as sa

from ingestion import parse
from ingestion.run import Ingester
from settings import Settings

ROOT = Path(__file__).resolve().parents[2]
_T0 = datetime(2024, 9, 18, 3, 0, 0)


def event_line(seq: int, user: str = "alice", sender: str = "Upload", size: int = 1000,
               ms: int | None = None, error: str | None = None) -> bytes:
    """Returns a realistic 2.6 transfer line; ``seq`` goes in the path so rows can be told apart."""
    ts = (_T0 + timedelta(milliseconds=seq if ms is None else ms)).isoformat(timespec="milliseconds")
    obj = {"level": "info", "time": ts, "sender": sender, "local_addr": "172.18.0.2:2022",
           "remote_addr": "10.1.2.3:5555", "elapsed_ms": 12, "size_bytes": size, "username": user,
           "file_path": f"/srv/sftpgo/data/{user}/f{seq}.bin",
           "connection_id": "SFTP_ab12_1", "protocol": "SFTP"}
    if error:
        obj["error"] = error
    return orjson.dumps(obj) + b"\n"


def failure_line(seq: int, user: str = "admin", ip: str = "203.0.113.9",
                 method: str = "password", protocol: str | None = "SSH",
                 ms: int | None = None) -> bytes:
    """Returns a connection_failed line (a failed login)."""
    ts = (_T0 + timedelta(milliseconds=seq if ms is None else ms)).isoformat(timespec="milliseconds")
    obj = {"level": "debug", "time": ts, "sender": "connection_failed", "client_ip": ip,
           "username": user, "login_type": method, "protocol": protocol,
           "error": "invalid credentials"}
    if protocol is None:
        del obj["protocol"]
    return orjson.dumps(obj) + b"\n"


def ban_line(seq: int, ip: str = "203.0.113.9", ms: int | None = None) -> bytes:
    """Returns a defender ban line."""
    ts = (_T0 + timedelta(milliseconds=seq if ms is None else ms)).isoformat(timespec="milliseconds")
    return orjson.dumps({"level": "info", "time": ts, "sender": "defender", "client_ip": ip,
                         "protocol": "SSH", "event": "banned"}) + b"\n"


def noise_line(seq: int) -> bytes:
    """Returns a debug line that is not an event."""
    ts = (_T0 + timedelta(milliseconds=seq)).isoformat(timespec="milliseconds")
    return orjson.dumps({"level": "debug", "time": ts, "sender": "SFTP",
                         "connection_id": "SFTP_ab12_1",
                         "message": f"transfer added, id: {seq}, active transfers: 1"}) + b"\n"


def expected_events(lines) -> Counter:
    """Returns the multiset of event rows the counting rules give for complete lines."""
    out = Counter()
    for line in lines:
        r = parse.classify(line.rstrip(b"\n"))
        if type(r) is tuple:
            out[(r[0], r[2], r[3], r[4], r[5], r[9])] += 1
    return out


def db_events(engine) -> Counter:
    """Returns the multiset of (ts, kind, username, size_bytes, failed, file_path) in events."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT ts, kind, username, size_bytes, failed, file_path FROM events")).all()
    return Counter((_ts(r[0]), r[1], r[2], r[3], int(r[4]), r[5]) for r in rows)


def rare_mismatch(engine) -> list[str]:
    """Returns how events_rare (MySQL/MariaDB, migration 013) differs from the rare events it
    must mirror, a key each (failed ones, non-transfer kinds); [] when it mirrors them, and
    on SQLite, which has no such table (its partial indexes are the same rows)."""
    if engine.dialect.name != "mysql":
        return []
    with engine.connect() as conn:
        want = {(r[0], r[1], _ts(r[2]) if r[3] else None,
                 None if r[4] in ("upload", "download") else r[4],
                 None if r[4] in ("upload", "download") else _ts(r[2]))
                for r in conn.execute(sa.text(
                    "SELECT file_id, start_offset, ts, failed, kind FROM events"
                    " WHERE failed = 1 OR kind NOT IN ('upload', 'download')"))}
        have = {(r[0], r[1], None if r[2] is None else _ts(r[2]), r[3],
                 None if r[4] is None else _ts(r[4]))
                for r in conn.execute(sa.text(
                    "SELECT file_id, start_offset, failed_ts, rare_kind, rare_ts"
                    " FROM events_rare"))}
    return [f"missing {k}" for k in sorted(want - have, key=str)] + \
        [f"extra {k}" for k in sorted(have - want, key=str)]


def _ts(v) -> str:
    return v if isinstance(v, str) else v.isoformat(sep=" ", timespec="milliseconds")


def scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def total_lines(engine) -> int:
    """Returns the lines consumed over all checkpoints."""
    return scalar(engine, "SELECT COALESCE(SUM(line_count), 0) FROM checkpoints")


def ingester(engine, log_dir, seam=None, **kw) -> Ingester:
    return Ingester(engine, Settings(log_dir=str(log_dir), db_url=str(engine.url), **kw), seam=seam)


def run_all(engine, log_dir, **kw):
    """Runs passes until nothing is pending (a fresh Ingester: nothing carried over in memory);
    returns the progress of the run."""
    ing = ingester(engine, log_dir, **kw)
    try:
        return ing.run_until_done()
    finally:
        ing.close()


class LogWriter:
    """Writes lines like lumberjack does (append, rename-then-create rotation) and remembers them."""

    def __init__(self, log_dir: Path, name: str = "sftpgo"):
        self.dir = Path(log_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.written: list[bytes] = []       # every complete line, in write order
        self.rotations = 0

    @property
    def live(self) -> Path:
        return self.dir / f"{self.name}.log"

    def write(self, *lines: bytes) -> None:
        with open(self.live, "ab") as f:
            for line in lines:
                f.write(line)
        self.written.extend(lines)

    def write_raw(self, data: bytes) -> None:
        with open(self.live, "ab") as f:
            f.write(data)

    def rotate(self, create: bool = True) -> Path:
        self.rotations += 1
        backup = self.dir / f"{self.name}-2024-09-18T04-00-{self.rotations:02d}.000.log"
        ino = os.stat(self.live).st_ino
        os.rename(self.live, backup)
        if create:
            self.live.touch()
            assert os.stat(self.live).st_ino != ino, "rotation must give the live file a new inode"
        assert os.stat(backup).st_ino == ino
        return backup


def gzip_file(path: Path, remove: bool = True) -> Path:
    """Gzips ``path`` to ``path.gz`` like lumberjack's mill (write the gz, then delete)."""
    gz = Path(str(path) + ".gz")
    with open(path, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    if remove:
        os.remove(path)
    return gz


def run_cli(*args, env=None, timeout=120) -> subprocess.CompletedProcess:
    """Runs ``python ingest.py args`` in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, str(ROOT / "ingest.py"), *args], cwd=ROOT,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


def undo_018(engine) -> None:
    """Takes a database back to before migration 018 (its tables and columns dropped, its
    version forgotten): as a build of the previous round left it."""
    with engine.begin() as conn:
        for table in ("path_daily", "login_clients_daily", "events_hourly", "rollup_coverage"):
            conn.exec_driver_sql(f"DROP TABLE {table}")
        conn.exec_driver_sql("ALTER TABLE events DROP COLUMN client")
        conn.exec_driver_sql("ALTER TABLE events DROP COLUMN encrypted")
        conn.exec_driver_sql("DELETE FROM schema_version WHERE version = 18")
