"""The benchmarks' MariaDB: a throwaway server with production durability, and databases on it."""
from __future__ import annotations

import contextlib
from typing import Iterator

from tests.support import mariadb as throwaway
from tests.support.mariadb import create_database

__all__ = ["create_database", "throwaway_server"]


@contextlib.contextmanager
def throwaway_server(buffer_pool: str = "1G") -> Iterator[str]:
    """Yields the URL of a fresh server (redo log flushed at every commit, as by default)."""
    with throwaway.running(fast=False, buffer_pool=buffer_pool) as server:
        yield server.url
