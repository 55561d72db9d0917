"""Fill a folder with realistic, rotated SFTPGo logs (the CLI: python -m simulate OUT_DIR --mb 100)."""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta

from .common import AVG_LINE_BYTES, DEFAULT_MAX_BYTES, _dt
from .lines import LineFactory
from .lumberjack import LumberjackWriter


def generate_folder(log_dir: str, total_bytes: int, seed: int = 1, start: datetime | None = None,
                    lines_per_day: float | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
                    compress_every: int = 0, *, users: list[str] | None = None, n_users: int = 30,
                    hostile: bool = False, days: float | None = None,
                    **factory_kwargs) -> dict:
    """Fills ``log_dir`` with about ``total_bytes`` of lines, rotated at ``max_bytes``.

    Backup names carry the time of the last line they hold (as lumberjack would).
    ``compress_every`` = N > 0 gzips every N-th backup (1 = all; 0 = none).
    Without ``lines_per_day``, the rate is chosen so the lines span ``days`` (default 365);
    without ``start``, the lines end about now.
    Returns {"files", "backups", "gz", "lines", "bytes", "disk_bytes", "seconds",
    "first_time", "last_time", "log_dir"}.
    """
    t_begin = time.perf_counter()
    est_lines = max(1, total_bytes // AVG_LINE_BYTES)
    if lines_per_day is None:
        lines_per_day = est_lines / (days or 365.0)
    if start is None:
        start = datetime.now().replace(microsecond=0) - timedelta(days=est_lines / lines_per_day)
    fac = LineFactory(seed, users, start, lines_per_day, n_users=n_users, hostile=hostile, **factory_kwargs)
    w = LumberjackWriter(log_dir, max_bytes=max_bytes, compress=False)
    n_rot_before = len(w.rotations)
    first = fac.peek_time()
    n_lines = n_bytes = 0
    buf: list[bytes] = []
    room = max_bytes - w.size        # bytes left in the live file, buffer included
    prev_ms = fac.now_ms
    gen = fac.lines()
    try:
        while n_bytes < total_bytes:
            ln = next(gen)
            n = len(ln)
            if n > room:
                if buf:
                    w._write_all(b"".join(buf))
                    buf.clear()
                w.rotate(_dt(prev_ms))  # named after the last line it holds, as lumberjack would
                k = len(w.rotations) - n_rot_before
                if compress_every > 0 and k % compress_every == 0:
                    w.compress_file(w.rotations[-1][0])
                room = max_bytes
            prev_ms = fac._cur
            buf.append(ln)
            room -= n
            n_lines += 1
            n_bytes += n
            if len(buf) >= 16384:
                w._write_all(b"".join(buf))
                buf.clear()
        if buf:
            w._write_all(b"".join(buf))
    finally:
        w.close()
    files = [os.path.join(log_dir, f) for f in os.listdir(log_dir)]
    return {
        "log_dir": log_dir,
        "files": len(files),
        "backups": len(w.rotations) - n_rot_before,
        "gz": sum(1 for f in files if f.endswith(".gz")),
        "lines": n_lines,
        "bytes": n_bytes,
        "disk_bytes": sum(os.path.getsize(f) for f in files),
        "seconds": round(time.perf_counter() - t_begin, 3),
        "first_time": first.isoformat(timespec="milliseconds") if first else None,
        "last_time": fac.now.isoformat(timespec="milliseconds"),
    }
