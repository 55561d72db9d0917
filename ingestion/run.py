"""One ingestion pass, and the follow loop: the only code that ties the rooms together.

A pass: take the lock (or report busy), list the files, match them to generations, then
read each generation with pending bytes, oldest first, one committed batch at a time,
until nothing is pending or the byte/time budget is spent.
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa

import db
from settings import Settings

from . import discover, identity, parse, reader, store
from .identity import ACTIVE, MISSING, REPLACED, Generation, Look
from .writer import Committer

log = logging.getLogger(__name__)

# Test seam for the crash tests: SIGKILL this process at a named point of a batch.
CRASH_AT = os.environ.get("SFTPGO_DASH_CRASH_AT", "")
_CRASH_AFTER = int(os.environ.get("SFTPGO_DASH_CRASH_AFTER_BATCHES", "0") or 0)
_batches_done = 0

TAIL_GRACE_S = 5.0   # a rotated file's unterminated tail is taken once it is this old


def _crash_point(name: str) -> None:
    if CRASH_AT == name and _batches_done >= _CRASH_AFTER:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class Progress:
    """What a pass did and what is left."""
    busy: bool = False           # another pass held the lock: nothing was done
    files: int = 0               # generations being tracked (present in the folder)
    files_pending: int = 0       # of which with bytes still to read
    bytes_done: int = 0          # bytes consumed by this pass
    bytes_pending: int = 0       # bytes left to read after this pass
    lines: int = 0
    events: int = 0
    malformed: int = 0
    bytes_lost: int = 0          # bytes of files that vanished or were replaced before being read
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.busy and self.bytes_pending == 0


@dataclass
class _Work:
    gen: Generation
    look: Look


class Ingester:
    """Ingests one log folder into one database; holds only caches, never the truth."""

    def __init__(self, engine: sa.Engine, settings: Settings):
        self.engine = engine
        self.settings = settings
        self.dialect = db.dialect(engine)
        # Commits go through their own engine on MySQL/MariaDB: the one allowed LOAD DATA LOCAL.
        self._writer = engine if self.dialect == "sqlite" else db.make_engine(
            engine.url.render_as_string(hide_password=False), bulk=True)
        self._looks: dict[tuple, tuple] = {}      # (dev, ino) -> ((size, mtime, path), Look)
        self._gzip_ok: set[tuple] = set()          # verified gzip files, by stat
        self._same: dict[tuple, bool] = {}         # content comparisons of copies
        self._bulk: bool | None = None             # MySQL/MariaDB LOAD DATA LOCAL usable
        self.maintain_rollups = True               # False only in the benchmark's comparison
        self._skipped: dict[str, str] = {}         # files this pass could not read, and why

    # --- the pass --------------------------------------------------------------------------

    def run_pass(self, max_bytes: int | None = None, max_seconds: float | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 on_batch: Callable[[Progress], None] | None = None) -> Progress:
        """Ingests what is new, within the budget; returns the progress (busy if locked)."""
        try:
            with db.exclusive(self.engine, "ingest", wait=False):
                return self._pass(max_bytes, max_seconds, should_stop or (lambda: False), on_batch)
        except db.Busy:
            return Progress(busy=True)
        except sa.exc.DBAPIError:
            raise                        # nowhere to record it: the caller reports the outage
        except Exception as exc:         # a missing folder, an unreadable one: keep a trace
            with contextlib.suppress(sa.exc.DBAPIError), self.engine.begin() as conn:
                store.record_error(conn, f"{type(exc).__name__}: {exc}")
            raise

    def _pass(self, max_bytes, max_seconds, should_stop, on_batch) -> Progress:
        started = time.monotonic()
        deadline = started + max_seconds if max_seconds else None
        work = self._scan()
        if self._bulk is None:
            with self._writer.connect() as conn:
                self._bulk = self.dialect == "mysql" and store.bulk_load_available(conn)
        prog = Progress(files=len(work))
        _count_pending(prog, work)
        for w in work:
            if _pending(w) <= 0:
                continue
            if should_stop() or (max_bytes is not None and prog.bytes_done >= max_bytes) \
                    or (deadline is not None and time.monotonic() >= deadline):
                break
            self._read_generation(w, prog, max_bytes, deadline, should_stop, on_batch)
        _count_pending(prog, work)
        with self.engine.begin() as conn:
            store.record_pass(conn, "not readable now, will retry: " + "; ".join(
                sorted(self._skipped.values())) if self._skipped else None)
            prog.bytes_lost = conn.execute(sa.text(
                "SELECT COALESCE(SUM(bytes_lost), 0) FROM log_files")).scalar() or 0
        prog.seconds = time.monotonic() - started
        return prog

    def _tail_due(self, w: _Work) -> bool:
        """A rotated file that will not grow may have its final fragment taken."""
        return (not w.look.cand.live and w.look.content_size > w.gen.offset
                and time.time() - w.look.cand.mtime >= TAIL_GRACE_S)

    # --- scan: files -> generations ------------------------------------------------------

    def _scan(self) -> list[_Work]:
        cands = discover.candidate_paths(self.settings.log_dir, self.settings.log_name)
        self._skipped = {}
        with self.engine.begin() as conn:
            # Years of archives leave many generations that are gone for good: load them only
            # when a file turns up that the present ones do not account for by inode.
            gens = store.load_generations(conn, with_missing=False)
            present = {(g.dev, g.ino) for g in gens}
            if any((c.dev, c.ino) not in present for c in cands if c.size):
                gens = store.load_generations(conn)
        by_id = {g.id: g for g in gens}
        known_inodes = {(g.dev, g.ino) for g in gens}
        plain = {c.path for c in cands if not c.compressed}
        looks = [lk for lk in (self._look(c, known_inodes, plain) for c in cands) if lk is not None]
        result = identity.assign(looks, gens, self._span, self._same_content)
        work: list[_Work] = []
        with self.engine.begin() as conn:
            for gid, look in result.claims.items():
                g = by_id[gid]
                self._claim(conn, g, look)
                work.append(_Work(g, look))
            for look in result.new:
                gid = store.create_generation(conn, look.head, look.cand.dev, look.cand.ino,
                                              look.cand.path, look.cand.compressed,
                                              look.content_size, look.first_ts)
                log.info("New file generation. path=%s file_id=%d", look.cand.path, gid)
                work.append(_Work(Generation(gid, look.head, look.cand.dev, look.cand.ino,
                                             look.cand.path, look.cand.compressed, ACTIVE,
                                             look.content_size, look.first_ts, 0, 0, b""), look))
            for g in gens:
                if g.id not in result.claims:
                    self._release(conn, g, REPLACED if g.id in result.replaced else MISSING)
        for look, original in result.duplicates:
            log.debug("Copy of a known file, not read again. path=%s file_id=%s",
                      look.cand.path, original)
        work.sort(key=lambda w: (w.gen.first_ts or w.look.first_ts or "9999", w.look.cand.live,
                                 w.look.cand.path))
        return work

    def _claim(self, conn, g: Generation, look: Look) -> None:
        c = look.cand
        if g.marker is None:            # checkpoint row was lost: rebuilt from the rows
            g.marker = self._span(look, max(g.offset - reader.MARKER_BYTES, 0),
                                  min(g.offset, reader.MARKER_BYTES))
            store.restore_checkpoint(conn, g, g.marker)
            log.warning("Checkpoint rebuilt from stored rows. file_id=%d offset=%d", g.id, g.offset)
        changes = {}
        if (g.dev, g.ino, g.path, g.compressed) != (c.dev, c.ino, c.path, c.compressed):
            changes.update(dev=c.dev, ino=c.ino, path=c.path, compressed=int(c.compressed))
            if g.path != c.path:
                log.info("File moved. file_id=%d from=%s to=%s", g.id, g.path, c.path)
        if len(look.head) > len(g.head):
            changes["head"] = look.head      # the growing fingerprint is re-keyed, not re-read
        if g.state != ACTIVE or g.bytes_lost:
            changes.update(state=ACTIVE, bytes_lost=0)
        if g.size_seen != look.content_size:
            changes["size_seen"] = look.content_size
        if changes:
            store.update_generation(conn, g.id, **changes)
            for k, v in changes.items():
                setattr(g, k, bool(v) if k == "compressed" else v)

    def _release(self, conn, g: Generation, state: str) -> None:
        lost = max(g.size_seen - g.offset, 0)
        if g.state != state or g.bytes_lost != lost:
            if lost:
                log.warning("File gone before it was read to the end. file_id=%d path=%s "
                            "bytes_lost=%d", g.id, g.path, lost)
            store.update_generation(conn, g.id, state=state, bytes_lost=lost)

    def _look(self, c: discover.Candidate, known_inodes: set, plain: set) -> Look | None:
        """Returns the content facts of a candidate, or None when it cannot be told yet."""
        stat = (c.size, c.mtime, c.path)
        cached = self._looks.get((c.dev, c.ino))
        if cached is not None and cached[0] == stat:
            return cached[1]
        if c.size == 0:
            return None                  # lumberjack's empty new file: nothing to identify yet
        if c.compressed and c.stem in plain:
            return None                  # its .log is still here: the gzip is being written
        try:
            if c.compressed and (c.dev, c.ino) not in known_inodes:
                self._verify_gzip(c)     # never match or read a gzip still being written
            head = reader.read_head(c.path, c.compressed)
            size = reader.gzip_size(c.path) if c.compressed else c.size
        except (reader.UnreadableFile, OSError) as exc:
            log.warning("File skipped for now. path=%s reason=%s", c.path, exc)
            self._skipped[c.path] = str(exc) if c.path in str(exc) else f"{c.path}: {exc}"
            return None
        if not head:
            return None
        look = Look(c, head, size)
        self._looks[(c.dev, c.ino)] = (stat, look)
        return look

    def _verify_gzip(self, c: discover.Candidate) -> None:
        """Raises UnreadableFile unless the whole gzip checks out (once per file version)."""
        key = (c.dev, c.ino, c.size, c.mtime)
        if key not in self._gzip_ok:
            reader.verify_gzip(c.path)
            self._gzip_ok.add(key)

    def _span(self, look: Look, start: int, length: int) -> bytes | None:
        try:
            return reader.read_span(look.cand.path, look.cand.compressed, start, length)
        except reader.UnreadableFile:
            return None

    def _same_content(self, original: Look, copy: Look) -> bool:
        """Returns True when ``copy`` repeats ``original`` (one is a prefix of the other).

        Cached by the copy's version and the original's inode: an original only grows.
        """
        c, o = copy.cand, original.cand
        key = (c.dev, c.ino, c.size, c.mtime, o.dev, o.ino)
        if key not in self._same:
            self._same[key] = _prefix_equal(original, copy)
        return self._same[key]

    # --- reading one generation ------------------------------------------------------------

    def _read_generation(self, w: _Work, prog: Progress, max_bytes, deadline, should_stop, on_batch):
        g, look = w.gen, w.look
        try:
            if look.cand.compressed:
                self._verify_gzip(look.cand)
            rd = reader.LineReader(look.cand.path, look.cand.compressed, g.offset,
                                   self.settings.max_line_bytes)
        except reader.UnreadableFile as exc:
            self._file_error(g, str(exc))
            return
        committer = Committer(self._commit)
        try:
            self._read_batches(rd, w, committer, prog, max_bytes, deadline, should_stop, on_batch)
        except reader.UnreadableFile as exc:
            self._file_error(g, str(exc))
        else:
            if g.error:                # readable again (a gzip that is complete now)
                self._file_error(g, None)
        finally:
            rd.close()
            committer.close()          # the last batch is committed (or its error raised) here
        if g.offset >= look.content_size and not look.cand.live:
            log.debug("File drained. file_id=%d path=%s", g.id, look.cand.path)

    def _commit(self, job: tuple) -> None:
        global _batches_done
        with self._writer.begin() as conn:
            store.store_batch(conn, self.dialect, *job,
                              between=lambda: _crash_point("after_insert_before_checkpoint"),
                              bulk=self._bulk, rollups=self.maintain_rollups)
            _crash_point("after_checkpoint_before_commit")
        _batches_done += 1
        _crash_point("after_commit")

    def _read_batches(self, rd, w: _Work, committer: Committer, prog: Progress, max_bytes,
                      deadline, should_stop, on_batch) -> None:
        g, look = w.gen, w.look
        fid = g.id
        while True:
            size = self.settings.batch_bytes
            if max_bytes is not None:      # a small tick budget reads a small batch
                size = max(min(size, max_bytes - prog.bytes_done), 4096)
            batch = rd.read_batch(size)
            lines = batch.lines
            partial = False
            if batch.eof and batch.tail and self._tail_due(w) and \
                    batch.end + _length(batch.tail) >= look.content_size:
                lines = lines + [batch.tail]     # rotated file: its torn last line
                partial = True
            if not lines:
                break
            _crash_point("after_read")
            events, rejects = [], []
            pos = batch.start
            classify = parse.classify
            append = events.append
            for data in lines:
                if type(data) is not bytes:        # reader.TooLong
                    end = pos + data.length + 1
                    rejects.append((fid, pos, end, parse.TOO_LONG, data.sample))
                    pos = end
                    continue
                end = pos + len(data) + 1
                try:
                    r = classify(data)
                except Exception:                  # a line no rule foresaw: keep it, go on
                    log.exception("Line not classified. file_id=%d offset=%d", fid, pos)
                    r = parse.PARSE_ERROR
                if r is not None:
                    if type(r) is tuple:
                        append((fid, pos, end, *r, 0))
                    else:
                        rejects.append((fid, pos, end, r, data[:reader.SAMPLE_BYTES]))
                pos = end
            if partial:
                pos -= 1                           # the fragment has no newline
                events, rejects = _flag_partial(events, rejects, batch.end)
            marker = self._marker_before(look, lines, pos, partial)
            if not committer.submit((fid, g.offset, pos, marker, events, rejects, len(lines))):
                break
            prog.bytes_done += pos - g.offset
            prog.lines += len(lines)
            prog.events += len(events)
            prog.malformed += store.malformed_count(rejects)
            g.offset, g.marker = pos, marker
            if on_batch is not None:
                prog.bytes_pending = max(prog.bytes_pending - (pos - batch.start), 0)
                on_batch(prog)
            if partial or batch.eof or should_stop():
                break
            if max_bytes is not None and prog.bytes_done >= max_bytes:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break

    def _marker_before(self, look: Look, lines: list, pos: int, partial: bool) -> bytes:
        """Returns the MARKER_BYTES of content before ``pos``, from the lines just read."""
        n = reader.MARKER_BYTES
        parts, size = [], 0
        for i in range(len(lines) - 1, -1, -1):
            x = lines[i]
            if type(x) is not bytes:
                break
            piece = x if partial and i == len(lines) - 1 else x + b"\n"
            parts.append(piece)
            size += len(piece)
            if size >= n or size >= pos:
                data = b"".join(reversed(parts))
                return data[-min(n, pos):]
        return self._span(look, max(pos - n, 0), min(n, pos)) or b""

    def _file_error(self, g: Generation, message: str | None) -> None:
        """Records why a file cannot be read now (None: it can again)."""
        if message:
            log.warning("File not readable now, will retry. file_id=%d reason=%s", g.id, message)
        with self.engine.begin() as conn:
            store.update_generation(conn, g.id, error=message[:2000] if message else None)
        g.error = message

    # --- follow ----------------------------------------------------------------------------

    def follow(self, should_stop: Callable[[], bool], on_pass: Callable[[Progress], None] | None = None,
               idle_max_s: float = 1.0) -> None:
        """Runs passes until ``should_stop()``; backs off up to idle_max_s while idle."""
        delay = 0.05
        while not should_stop():
            try:
                prog = self.run_pass(should_stop=should_stop)
            except sa.exc.DBAPIError as exc:
                log.error("Database error, retrying. reason=%s", db.error_reason(exc))
                prog = None
            except Exception as exc:     # the folder vanished, a bug: say so, keep tailing
                log.error("Ingestion pass failed, retrying. reason=%s", exc, exc_info=True)
                prog = None
            if on_pass is not None and prog is not None:
                on_pass(prog)
            if prog is not None and prog.bytes_done > 0:
                delay = 0.05
            else:
                delay = min(delay * 2, idle_max_s)
            _sleep(delay, should_stop)


def _sleep(seconds: float, should_stop: Callable[[], bool]) -> None:
    end = time.monotonic() + seconds
    while not should_stop():
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(0.05, left))


def _pending(w: _Work) -> int:
    """Returns the bytes of a generation not read yet."""
    return w.look.content_size - w.gen.offset


def _count_pending(prog: Progress, work: list[_Work]) -> None:
    """Sets the bytes and files still to read, from where each generation now stands."""
    pending = [_pending(w) for w in work]
    prog.bytes_pending = sum(p for p in pending if p > 0)
    prog.files_pending = sum(1 for p in pending if p > 0)


def _length(line) -> int:
    """Returns the byte length of a line read (bytes, or a TooLong standing for one)."""
    return len(line) if type(line) is bytes else line.length


def _flag_partial(events: list, rejects: list, start: int):
    """Marks the row of a rotated file's final fragment (no newline): partial, or torn_tail."""
    if events and events[-1][1] == start:
        e = events[-1]
        events[-1] = e[:2] + (e[2] - 1,) + e[3:-1] + (1,)
    elif rejects and rejects[-1][1] == start:
        r = rejects[-1]
        rejects[-1] = (r[0], r[1], r[2] - 1, parse.TORN_TAIL, r[4])
    return events, rejects


def _prefix_equal(a: Look, b: Look) -> bool:
    """Returns True when the shorter file's content is a prefix of the longer one's."""
    try:
        fa = reader.open_content(a.cand.path, a.cand.compressed)
        fb = reader.open_content(b.cand.path, b.cand.compressed)
    except reader.UnreadableFile:
        return False
    with fa, fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            n = min(len(x), len(y))
            if x[:n] != y[:n]:
                return False
            if len(x) != len(y):
                return True
            if not x:
                return True
