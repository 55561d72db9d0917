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


def candidate_paths(log_dir: str, log_name: str = "sftpgo") -> list[Candidate]:
    """Returns every file of the log under ``log_dir`` (recursively), in path order.

    Only ``<log_dir>/<name>.log`` is live; a ``<name>.log`` in a subfolder is an archive.
    """
    if not os.path.isdir(log_dir):
        raise LogDirMissing(f"log folder not found: {log_dir}")
    pattern = name_pattern(log_name)
    live_path = os.path.join(log_dir, f"{log_name}.log")
    found = []
    for root, dirs, files in os.walk(log_dir):
        dirs.sort()
        for name in files:
            m = pattern.match(name)
            if not m:
                continue
            path = os.path.join(root, name)
            try:
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
