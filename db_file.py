"""The SQLite file in use, watched: deleted or replaced under a running program is an error,
never a silent new, empty database (one stat() per check). No-op for other backends.
"""
from __future__ import annotations

import os
from pathlib import Path

from db import DatabaseBroken, sqlite_file


def file_identity(path: Path) -> tuple[int, int] | None:
    """Returns (device, inode) of ``path``, or None when nothing is there."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


class FileWatch:
    """Notices when the SQLite file in use is no longer at its path (one stat() per check).

    Open connections keep reading a deleted file, and the next one opened (or another
    process) would create a new, empty file at the path: both would go unnoticed. A
    restart adopts whatever file is at the path then. No-op for other backends.
    """

    def __init__(self, url: str, who: str = "the program"):
        self.path = sqlite_file(url)
        self.identity = file_identity(self.path) if self.path else None
        self._who = who

    def check(self) -> None:
        """Raises DatabaseBroken when the file was deleted or replaced since it was first seen."""
        if self.path is None:
            return
        now = file_identity(self.path)
        if self.identity is None:            # not created yet when watched: adopt it
            self.identity = now
        elif now != self.identity:
            what = "is gone" if now is None else "is another file now"
            raise DatabaseBroken(f"database file was deleted or replaced: {self.path} {what}; "
                                 f"restart {self._who} to use what is at that path")
