"""One ingestion pass, and the follow loop: the only code that ties the rooms together.

A pass: take the lock (or report busy), list the files, open each one once, match the open
files to generations, then read each generation with pending bytes, oldest first, one
committed batch at a time, until nothing is pending or the byte/time budget is spent.

One open file per generation per pass, verified before it is read: a file's identity (inode,
head, marker) and its lines are read through the one descriptor it was identified by, so a
rotation that lands anywhere in a pass can neither make it read one file's bytes as another's
nor make it report a renamed file as lost. A generation is released (missing, bytes lost)
only by a pass that saw the folder hold still: every name opened as listed, nothing deferred,
and a second listing after the reads equal to the first.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import resource
import signal
import time
import zlib
from dataclasses import dataclass, field
from typing import Callable

import sqlalchemy as sa

import db
from settings import Settings

from . import discover, identity, parse, reader, store
from .identity import ACTIVE, MISSING, REPLACED, Generation, Look
from .writer import Committer

log = logging.getLogger(__name__)

TAIL_GRACE_S = 5.0   # a rotated file's unterminated tail is taken once it is this old
GZIP_CHECKS = 4      # gzip files being proven complete at once (each holds a descriptor)
HELD_FILES = 32      # files with bytes still to read kept open from one pass to the next

# The points of a pass where a seam (see Ingester) is called, in order.
SEAMS = ("listed", "opened", "marker", "claimed", "after_read", "after_insert_before_checkpoint",
         "after_checkpoint_before_commit", "after_commit", "batch", "settle")

Seam = Callable[[str], None]


def crash_seam(point: str, after_batches: int = 0) -> Seam:
    """Returns a seam that SIGKILLs this process at ``point`` once ``after_batches`` committed.

    For the crash tests: a real kill -9, with the database in whatever state that point leaves.
    """
    done = [0]

    def seam(name: str) -> None:
        if name == "after_commit":
            done[0] += 1
        if name == point and done[0] >= after_batches:
            os.kill(os.getpid(), signal.SIGKILL)
    return seam


@dataclass
class Progress:
    """What a pass did and what is left."""
    busy: bool = False           # another pass held the lock: nothing was done
    files: int = 0               # generations being tracked (present in the folder)
    files_pending: int = 0       # of which with bytes still to read
    bytes_done: int = 0          # bytes consumed by this pass
    bytes_pending: int = 0       # bytes left to read after this pass
    deferred: int = 0            # files left for a later pass (moved under the pass, being checked)
    lines: int = 0
    events: int = 0
    malformed: int = 0
    bytes_lost: int = 0          # bytes of files that vanished or were replaced before being read
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.busy and self.bytes_pending == 0 and self.deferred == 0


@dataclass
class _Work:
    gen: Generation
    look: Look


@dataclass
class _Scan:
    """What the scan of one pass found: the work, and what it needs to judge the rest."""
    work: list[_Work] = field(default_factory=list)
    files: list = field(default_factory=list)       # every OpenFile of the pass, closed at its end
    listed: frozenset = frozenset()                 # (path, dev, ino) of the first listing
    seen: set = field(default_factory=set)          # inodes listed or opened: not missing
    unclaimed: list = field(default_factory=list)   # present generations no file claimed
    replaced: set = field(default_factory=set)      # generation ids whose inode holds other bytes
    unsettled: list = field(default_factory=list)   # why the folder did not hold still
    deferred: int = 0

    def unsettle(self, why: str) -> None:
        self.unsettled.append(why)

    def close(self) -> None:
        for f in self.files:
            f.close()


class Ingester:
    """Ingests one log folder into one database; holds only caches, never the truth.

    ``seam``, when given, is called with each name of SEAMS as the pass reaches that point: a
    test can rotate, gzip or kill there (see crash_seam).
    """

    def __init__(self, engine: sa.Engine, settings: Settings, seam: Seam | None = None):
        self.engine = engine
        self.settings = settings
        self.dialect = db.dialect(engine)
        self._seam = seam or (lambda name: None)
        # Commits go through their own engine on MySQL/MariaDB: the one allowed LOAD DATA LOCAL.
        self._writer = engine if self.dialect == "sqlite" else db.make_engine(
            engine.url.render_as_string(hide_password=False), bulk=True)
        self._heads: dict[tuple, tuple] = {}       # (dev, ino) -> ((size, mtime), head, content size)
        self._gzip: dict[tuple, object] = {}       # gzip version -> True, error text, or GzipCheck
        self._same: dict[tuple, bool] = {}         # content comparisons of copies
        self._bulk: bool | None = None             # MySQL/MariaDB LOAD DATA LOCAL usable
        self.maintain_rollups = True               # False only in the benchmark's comparison
        self._skipped: dict[str, str] = {}         # files this pass could not read, and why
        self._held: dict[tuple, reader.OpenFile] = {}   # (dev, ino) -> file kept open between passes
        self._max_open = _raise_open_files_limit() - 64

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
        scan = _Scan()
        try:
            self._scan(scan, deadline)
            work = scan.work
            if self._bulk is None:
                with self._writer.connect() as conn:
                    self._bulk = self.dialect == "mysql" and store.bulk_load_available(conn)
            prog = Progress(files=len(work), deferred=scan.deferred)
            _count_pending(prog, work)
            for w in work:
                if _pending(w) <= 0:
                    continue
                if should_stop() or (max_bytes is not None and prog.bytes_done >= max_bytes) \
                        or (deadline is not None and time.monotonic() >= deadline):
                    break
                self._read_generation(w, prog, max_bytes, deadline, should_stop, on_batch)
            _count_pending(prog, work)
            self._hold(work)
            self._seam("settle")
            with self.engine.begin() as conn:
                self._settle(conn, scan)
                store.record_pass(conn, "not readable now, will retry: " + "; ".join(
                    sorted(self._skipped.values())) if self._skipped else None)
                prog.bytes_lost = conn.execute(sa.text(
                    "SELECT COALESCE(SUM(bytes_lost), 0) FROM log_files")).scalar() or 0
        finally:
            scan.close()
        prog.seconds = time.monotonic() - started
        return prog

    def _tail_due(self, w: _Work) -> bool:
        """A rotated file that will not grow may have its final fragment taken."""
        return (not w.look.cand.live and w.look.content_size > w.gen.offset
                and time.time() - w.look.cand.mtime >= TAIL_GRACE_S)

    # --- scan: files -> generations ------------------------------------------------------

    def _scan(self, scan: _Scan, deadline: float | None) -> None:
        skipped: dict[str, str] = {}   # links out of the folder, folders it cannot list
        cands = discover.candidate_paths(self.settings.log_dir, self.settings.log_name, skipped)
        self._skipped = skipped
        scan.listed = _listing(cands)
        scan.seen = {(c.dev, c.ino) for c in cands}
        self._seam("listed")
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
        if len(cands) > self._max_open:        # more files than descriptors: the rest wait
            keep = [c for c in cands if c.live] + [c for c in cands if not c.live]
            cands = sorted(keep[:self._max_open], key=lambda c: c.path)
            scan.deferred += len(keep) - len(cands)
            scan.unsettle("more files than open descriptors allow")
        looks = []
        opened: set = set()
        for c in cands:
            look = self._look(scan, c, known_inodes, plain, opened, deadline)
            if look is not None:
                looks.append(look)
        looks += self._deleted_but_held(scan, opened)
        self._forget(scan)
        self._seam("opened")
        result = identity.assign(looks, gens, self._span, self._same_content)
        self._drop_rewritten(scan, result)
        scan.replaced = result.replaced
        with self.engine.begin() as conn:
            for gid, look in result.claims.items():
                g = by_id[gid]
                self._claim(conn, g, look)
                scan.work.append(_Work(g, look))
            for look in result.new:
                gid = store.create_generation(conn, look.head, look.cand.dev, look.cand.ino,
                                              look.cand.path, look.cand.compressed,
                                              look.content_size, look.first_ts)
                log.info("New file generation. path=%s file_id=%d", look.cand.path, gid)
                scan.work.append(_Work(Generation(gid, look.head, look.cand.dev, look.cand.ino,
                                                  look.cand.path, look.cand.compressed, ACTIVE,
                                                  look.content_size, look.first_ts, 0, 0, b""),
                                       look))
        scan.unclaimed = [g for g in gens if g.id not in result.claims]
        for look, original in result.duplicates:
            log.debug("Copy of a known file, not read again. path=%s file_id=%s",
                      look.cand.path, original)
        scan.work.sort(key=lambda w: (w.gen.first_ts or w.look.first_ts or "9999",
                                      w.look.cand.live, w.look.cand.path))
        self._seam("claimed")

    def _drop_rewritten(self, scan: _Scan, result: identity.Assignment) -> None:
        """Leaves out of this pass the files rewritten in place since they were identified.

        A descriptor follows its file through renames, but a file can also be truncated and
        written again where it is (copytruncate) while the scan looks at it; its head and
        marker may then belong to different contents. Such a file waits for the next pass.
        """
        for gid, look in list(result.claims.items()):
            if not _holds(look):
                del result.claims[gid]
                scan.unsettle(f"{look.cand.path} was rewritten during the scan")
        for look in list(result.new):
            if not _holds(look):
                result.new.remove(look)
                scan.unsettle(f"{look.cand.path} was rewritten during the scan")

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

    def _settle(self, conn, scan: _Scan) -> None:
        """Releases the generations no file claimed, if the folder held still for this pass.

        A generation is missing only when no name in the folder holds its inode, in a pass in
        which every listed name opened as the file listed and a second listing, taken after
        the reads, equals the first. A rotation or a gzip caught half-way makes the pass
        leave its releases to the next one: a renamed file is never reported lost.
        """
        gone = [g for g in scan.unclaimed
                if g.id in scan.replaced or (g.dev, g.ino) not in scan.seen]
        if not gone:
            return
        if not scan.unsettled:
            try:
                again = _listing(discover.candidate_paths(self.settings.log_dir,
                                                          self.settings.log_name))
            except discover.LogDirMissing:
                again = frozenset()
            if again != scan.listed:
                scan.unsettle("the folder changed during the pass")
        if scan.unsettled:
            log.debug("Releases left to the next pass. reason=%s", scan.unsettled[0])
            return
        for g in gone:
            self._release(conn, g, REPLACED if g.id in scan.replaced else MISSING)

    def _release(self, conn, g: Generation, state: str) -> None:
        lost = max(g.size_seen - g.offset, 0)
        if g.state != state or g.bytes_lost != lost:
            if lost:
                log.warning("File gone before it was read to the end. file_id=%d path=%s "
                            "bytes_lost=%d", g.id, g.path, lost)
            store.update_generation(conn, g.id, state=state, bytes_lost=lost)

    def _look(self, scan: _Scan, c: discover.Candidate, known_inodes: set, plain: set,
              opened: set, deadline: float | None) -> Look | None:
        """Opens a candidate once and returns its content facts, or None when it cannot be told yet.

        The Look's stat facts are those of the open descriptor, not of the name as listed.
        """
        if c.size == 0:
            return None                  # lumberjack's empty new file: nothing to identify yet
        if c.compressed and c.stem in plain:
            return None                  # its .log is still here: the gzip is being written
        try:
            f = reader.OpenFile(c.path, c.compressed)
        except reader.UnreadableFile as exc:
            if not os.path.lexists(c.path):
                scan.unsettle(f"{c.path} vanished after it was listed")
            else:
                self._skip(c.path, exc)
            return None
        scan.files.append(f)
        key = (f.dev, f.ino)
        if key != (c.dev, c.ino):
            scan.unsettle(f"{c.path} holds another file than listed")
            scan.seen.add(key)
        if key in opened:
            return None                  # one file reached by two names during a rename
        opened.add(key)
        c = dataclasses.replace(c, dev=f.dev, ino=f.ino, size=f.disk_size, mtime=f.mtime)
        version = (f.disk_size, f.mtime)
        cached = self._heads.get(key)
        if cached is not None and cached[0] == version:
            return Look(c, cached[1], cached[2], f)
        try:
            if c.compressed and key not in known_inodes:
                # Never match or read a gzip still being written or cut short.
                if not self._gzip_checked(f, deadline):
                    scan.deferred += 1
                    scan.unsettle(f"{c.path} is being checked")
                    return None
            head = f.head()
            size = f.content_size() if c.compressed else f.disk_size
        except (reader.UnreadableFile, OSError) as exc:
            self._skip(c.path, exc)
            return None
        if not head:
            return None
        self._heads[key] = (version, head, size)
        return Look(c, head, size, f)

    def _hold(self, work: list[_Work]) -> None:
        """Keeps open, until the next pass, the live file and the files not read to their end.

        A backup deleted (pruned) before it was drained is then still read to its end through
        the descriptor, as a tailer that keeps its files open does, instead of being lost.
        """
        keep: dict[tuple, reader.OpenFile] = {}
        for w in work:
            if len(keep) >= HELD_FILES:
                break
            if w.look.cand.live or _pending(w) > 0:
                key = (w.look.cand.dev, w.look.cand.ino)
                keep[key] = self._held.pop(key, None) or w.look.file.dup()
        for f in self._held.values():
            f.close()
        self._held = keep

    def _deleted_but_held(self, scan: _Scan, opened: set) -> list[Look]:
        """Returns Looks of held files that were deleted since the last pass (no name left)."""
        looks = []
        for key, held in self._held.items():
            if key in opened:
                continue
            try:
                st = os.fstat(held.fd)
                if st.st_nlink:
                    continue             # moved out of the folder, not deleted: not ours to read
                f = held.dup()
            except OSError:
                continue
            scan.files.append(f)
            cached = self._heads.get(key)
            try:
                head = cached[1] if cached else f.head()
                size = f.content_size()
            except (reader.UnreadableFile, OSError):
                continue
            c = discover.Candidate(f.path, f.dev, f.ino, st.st_size, st.st_mtime,
                                   compressed=f.compressed, live=False)
            log.info("Reading a deleted file through the descriptor held. path=%s", f.path)
            looks.append(Look(c, head, size, f))
            opened.add(key)
        return looks

    def close(self) -> None:
        """Closes the files held between passes."""
        for f in self._held.values():
            f.close()
        self._held = {}

    def _skip(self, path: str, exc: Exception) -> None:
        log.warning("File skipped for now. path=%s reason=%s", path, exc)
        self._skipped[path] = str(exc) if path in str(exc) else f"{path}: {exc}"

    def _gzip_checked(self, f: reader.OpenFile, deadline: float | None) -> bool:
        """Returns True once this version of a gzip proved complete, False while still checking.

        Raises UnreadableFile when it is incomplete or corrupt. Each version (inode, size,
        mtime) is checked once, a slice per pass when the pass has a deadline; a bad one is
        left alone until it changes.
        """
        key = (f.dev, f.ino, f.disk_size, f.mtime)
        state = self._gzip.get(key)
        if state is True:
            return True
        if isinstance(state, str):
            raise reader.UnreadableFile(state)
        if state is None:
            if sum(isinstance(v, reader.GzipCheck) for v in self._gzip.values()) >= GZIP_CHECKS:
                return False
            state = self._gzip[key] = reader.GzipCheck(f)
        try:
            done = state.step(deadline)
        except reader.UnreadableFile as exc:
            self._gzip[key] = str(exc)
            raise
        if done:
            self._gzip[key] = True
        return done

    def _forget(self, scan: _Scan) -> None:
        """Drops cached facts of files no longer in the folder (and closes their gzip checks)."""
        live = {(f.dev, f.ino) for f in scan.files}
        for key in [k for k in self._gzip if k[:2] not in live]:
            state = self._gzip.pop(key)
            if isinstance(state, reader.GzipCheck):
                state.close()
        for key in [k for k in self._heads if k not in live and k not in scan.seen]:
            del self._heads[key]

    def _span(self, look: Look, start: int, length: int) -> bytes | None:
        self._seam("marker")
        try:
            return look.file.span(start, length)
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
            rd = reader.LineReader(look.file, g.offset, self.settings.max_line_bytes)
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
        with self._writer.begin() as conn:
            store.store_batch(conn, self.dialect, *job,
                              between=lambda: self._seam("after_insert_before_checkpoint"),
                              bulk=self._bulk, rollups=self.maintain_rollups)
            self._seam("after_checkpoint_before_commit")
        self._seam("after_commit")

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
            self._seam("after_read")
            if not _holds(look, batch.end):
                log.warning("File rewritten in place while read; batch dropped. file_id=%d", fid)
                break
            rejects: list[tuple] = []
            max_ts = parse.max_ts_for(look.cand.mtime)   # a time after it is bad_time
            events, pos = parse.classify_lines(lines, batch.start, fid, max_ts,
                                               lambda row: store.add_reject(rejects, row),
                                               reader.SAMPLE_BYTES)
            if partial:
                pos -= 1                           # the fragment has no newline
                store.split_run_at(rejects, batch.end)
                events, rejects = _flag_partial(events, rejects, batch.end)
            marker = self._marker_before(look, lines, pos, partial)
            if not committer.submit((fid, g.offset, pos, marker, events, rejects, len(lines))):
                break
            prog.bytes_done += pos - g.offset
            prog.lines += len(lines)
            prog.events += len(events)
            prog.malformed += store.malformed_count(rejects)
            g.offset, g.marker = pos, marker
            self._seam("batch")
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
    fa, fb = a.file.stream(), b.file.stream()
    try:
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
    except (OSError, EOFError, zlib.error):
        return False


def _holds(look: Look, end: int = 0) -> bool:
    """Returns True when a file still holds what was identified (and at least ``end`` bytes).

    A descriptor cannot be renamed away, but the file itself can be truncated and rewritten in
    place (copytruncate): then bytes read from it may be another generation's. A gzip is never
    rewritten in place.
    """
    if look.cand.compressed:
        return True
    f = look.file
    try:
        return (os.fstat(f.fd).st_size >= max(end, look.content_size)
                and f.head().startswith(look.head))
    except (OSError, reader.UnreadableFile):
        return False


def _listing(cands: list) -> frozenset:
    """Returns what identifies a listing of the folder: each name with its inode."""
    return frozenset((c.path, c.dev, c.ino) for c in cands)


def _raise_open_files_limit() -> int:
    """Raises the soft limit of open files to the hard one (a pass holds one per file); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft != resource.RLIM_INFINITY and soft < want:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
    return 65536 if soft == resource.RLIM_INFINITY else soft
