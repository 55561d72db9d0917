"""The benchmarks' MariaDB: a throwaway server with production durability, and databases on it."""
from __future__ import annotations

import contextlib
from typing import Iterator

import sqlalchemy as sa

import throwaway_mariadb


@contextlib.contextmanager
def throwaway_server(buffer_pool: str = "1G") -> Iterator[str]:
    """Yields the URL of a fresh server (redo log flushed at every commit, as by default)."""
    with throwaway_mariadb.running(fast=False, buffer_pool=buffer_pool) as server:
        yield server.url


def create_database(admin_url: str, name: str) -> str:
    """Creates an empty utf8mb4 database; returns its URL."""
    engine = sa.create_engine(admin_url)
    with engine.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    engine.dispose()
    return f"{admin_url}/{name}?charset=utf8mb4"
