"""A transfer's folders, depth by depth (docs/insight.md, /api/paths). Pure: no I/O.

A path's separator is '/', or '\\' for a path that has no '/' but has a '\\' (SFTPGo on
Windows). Its folder is the text before its last separator; the folder's components are
the texts between separators, the empty ones included (SFTPGo's paths are clean, so '//'
does not occur in practice). The folder at depth d is the first d components, joined by
the separator, after a separator when the path starts with one:
``/srv/data/acme/in/f.csv`` is ``/srv`` at depth 1, ``/srv/data`` at 2, ``/srv/data/acme``
at 3; a file directly in a shorter path counts under its folder (``/srv/f.csv`` is ``/srv``
at every depth, ``/f.csv`` is ``/``). A folder is cut to its first MAX_FOLDER characters.

sql/rollups/path_daily.<dialect>.sql compute the same in SQL (tests check that they agree).
"""
from __future__ import annotations

import functools

DEPTHS = 8           # /api/paths' depth= is 1..DEPTHS
MAX_FOLDER = 255     # the rollup's key column (MySQL: VARCHAR(255), within InnoDB's key size)


def separator(path: str) -> str:
    """Returns the separator of ``path``: '/', or '\\' when it has no '/' but a '\\'."""
    return "\\" if "/" not in path and "\\" in path else "/"


def folder_key(path: str) -> str:
    """Returns ``path`` up to and including its last separator ('' when it has none): all
    that its folders depend on, so the files of one folder share it."""
    return path[:path.rfind(separator(path)) + 1]


@functools.lru_cache(maxsize=8192)     # a server's folders repeat from batch to batch
def prefixes(key: str) -> tuple[str, ...]:
    """Returns the folders at depths 1..DEPTHS of a path whose folder_key is ``key``."""
    sep = separator(key)
    lead = sep if key[:1] == sep else ""
    body = key[len(lead):-1] if key else ""
    parts = body.split(sep) if body else []
    return tuple((lead + sep.join(parts[:d]))[:MAX_FOLDER] for d in range(1, DEPTHS + 1))


def folders(path: str) -> tuple[str, ...]:
    """Returns the folders of ``path`` at depths 1..DEPTHS."""
    return prefixes(folder_key(path))
