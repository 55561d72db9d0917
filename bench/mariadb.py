"""A throwaway MariaDB server on loopback, for the benchmarks (production-like durability).

    with throwaway_server() as admin_url:   # mysql+pymysql://bench:pw@127.0.0.1:PORT
        ...
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterator

SBIN = "/usr/sbin:/sbin"


def _tool(name: str) -> str:
    path = shutil.which(name, path=f"{os.environ.get('PATH', '')}:{SBIN}")
    if path is None:
        raise RuntimeError(f"{name} not found: install mariadb-server (./test.sh does it)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def throwaway_server(buffer_pool: str = "1G") -> Iterator[str]:
    """Starts mariadbd in a temporary datadir; yields an admin URL; stops and removes it."""
    base = Path(tempfile.mkdtemp(prefix="mdb-", dir="/tmp"))
    datadir, sock = base / "data", base / "sock"
    subprocess.run([_tool("mariadb-install-db"), "--no-defaults", f"--datadir={datadir}",
                    "--user=root", "--auth-root-authentication-method=socket", "--skip-test-db"],
                   check=True, capture_output=True)
    port = _free_port()
    proc = subprocess.Popen([_tool("mariadbd"), "--no-defaults", f"--datadir={datadir}",
                             "--user=root", f"--socket={sock}", f"--port={port}",
                             "--bind-address=127.0.0.1", "--skip-name-resolve",
                             f"--innodb-buffer-pool-size={buffer_pool}", "--skip-log-bin",
                             "--character-set-server=utf8mb4", f"--log-error={base}/error.log"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ping = [_tool("mariadb-admin"), "--no-defaults", f"--socket={sock}", "-uroot", "ping"]
        deadline = time.monotonic() + 30
        while subprocess.run(ping, capture_output=True).returncode != 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mariadbd did not start; see {base}/error.log")
            time.sleep(0.1)
        password = uuid.uuid4().hex
        sql = "".join(f"CREATE USER {u} IDENTIFIED BY '{password}'; GRANT ALL PRIVILEGES ON *.* TO {u}; "
                      for u in ("'bench'@'127.0.0.1'", "'bench'@'localhost'"))
        subprocess.run([_tool("mariadb"), "--no-defaults", f"--socket={sock}", "-uroot", "-e", sql],
                       check=True, capture_output=True)
        yield f"mysql+pymysql://bench:{password}@127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
        shutil.rmtree(base, ignore_errors=True)


def create_database(admin_url: str, name: str) -> str:
    """Creates an empty utf8mb4 database; returns its URL."""
    import sqlalchemy as sa
    engine = sa.create_engine(admin_url)
    with engine.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    engine.dispose()
    return f"{admin_url}/{name}?charset=utf8mb4"
