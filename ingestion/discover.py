"""Which log files exist right now: the live file and rotated backups, in any subfolder."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass


class LogDirMissing(FileNotFoundError):
    """The configured log folder does not exist."""


@dataclass(frozen=True)
class Candidate:
    """A file found in the log folder, with the stat facts identity needs."""
    path: str
    dev: int
    ino: int
    size: int          # on-disk size (compressed size for .gz)
    mtime: float
    compressed: bool
    live: bool         # the active file (<log_dir>/<name>.log): it may still grow

    @property
    def stem(self) -> str:
        """Returns the path without a trailing .gz (a backup and its gzip twin share it)."""
        return self.path[:-3] if self.compressed else self.path


def name_pattern(log_name: str) -> re.Pattern:
    """Returns the pattern of file names that belong to the log: name.log, name-<ts>.log[.gz]."""
    return re.compile(rf"^{re.escape(log_name)}(-[^/]+)?\.log(\.gz)?$")


def candidate_paths(log_dir: str, log_name: str = "sftpgo",
                    problems: dict[str, str] | None = None) -> list[Candidate]:
    """Returns every file of the log under ``log_dir`` (recursively), in path order.

    Only ``<log_dir>/<name>.log`` is live; a ``<name>.log`` in a subfolder is an archive.
    Only files that resolve inside the folder are returned: a symlink pointing out of it is
    skipped, and so is a folder that cannot be listed; each goes into ``problems`` (path ->
    reason), for the caller to report like a file it cannot read.
    """
    if not os.path.isdir(log_dir):
        raise LogDirMissing(f"log folder not found: {log_dir}")
    if problems is None:
        problems = {}
    pattern = name_pattern(log_name)
    live_path = os.path.join(log_dir, f"{log_name}.log")
    inside = _inside(log_dir)
    found = []

    def unlistable(exc: OSError) -> None:
        where = exc.filename or log_dir
        problems[where] = f"{_shown(where)}: folder not readable ({exc.strerror or exc})"

    for root, dirs, files in os.walk(log_dir, onerror=unlistable):
        dirs.sort()
        for name in files:
            m = pattern.match(name)
            if not m:
                continue
            path = os.path.join(root, name)
            try:
                if os.path.islink(path) and not inside(path):
                    problems[path] = f"{path}: points outside the log folder, not read"
                    continue
                st = os.stat(path)
            except OSError:        # vanished between listing and stat: next pass will tell
                continue
            if not os.path.isfile(path):
                continue
            found.append(Candidate(path, st.st_dev, st.st_ino, st.st_size, st.st_mtime,
                                   compressed=bool(m.group(2)), live=path == live_path))
    # One file reached by two names (a hard link, a symlink) is one candidate: the live
    # name wins, else the first path.
    found.sort(key=lambda c: (not c.live, c.path))
    unique = {}
    for c in found:
        unique.setdefault((c.dev, c.ino), c)
    return sorted(unique.values(), key=lambda c: c.path)


def _shown(path: str, limit: int = 300) -> str:
    """Returns a path short enough for a status line (its start and its end)."""
    return path if len(path) <= limit else f"{path[:limit // 2]}...{path[-limit // 2:]}"


def _inside(log_dir: str):
    """Returns a test: does a path resolve (all symlinks followed) inside ``log_dir``?"""
    base = os.path.realpath(log_dir)
    prefix = base.rstrip(os.sep) + os.sep

    def inside(path: str) -> bool:
        real = os.path.realpath(path)
        return real == base or real.startswith(prefix)
    return inside
