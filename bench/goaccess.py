"""GoAccess as a yardstick: the same SFTPGo lines read as a JSON log, reported to a JSON file.

GoAccess (C, in memory, no database, no exactly-once) reads each line as one "request" through
a JSON --log-format: ``time`` is the date and time (the milliseconds are skipped),
``remote_addr`` the host (the port skipped), ``size_bytes`` the bytes, ``username`` the
authenticated user, ``file_path`` the URL path and ``elapsed_ms`` the time taken. A line
without these keys (any line that is not a transfer) is a failed request.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess

LOG_FORMAT = json.dumps({"time": "%dT%t.%^", "remote_addr": "%h:%^", "size_bytes": "%b",
                         "username": "%e", "file_path": "%U", "elapsed_ms": "%L"})
DATE_FORMAT = "%Y-%m-%d"
TIME_FORMAT = "%H:%M:%S"


def ensure_installed() -> str:
    """Returns the path of goaccess, installing Debian's package first when it is missing."""
    path = shutil.which("goaccess")
    if path:
        return path
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(sudo + ["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-q", "goaccess"], check=True, env=env)
    path = shutil.which("goaccess")
    if not path:
        raise RuntimeError("goaccess is still missing after apt-get install goaccess")
    return path


def version() -> str:
    out = subprocess.run(["goaccess", "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0].strip().rstrip(".") if out else "GoAccess ?"


def command(paths: list[str], report: str) -> list[str]:
    """Returns the goaccess command line that reads ``paths`` and writes a JSON ``report``."""
    return ["goaccess", *paths, "--no-global-config", "--log-format", LOG_FORMAT,
            "--date-format", DATE_FORMAT, "--time-format", TIME_FORMAT, "--no-progress",
            # no format test of the first lines: a folder whose first lines are not
            # transfers (the mixed one) would stop it with "Format Errors"
            "--num-tests=0", "-o", report]


def counts(report: str) -> dict:
    """Returns the requests GoAccess counted (total, valid, failed) and the bytes it summed."""
    with open(report, encoding="utf-8") as f:
        general = json.load(f)["general"]
    return {"requests": general["total_requests"], "valid": general["valid_requests"],
            "failed": general["failed_requests"], "bandwidth": general["bandwidth"]}
