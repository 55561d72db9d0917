"""Fixtures of the dashboard tests (the shared ones are in tests/conftest.py)."""
from __future__ import annotations

import pytest

from tests.support.dashboard import closed_port as _closed_port


@pytest.fixture
def closed_port() -> int:
    """A local port where a database would refuse connections: a real, instant outage."""
    return _closed_port()
