"""A stand-in SFTPGo: realistic log lines and a lumberjack-style rotating writer.

Used by the tests, the benchmarks and ``app.py --demo``; no SFTPGo server needed.

* lines.LineFactory: deterministic SFTPGo 2.6 lines (sessions in ssh.py, web.py, background.py).
* lumberjack.LumberjackWriter: rotation like lumberjack v2 (rename, new inode, gzip, pruning).
* folders.generate_folder: a folder of rotated files (``python -m simulate OUT --mb 100``).
* demo.start_demo: 30 days of history, then live lines, for ``app.py --demo``.
"""
from .common import AVG_LINE_BYTES, DEFAULT_MAX_BYTES, DEFAULT_USERS, HOSTILE_USERS, go_quote
from .folders import generate_folder
from .lines import LineFactory
from .lumberjack import LumberjackWriter

__all__ = ["LineFactory", "LumberjackWriter", "generate_folder", "go_quote",
           "DEFAULT_USERS", "HOSTILE_USERS", "DEFAULT_MAX_BYTES", "AVG_LINE_BYTES"]
