"""The benchmark's log folders, built once and cached under bench/out.

* ``mixed``: realistic SFTPGo 2.6 traffic from simulate (about a third of the lines are events).
* ``dense``: every line a transfer (a backup target, a camera upload host): simulate's own
  Upload/Download lines, with its varied users, paths and sizes, rotated at 10.5 MB.
* ``real``: the first user's real Upload/Download lines (tests/data/msda-excerpt.log)
  repeated into one rotated file of about 80 MB: real field lengths, real paths. Each copy
  of the block repeats its times too, so 80 MB of log hold one day 1,442 times over.
* ``real-days``: the same lines and bytes, each copy of the block one day after the previous
  one, the last on the excerpt's own day (as 80 MB of such a server's log would be: times
  only go forward). Only the date in each line's "time" changes (same length), so the two
  differ in time order alone.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
SAMPLES = ROOT / "tests" / "data"
ROTATE_AT = int(10.5 * 1024 * 1024)          # the rotation size of the folders (docs/benchmarks.md)
TRANSFER = (b'"sender":"Upload"', b'"sender":"Download"')

WORKLOADS = ("mixed", "dense", "real", "real-days")


def folder(name: str, mb: int, seed: int = 1) -> Path:
    """Returns the cached folder of workload ``name`` of about ``mb`` MB, building it if needed."""
    path = OUT / f"{name}-{mb}mb-seed{seed}"
    if not (path / "done").exists():
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        build = {"mixed": _mixed, "dense": _dense, "real": _real, "real-days": _real_days}[name]
        stats = build(path, mb * 1_000_000, seed)
        (path / "done").write_text(json.dumps(stats, default=str))
    return path


def log_files(path: Path) -> list[str]:
    """Returns the log files of a workload folder, oldest first (the live file last)."""
    names = sorted(n for n in os.listdir(path) if n.endswith(".log"))
    names.sort(key=lambda n: n == "sftpgo.log")
    return [str(path / n) for n in names]


def _mixed(path: Path, size: int, seed: int) -> dict:
    import simulate
    return simulate.generate_folder(str(path), size, seed=seed, days=30)


def _dense(path: Path, size: int, seed: int) -> dict:
    import simulate
    fac = simulate.LineFactory(seed, start=datetime(2024, 9, 1), lines_per_day=15_000)
    lines = (ln for ln in fac.lines() if TRANSFER[0] in ln or TRANSFER[1] in ln)
    return _write_rotated(path, lines, size, lambda ln: json.loads(ln)["time"])


def _real_lines() -> list[bytes]:
    sample = (SAMPLES / "msda-excerpt.log").read_bytes().splitlines(keepends=True)
    return [ln for ln in sample if TRANSFER[0] in ln or TRANSFER[1] in ln]


def _real(path: Path, size: int, seed: int, days_apart: bool = False) -> dict:
    real = _real_lines()
    block = b"".join(real)
    copies = size // len(block) + 1
    if days_apart:
        # the last copy keeps the excerpt's own day, the ones before it go back a day each
        # (times after the file's mtime would be bad_time)
        last_day = date.fromisoformat(json.loads(real[-1])["time"][:10])
        day = re.compile(rb'"time":"\d{4}-\d\d-\d\d')
        data = b"".join(day.sub(b'"time":"' + (last_day - timedelta(days=copies - 1 - k))
                                .isoformat().encode(), block) for k in range(copies))
    else:
        data = block * copies
    last = json.loads(real[-1])["time"]
    (path / f"sftpgo-{last.replace(':', '-')}.log").write_bytes(data)  # one rotated file
    return {"files": 1, "lines": len(real) * copies, "bytes": len(data),
            "sample_lines": len(real), "days_apart": days_apart}


def _real_days(path: Path, size: int, seed: int) -> dict:
    return _real(path, size, seed, days_apart=True)


def _write_rotated(path: Path, lines, size: int, time_of) -> dict:
    """Writes ``lines`` into sftpgo.log rotated at ROTATE_AT (backups named by their last time)."""
    done = n = 0
    chunk: list[bytes] = []
    room = ROTATE_AT
    files = 0
    for ln in lines:
        if len(ln) > room:
            stamp = time_of(chunk[-1]).replace(":", "-")
            (path / f"sftpgo-{stamp}.log").write_bytes(b"".join(chunk))
            files += 1
            chunk, room = [], ROTATE_AT
        chunk.append(ln)
        room -= len(ln)
        done += len(ln)
        n += 1
        if done >= size:
            break
    (path / "sftpgo.log").write_bytes(b"".join(chunk))
    return {"files": files + 1, "lines": n, "bytes": done,
            "last_time": time_of(chunk[-1])}
