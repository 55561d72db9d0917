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
import os
import re
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

import db
from tests.support import mariadb as throwaway

os.environ.setdefault("DASH_TEST_CHROMEPATH", "/usr/bin/chromium")

# dash_duo numbers its servers' ports from 58050; DASH_TEST_PORT moves that base, so two
# checkouts can run their browser tests side by side without taking each other's ports.
if os.environ.get("DASH_TEST_PORT"):
    from dash.testing.application_runners import BaseDashRunner
    BaseDashRunner._next_port = int(os.environ["DASH_TEST_PORT"])

CHROME_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    # no network traffic of Chromium's own (there is no internet here anyway)
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--window-size=1920,1080",
]


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


@pytest.fixture(scope="session")
def mariadb_server():
    """Starts a throwaway MariaDB server for the session (or uses TEST_MARIADB_URL)."""
    if os.environ.get("TEST_MARIADB_URL"):
        server = MariaDB(make_url(os.environ["TEST_MARIADB_URL"]))
        yield server
        server.close()
        return
    try:
        with throwaway.running(fast=True) as running:
            server = MariaDB(make_url(running.url))
            yield server
            server.close()
    except throwaway.StartError as exc:
        pytest.fail(str(exc), pytrace=False)


# --- databases ---------------------------------------------------------------------------

def _fresh_mariadb_database(server: MariaDB):
    """Yields the URL of a new, empty database; drops it afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    server.create_database(name)
    url = server.url_for(name)
    try:
        yield url
    finally:
        db.dispose_engines(url)  # closes the pooled connections of the test's engines
        server.drop_database(name)


def _fresh_sqlite_database(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/test.db"
    yield url
    db.dispose_engines(url)


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
