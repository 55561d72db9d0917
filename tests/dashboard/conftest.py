"""Fixtures of the dashboard tests (the shared ones are in tests/conftest.py)."""
from __future__ import annotations

import pytest

import db
from app import create_app
from settings import Settings
from tests.support.browser import TICK_S, quiesce
from tests.support.dashboard import closed_port as _closed_port


@pytest.fixture
def closed_port() -> int:
    """A local port where a database would refuse connections: a real, instant outage."""
    return _closed_port()


@pytest.fixture
def start(dash_duo, log_dir, sqlite_url):
    """Starts the dashboard on ``log_dir`` (and SQLite unless told) in the browser."""
    def run(db_url: str = sqlite_url, path: str = "/", kiosk: bool = False, **changes):
        db.migrate(db.make_engine(db_url))      # so the tests' own reads work from the start
        app = create_app(Settings(db_url=db_url, log_dir=str(log_dir), interval_s=TICK_S,
                                  **changes), kiosk=kiosk)
        dash_duo.start_server(app)
        if path != "/":
            dash_duo.wait_for_page(url=dash_duo.server_url + path)
        return dash_duo
    yield run
    quiesce(dash_duo)
