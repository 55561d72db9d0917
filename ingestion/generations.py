"""The files the ingester knows (generations), their checkpoints, the copies it leaves closed,
and each node's status: loads, creates and updates, inside the caller's transaction."""
from __future__ import annotations

from dataclasses import dataclass
import functools

import sqlalchemy as sa

from .identity import Generation, heads_compatible
from .parse import NOT_MALFORMED
from .sqlgen import now_text


# --- generations ---------------------------------------------------------------------------

_LOAD = ("SELECT f.id, f.head, f.dev, f.ino, f.path, f.compressed, f.state, f.size_seen,"
         " f.first_ts, f.bytes_lost, c.committed_offset, c.marker, f.error, f.disk_size,"
         " f.mtime_ns, f.base FROM log_files f LEFT JOIN checkpoints c ON c.file_id = f.id")
_LOAD_ALL = sa.text(_LOAD + " WHERE f.node = :node ORDER BY f.id")
_LOAD_PRESENT = sa.text(_LOAD + " WHERE f.node = :node AND f.state <> 'missing' ORDER BY f.id")


_NODE_FILES = sa.text("SELECT id FROM log_files WHERE node IN :nodes").bindparams(
    sa.bindparam("nodes", expanding=True))


def node_files(conn, nodes) -> list[int]:
    """Returns the ids of every generation (file) of ``nodes``, sorted: an event's node is its
    file's (a node's passes prune only these; node= filters on raw events bind them)."""
    return sorted(int(i) for i in conn.execute(_NODE_FILES, {"nodes": list(nodes)}).scalars())


def load_generations(conn, node: str, with_missing: bool = True) -> list[Generation]:
    """Returns the known generations of ``node`` (without those last seen missing, if asked).

    A node's pass sees only its own generations, so it can never judge (release, mark lost,
    re-key) another node's files. A lost checkpoint is rebuilt from the stored rows.
    """
    gens = []
    for r in conn.execute(_LOAD_ALL if with_missing else _LOAD_PRESENT, {"node": node}):
        offset, marker = r.committed_offset, r.marker
        if offset is None:
            offset = _recover_offset(conn, r.id)
            marker = None
        gens.append(Generation(r.id, bytes(r.head), r.dev, r.ino, r.path, bool(r.compressed),
                               r.state, r.size_seen, r.first_ts, r.bytes_lost, offset,
                               bytes(marker) if marker is not None else None, r.error or None,
                               r.disk_size, r.mtime_ns, int(r.base or 0)))
    return gens


def _recover_offset(conn, file_id: int) -> int:
    """Returns the end of the last stored row of a file: where a lost checkpoint must be."""
    q = sa.text("SELECT MAX(end_offset) FROM events WHERE file_id = :f"
                " UNION ALL SELECT MAX(end_offset) FROM malformed_lines WHERE file_id = :f")
    ends = [v for (v,) in conn.execute(q, {"f": file_id}) if v is not None]
    return max(ends, default=0)


def create_generation(conn, node: str, head: bytes, dev: int, ino: int, path: str,
                      compressed: bool, size: int, first_ts: str | None,
                      version: tuple[int, int] | None = None, base: int = 0) -> int:
    """Inserts a new generation of ``node`` read from offset 0; returns its id.

    ``version`` is the file's (size on disk, mtime_ns) as looked at (Generation.unchanged);
    ``base`` where the generation starts in the file's content.
    """
    now = now_text()
    disk_size, mtime_ns = version or (None, None)
    res = conn.execute(_NEW_FILE, {
        "node": node, "head": head, "dev": dev, "ino": ino, "path": path,
        "compressed": int(compressed), "size": size, "first_ts": first_ts,
        "disk_size": disk_size, "mtime_ns": mtime_ns, "base": base, "now": now})
    file_id = res.lastrowid
    conn.execute(_NEW_CHECKPOINT, {"f": file_id, "m": b"", "now": now})
    return file_id


_NEW_FILE = sa.text(
    "INSERT INTO log_files (node, head, dev, ino, path, first_path, compressed, state,"
    " size_seen, first_ts, bytes_lost, disk_size, mtime_ns, base, created_at, updated_at)"
    " VALUES (:node, :head, :dev, :ino, :path, :path, :compressed, 'active', :size,"
    " :first_ts, 0, :disk_size, :mtime_ns, :base, :now, :now)")
_NEW_CHECKPOINT = sa.text("INSERT INTO checkpoints (file_id, committed_offset, marker,"
                          " updated_at) VALUES (:f, 0, :m, :now)")


_OTHER_NODES_FILE = sa.text(
    "SELECT node, head FROM log_files WHERE dev = :dev AND ino = :ino AND node <> :node"
    " ORDER BY id")


def other_node_with(conn, node: str, dev: int | None, ino: int | None,
                    head: bytes) -> str | None:
    """Returns the node other than ``node`` that already has this file as a generation: the
    same device and inode, and a head compatible with ``head`` (one a prefix of the other),
    so the same physical file, not a copy of its bytes (a copy is another inode). None when
    no other node has it. One indexed lookup (ix_log_files_inode, migration 012).
    """
    if dev is None or ino is None:
        return None
    for r in conn.execute(_OTHER_NODES_FILE, {"dev": dev, "ino": ino, "node": node}):
        if heads_compatible(bytes(r.head), head):
            return r.node
    return None


_LAST_EVENT_WITHIN = sa.text(
    "SELECT start_offset, end_offset, ts, kind, username FROM events WHERE file_id = :f"
    " AND start_offset < :n AND end_offset <= :n ORDER BY start_offset DESC LIMIT 1")


def last_event_within(conn, file_id: int, size: int) -> tuple | None:
    """Returns (start, end, (ts, kind, username)) of the last event stored for generation
    ``file_id`` that ends within its first ``size`` bytes; None when there is none."""
    r = conn.execute(_LAST_EVENT_WITHIN, {"f": file_id, "n": size}).first()
    if r is None:
        return None
    ts = r.ts if isinstance(r.ts, str) else r.ts.isoformat(sep=" ", timespec="milliseconds")
    return int(r.start_offset), int(r.end_offset), (ts, r.kind, r.username)


def restore_checkpoint(conn, gen: Generation, marker: bytes) -> None:
    """Recreates a missing checkpoint row at gen.offset (recovered from the stored rows).

    Event and malformed counts are recounted from the rows (a run row counts its lines); the
    line count, which non-event lines also fed, can only be restored as a lower bound: the
    events plus every kept line.
    """
    counts = {"f": gen.id}
    events = conn.execute(sa.text("SELECT COUNT(*) FROM events WHERE file_id = :f"), counts).scalar()
    kept, malformed = (int(v) for v in conn.execute(sa.text(
        "SELECT COALESCE(SUM(line_count), 0),"
        " COALESCE(SUM(CASE WHEN reason IN :ok THEN 0 ELSE line_count END), 0)"
        " FROM malformed_lines WHERE file_id = :f").bindparams(
            sa.bindparam("ok", expanding=True)),
        {**counts, "ok": sorted(NOT_MALFORMED)}).one())
    conn.execute(sa.text("DELETE FROM checkpoints WHERE file_id = :f"), counts)
    conn.execute(sa.text(
        "INSERT INTO checkpoints (file_id, committed_offset, marker, line_count, event_count,"
        " malformed_count, updated_at) VALUES (:f, :o, :m, :lines, :events, :malformed, :now)"),
        {"f": gen.id, "o": gen.offset, "m": marker, "lines": events + kept,
         "events": events, "malformed": malformed, "now": now_text()})


_GENERATION_COLUMNS = frozenset({"head", "dev", "ino", "path", "compressed", "state", "size_seen",
                                 "first_ts", "bytes_lost", "error", "disk_size", "mtime_ns",
                                 "base"})


def update_generation(conn, file_id: int, **fields) -> None:
    """Updates columns of a log_files row (names are this module's own, values are bound)."""
    unknown = set(fields) - _GENERATION_COLUMNS
    if unknown:                          # column names go into the SQL text: only our own
        raise ValueError(f"not a log_files column: {sorted(unknown)}")
    conn.execute(_update_sql(tuple(sorted(fields))),
                 {**fields, "now": now_text(), "id": file_id})


@functools.lru_cache(maxsize=64)
def _update_sql(names: tuple) -> sa.TextClause:
    sets = ", ".join(f"{k} = :{k}" for k in names)
    return sa.text(f"UPDATE log_files SET {sets}, updated_at = :now WHERE id = :id")


# --- copies: files that hold only bytes read already (migration 014) -----------------------

@dataclass(frozen=True)
class Copy:
    """A file (or a part of one, from ``base`` on) of a node's folder found to repeat read
    bytes, as it was then."""
    dev: int
    ino: int
    base: int
    content_size: int
    disk_size: int
    mtime_ns: int
    path: str
    copy_of: int | None

    def unchanged(self, cand) -> bool:
        """Returns True when ``cand`` (a discover.Candidate) is this copy's file as it was."""
        return (self.dev, self.ino, self.path) == (cand.dev, cand.ino, cand.path) \
            and (self.disk_size, self.mtime_ns) == cand.version


def load_copies(conn, node: str) -> dict[tuple[int, int, int], Copy]:
    """Returns ``node``'s known copies by (dev, ino, base)."""
    rows = conn.execute(sa.text("SELECT dev, ino, base, content_size, disk_size, mtime_ns,"
                                " path, copy_of FROM log_copies WHERE node = :node"),
                        {"node": node})
    return {(r.dev, r.ino, r.base): Copy(r.dev, r.ino, r.base, r.content_size, r.disk_size,
                                         r.mtime_ns, r.path, r.copy_of) for r in rows}


def record_copy(conn, node: str, sight, copy_of: int | None) -> None:
    """Records (or updates) that ``sight`` (an identity.Sighting: a file or a part of one)
    holds only read bytes."""
    c = sight.cand
    key = {"node": node, "dev": c.dev, "ino": c.ino, "base": sight.base}
    conn.execute(sa.text("DELETE FROM log_copies WHERE node = :node AND dev = :dev"
                         " AND ino = :ino AND base = :base"), key)
    conn.execute(sa.text(
        "INSERT INTO log_copies (node, dev, ino, base, content_size, disk_size, mtime_ns, path,"
        " copy_of, updated_at) VALUES (:node, :dev, :ino, :base, :content_size, :size,"
        " :mtime_ns, :path, :copy_of, :now)"),
        {**key, "content_size": sight.content_size, "size": c.size, "mtime_ns": c.mtime_ns,
         "path": c.path, "copy_of": copy_of, "now": now_text()})


def forget_copies(conn, node: str, keys) -> None:
    """Drops the copies of ``node`` with these (dev, ino, base): gone, or no longer copies."""
    for dev, ino, base in keys:
        conn.execute(sa.text("DELETE FROM log_copies WHERE node = :node AND dev = :dev"
                             " AND ino = :ino AND base = :base"),
                     {"node": node, "dev": dev, "ino": ino, "base": base})


# The database's clock in seconds since 1970: a node's last pass is stamped with it, and a
# stale node judged by it, so the hosts' clocks and time zones do not matter.
DB_EPOCH = {"sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
            "mysql": "UNIX_TIMESTAMP(NOW(3))"}

_NODE_STATUS_UPSERT = {
    "sqlite": "INSERT INTO node_status (node, {cols}) VALUES (:node, {vals})"
              " ON CONFLICT (node) DO UPDATE SET {sets}",
    "mysql": "INSERT INTO node_status (node, {cols}) VALUES (:node, {vals})"
             " ON DUPLICATE KEY UPDATE {sets}",
}


def _node_status(conn, node: str, values: dict, epoch: bool) -> None:
    d = "sqlite" if conn.dialect.name == "sqlite" else "mysql"
    cols, vals = list(values), [f":{k}" for k in values]
    if epoch:
        cols.append("last_pass_epoch")
        vals.append(DB_EPOCH[d])
    sets = ", ".join(f"{c} = excluded.{c}" if d == "sqlite" else f"{c} = VALUES({c})"
                     for c in cols)
    conn.execute(sa.text(_NODE_STATUS_UPSERT[d].format(
        cols=", ".join(cols), vals=", ".join(vals), sets=sets)), {"node": node, **values})


def record_pass(conn, node: str, problem: str | None = None,
                waiting: tuple[int, int] = (0, 0)) -> None:
    """Stamps the time of a completed pass of ``node``, with the problem it met (files it
    could not read) and the files it left for a later pass (count, bytes on disk)."""
    now = now_text()
    values = {"last_pass_at": now, "files_waiting": waiting[0], "bytes_waiting": waiting[1]}
    if problem is not None:
        values.update(last_error=problem[:2000], last_error_at=now)
    _node_status(conn, node, values, epoch=True)


def record_error(conn, node: str, error: str) -> None:
    """Stamps the error that stopped a pass of ``node`` (its last completed pass keeps its
    time)."""
    _node_status(conn, node, {"last_error": error[:2000], "last_error_at": now_text()},
                 epoch=False)


def bytes_lost(conn, node: str) -> int:
    """Returns the bytes of ``node``'s files that went before they were read."""
    return int(conn.execute(sa.text("SELECT COALESCE(SUM(bytes_lost), 0) FROM log_files"
                                    " WHERE node = :node"), {"node": node}).scalar() or 0)
