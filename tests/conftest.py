"""Shared fixtures: databases on both backends, a throwaway MariaDB server, headless Chromium.

Fixtures:
  db_url       a fresh, empty database URL; the test runs twice, ids [sqlite] and [mariadb]
  engine       db.make_engine(db_url), migrated; disposed after the test
  sqlite_url   a fresh SQLite database URL (SQLite only)
  mariadb_url  a fresh MariaDB database URL (MariaDB only), dropped after the test
  mariadb_server  the session's MariaDB server: .url_for(name), .create_database(name),
                  .drop_database(name)
  log_dir      an empty folder for log files

The MariaDB server is started once per session, on first use (SQLite-only runs never start
it). Set TEST_MARIADB_URL=mysql+pymysql://user:pw@host:port to use an existing server
instead; that user must be allowed to create and drop databases.

If MariaDB or Chromium cannot start, the tests that need them fail: nothing here skips.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

import db

os.environ.setdefault("DASH_TEST_CHROMEPATH", "/usr/bin/chromium")

CHROME_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    # no network traffic of Chromium's own (there is no internet here anyway)
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--window-size=1920,1080",
]
MARIADB_START_TIMEOUT_S = 30
SBIN = "/usr/sbin:/sbin"  # mariadbd lives in /usr/sbin, often not on a normal user's PATH


# --- dash_duo: headless Chromium -------------------------------------------------------

def pytest_setup_options():
    """dash[testing] hook: the Chrome options of every dash_duo / dash_br browser."""
    from selenium.webdriver.chrome.options import Options

    options = Options()  # a new object each time: dash adds its own arguments to it
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    return options


def pytest_collection_modifyitems(items):
    """Marks every test that opens a browser as `browser` (select with -m)."""
    for item in items:
        if {"dash_duo", "dash_br"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


# --- MariaDB -----------------------------------------------------------------------------

class MariaDB:
    """A MariaDB server the tests may create databases on (user `dash`, over TCP)."""

    def __init__(self, server_url: sa.URL):
        self.server_url = server_url.set(database=None).update_query_dict({"charset": "utf8mb4"})
        self._admin = sa.create_engine(self.server_url, poolclass=sa.pool.NullPool)

    def url_for(self, dbname: str) -> str:
        """Returns the URL of database ``dbname`` on this server (password included)."""
        return self.server_url.set(database=dbname).render_as_string(hide_password=False)

    def create_database(self, name: str) -> None:
        self._execute(f"CREATE DATABASE `{_identifier(name)}` CHARACTER SET utf8mb4")

    def drop_database(self, name: str) -> None:
        """Drops the database, first ending the connections still using it: one left inside
        a transaction would make DROP wait for its locks forever."""
        with self._admin.connect() as conn:
            ids = conn.execute(sa.text("SELECT ID FROM information_schema.PROCESSLIST"
                                       " WHERE DB = :db AND ID <> CONNECTION_ID()"),
                               {"db": name}).scalars().all()
            for thread_id in ids:
                with contextlib.suppress(sa.exc.DBAPIError):  # it may have ended meanwhile
                    conn.exec_driver_sql(f"KILL {int(thread_id)}")
        self._execute(f"DROP DATABASE IF EXISTS `{_identifier(name)}`")

    def _execute(self, sql: str) -> None:
        with self._admin.connect() as conn:
            conn.exec_driver_sql(sql)

    def close(self) -> None:
        self._admin.dispose()


def _identifier(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", name):
        raise ValueError(f"not a safe database name: {name!r}")
    return name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tool(name: str) -> str:
    path = shutil.which(name, path=f"{os.environ.get('PATH', '')}:{SBIN}")
    if path is None:
        pytest.fail(f"{name} not found: install mariadb-server (./test.sh does it)", pytrace=False)
    return path


def _run(args: list[str], what: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"{what} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}",
                    pytrace=False)


def _server_log(base: Path, lines: int = 40) -> str:
    """The end of the server's error log and of its own output, for failure messages."""
    parts = []
    for name in ("error.log", "stdout.log"):
        try:
            text = (base / name).read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            continue
        parts.append(f"--- {base / name}\n" + "\n".join(text))
    return "\n".join(parts) or "(the server wrote no log)"


@pytest.fixture(scope="session")
def mariadb_server():
    """Starts a throwaway MariaDB server for the session (or uses TEST_MARIADB_URL)."""
    if os.environ.get("TEST_MARIADB_URL"):
        server = MariaDB(make_url(os.environ["TEST_MARIADB_URL"]))
        yield server
        server.close()
        return

    # Everything in one short folder under /tmp: a unix socket path must stay under 108 bytes.
    base = Path(tempfile.mkdtemp(prefix="mariadb-", dir="/tmp"))
    datadir, sock = base / "data", base / "sock"
    proc = None
    try:
        _run([_tool("mariadb-install-db"), "--no-defaults", f"--datadir={datadir}", "--user=root",
              "--auth-root-authentication-method=socket", "--skip-test-db"],
             "mariadb-install-db")
        port = _free_port()
        with open(base / "stdout.log", "wb") as out:
            proc = subprocess.Popen(
                [_tool("mariadbd"), "--no-defaults", f"--datadir={datadir}", "--user=root",
                 f"--socket={sock}", f"--port={port}", "--bind-address=127.0.0.1",
                 "--skip-name-resolve", "--innodb-buffer-pool-size=256M",
                 "--innodb-flush-log-at-trx-commit=2", "--character-set-server=utf8mb4",
                 "--max-connections=500", "--skip-log-bin", f"--log-error={base}/error.log"],
                stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        _wait_for_ping(proc, sock, base)

        password = uuid.uuid4().hex
        users = ("'dash'@'127.0.0.1'", "'dash'@'localhost'")  # PyMySQL's localhost is TCP
        sql = "".join(f"CREATE USER {u} IDENTIFIED BY '{password}'; "
                      f"GRANT ALL PRIVILEGES ON *.* TO {u}; " for u in users)
        _run([_tool("mariadb"), "--no-defaults", f"--socket={sock}", "-uroot", "-e", sql],
             "creating the MariaDB user")

        server = MariaDB(sa.URL.create("mysql+pymysql", username="dash", password=password,
                                       host="127.0.0.1", port=port))
        yield server
        server.close()
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it if pytest dies without tearing down."""
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _wait_for_ping(proc: subprocess.Popen, sock: Path, base: Path) -> None:
    ping = [_tool("mariadb-admin"), "--no-defaults", f"--socket={sock}", "-uroot", "ping"]
    deadline = time.monotonic() + MARIADB_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"mariadbd exited with code {proc.returncode} at start:\n"
                        f"{_server_log(base)}", pytrace=False)
        if subprocess.run(ping, capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    pytest.fail(f"mariadbd did not answer a ping within {MARIADB_START_TIMEOUT_S} s:\n"
                f"{_server_log(base)}", pytrace=False)


# --- databases ---------------------------------------------------------------------------

def _fresh_mariadb_database(server: MariaDB):
    """Yields the URL of a new, empty database; drops it afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    server.create_database(name)
    url = server.url_for(name)
    try:
        yield url
    finally:
        db.make_engine(url).dispose()  # closes the pooled connections of the test's engine
        server.drop_database(name)


def _fresh_sqlite_database(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/test.db"
    yield url
    db.make_engine(url).dispose()


@pytest.fixture
def sqlite_url(tmp_path):
    yield from _fresh_sqlite_database(tmp_path)


@pytest.fixture
def mariadb_url(mariadb_server):
    yield from _fresh_mariadb_database(mariadb_server)


@pytest.fixture(params=["sqlite", "mariadb"])
def db_url(request, tmp_path):
    """A fresh, empty database on each backend in turn."""
    if request.param == "sqlite":
        yield from _fresh_sqlite_database(tmp_path)
    else:
        yield from _fresh_mariadb_database(request.getfixturevalue("mariadb_server"))


@pytest.fixture
def engine(db_url):
    """The (cached, per URL) engine of db_url, with the schema in place."""
    eng = db.make_engine(db_url)
    db.migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def log_dir(tmp_path) -> Path:
    path = tmp_path / "logs"
    path.mkdir()
    return path
