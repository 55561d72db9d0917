"""A throwaway MariaDB server on loopback, for the tests and the benchmarks.

    with mariadb_server.running(fast=True) as server:
        server.url      # mysql+pymysql://dash:<random>@127.0.0.1:<port> (may create databases)

Everything lives in one short folder under /tmp (a unix socket path must stay under 108
bytes) that is removed at the end. ``fast`` relaxes durability (flush the redo log once a
second), which suits tests; the benchmarks keep the production default.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

SBIN = "/usr/sbin:/sbin"   # mariadbd lives in /usr/sbin, often not on a user's PATH
START_TIMEOUT_S = 30


class StartError(RuntimeError):
    """The server could not be installed or started; the message carries its log."""


@dataclass(frozen=True)
class Server:
    url: str
    base: Path


def tool(name: str) -> str:
    """Returns the path of a MariaDB program, or raises StartError."""
    path = shutil.which(name, path=f"{os.environ.get('PATH', '')}:{SBIN}")
    if path is None:
        raise StartError(f"{name} not found: install mariadb-server (./test.sh does it)")
    return path


def _run(args: list[str], what: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise StartError(f"{what} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_log(base: Path, lines: int = 40) -> str:
    """Returns the end of the server's error log and output, for failure messages."""
    parts = []
    for name in ("error.log", "stdout.log"):
        try:
            text = (base / name).read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            continue
        parts.append(f"--- {base / name}\n" + "\n".join(text))
    return "\n".join(parts) or "(the server wrote no log)"


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it if its parent dies without tearing down."""
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _wait_for_ping(proc: subprocess.Popen, sock: Path, base: Path) -> None:
    ping = [tool("mariadb-admin"), "--no-defaults", f"--socket={sock}", "-uroot", "ping"]
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartError(f"mariadbd exited with code {proc.returncode} at start:\n"
                             f"{server_log(base)}")
        if subprocess.run(ping, capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    raise StartError(f"mariadbd did not answer a ping within {START_TIMEOUT_S} s:\n"
                     f"{server_log(base)}")


class MariaDBServer:
    """A server in folder ``base`` on a fixed port: stop() is a real outage, start() brings
    the same data back on the same port."""

    def __init__(self, base: Path, fast: bool = False, buffer_pool: str = "256M"):
        self.base = base
        self.datadir, self.sock = base / "data", base / "sock"
        self.port = _free_port()
        self.fast = fast
        self.buffer_pool = buffer_pool
        self.proc: subprocess.Popen | None = None

    def install(self) -> str:
        """Creates the data folder, starts the server and a user `dash`; returns its URL."""
        # its own temporary folder here too (passed on to the bootstrap server): a sweep of
        # /tmp, or another install at the same moment, failed it ("Error on delete of
        # '/tmp/#sql-temptable...'")
        (self.base / "tmp").mkdir(parents=True, exist_ok=True)
        _run([tool("mariadb-install-db"), "--no-defaults", f"--datadir={self.datadir}",
              "--user=root", "--auth-root-authentication-method=socket", "--skip-test-db",
              f"--tmpdir={self.base / 'tmp'}"], "mariadb-install-db")
        self.start()
        password = uuid.uuid4().hex
        users = ("'dash'@'127.0.0.1'", "'dash'@'localhost'")  # PyMySQL's localhost is TCP
        sql = "".join(f"CREATE USER {u} IDENTIFIED BY '{password}'; "
                      f"GRANT ALL PRIVILEGES ON *.* TO {u}; " for u in users)
        _run([tool("mariadb"), "--no-defaults", f"--socket={self.sock}", "-uroot", "-e", sql],
             "creating the MariaDB user")
        return f"mysql+pymysql://dash:{password}@127.0.0.1:{self.port}"

    def start(self) -> None:
        """Starts mariadbd and waits until it answers a ping (or raises StartError)."""
        args = [tool("mariadbd"), "--no-defaults", f"--datadir={self.datadir}", "--user=root",
                f"--socket={self.sock}", f"--port={self.port}", "--bind-address=127.0.0.1",
                "--skip-name-resolve", f"--innodb-buffer-pool-size={self.buffer_pool}",
                "--character-set-server=utf8mb4", "--max-connections=500", "--skip-log-bin",
                f"--log-error={self.base}/error.log", f"--tmpdir={self.base / 'tmp'}"]
        # its own temporary folder: a sweep of /tmp by another program on a shared machine
        # deleted an internal temporary table under a running query ("Error on delete")
        (self.base / "tmp").mkdir(exist_ok=True)
        if self.fast:
            args.append("--innodb-flush-log-at-trx-commit=2")
        with open(self.base / "stdout.log", "ab") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                         preexec_fn=_die_with_parent)
        _wait_for_ping(self.proc, self.sock, self.base)

    def stop(self) -> None:
        """Stops the server with SIGTERM and waits for it to exit."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@contextlib.contextmanager
def running(fast: bool = False, buffer_pool: str = "256M") -> Iterator[Server]:
    """Installs and starts a server in a temporary folder; stops it and removes the folder."""
    base = Path(tempfile.mkdtemp(prefix="mariadb-", dir="/tmp"))
    server = MariaDBServer(base, fast=fast, buffer_pool=buffer_pool)
    try:
        yield Server(server.install(), base)
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def create_database(server_url: str, name: str) -> str:
    """Creates an empty utf8mb4 database (dropping one of that name); returns its URL."""
    import sqlalchemy as sa
    if not name.isidentifier():
        raise ValueError(f"not a safe database name: {name!r}")
    engine = sa.create_engine(server_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    engine.dispose()
    return f"{server_url}/{name}?charset=utf8mb4"
