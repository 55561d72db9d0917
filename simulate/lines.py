"""Deterministic SFTPGo 2.6 log lines: the LineFactory (clock, queue, users, files).

LineFactory simulates a server: SSH/SFTP sessions (login text line, connection life-cycle
debug lines, "transfer added/removed", Download/Upload, commands, the md5sum SSH command),
FTP and WebClient sessions, scanners and brute-force attempts (``connection_failed``,


defender), httpd request lines and app chatter. Sessions overlap and interleave like on a
real server; times never go backwards. The shapes and key orders are SFTPGo 2.6's own
(zerolog); docs/counting-rules.md says which fields count. The session kinds live beside it
(ssh.py, web.py, background.py) as mixins of this one class.

Every random choice comes from one ``random.Random(seed)``: same arguments, same bytes.
"""
from __future__ import annotations

import heapq
import itertools
import random
from datetime import datetime
from typing import Iterator

from .common import (
    DEFAULT_USERS, HOSTILE_USERS, _ALNUM, _ATTACKER_NAMES, _DIRS, _DOC_EXT, _DOC_NAMES, _MS,
    _PROFILES, _User, _WEEK, _XID, _abs_ms, _bisect, _dt, _jsi, _rand_ip, _sec_str)
from .background import Background
from .ssh import SshSessions
from .web import WebSessions


class LineFactory(SshSessions, WebSessions, Background):
    """Deterministic generator of SFTPGo 2.6 ``sftpgo.log`` lines (bytes ending in ``\\n``).

    ``lines_per_day`` sets the long-run average rate; with ``diurnal`` (default) activity
    follows office hours, a nightly batch window and quieter weekends. ``start`` is the
    naive wall-clock time of the simulation start (a tz-aware value keeps its wall time).
    """

    def __init__(self, seed: int = 0, users: list[str] | None = None,
                 start: datetime | None = None, lines_per_day: float = 20_000.0, *,
                 n_users: int = 30, hostile: bool = False, diurnal: bool = True,
                 defender: bool = True, dup_rate: float = 0.0005,
                 local_ip: str = "172.18.0.2", sftp_port: int = 2022, ftp_port: int = 21,
                 http_port: int = 8080, provider: str = "sqlite",
                 hostname: str = "ecb790fc1fc0", zone: str = "+0000 UTC"):
        self._rng = rng = random.Random(seed)
        self._start_ms = _abs_ms(start if start is not None else datetime(2024, 9, 18))
        self._cur = self._start_ms          # time of the last emitted line
        self._heap: list = []
        self._seq = itertools.count()
        self._last_sec = -1
        self._last_prefix = b""
        self._diurnal = diurnal
        self._defender_on = defender
        self._dup_rate = dup_rate
        self._dup_pending: bytes | None = None
        self._next_dup = self._draw_dup()
        self._zone = zone
        self._provider = "dataprovider_" + provider
        self.hostile = hostile
        self._la_sftp = f"{local_ip}:{sftp_port}"
        self._la_ftp = f"{local_ip}:{ftp_port}"
        self._la_http = f"{local_ip}:{http_port}"
        self._host = "https://files.example.org"
        self._reqid_prefix = hostname + "/" + "".join(rng.choices(_ALNUM, k=10)) + "-"
        self._reqid = rng.randint(1, 5000)
        self._xfer_id = rng.randint(100, 2000)
        self._ftp_counter = 0
        self._open_ends: list[int] = []     # heap of end times of open sessions
        self._avg_group = 12.0              # running mean of lines per planned group
        self._stats_groups = 0
        self._defender_scores: dict[str, int] = {}

        names = list(users) if users else self._default_names(n_users)
        self.users: list[_User] = []
        profiles_for_named = {"backups": "downloader", "speed-camera": "uploader", "allsky": "uploader",
                              "etl-nightly": "uploader", "scanner01": "uploader"}
        for i, name in enumerate(names):
            prof = profiles_for_named.get(name) or rng.choices(
                _PROFILES, weights=(0.12, 0.15, 0.45, 0.18, 0.10))[0]
            self.users.append(_User(name, rng, prof, i))
        # Zipf-like activity: weight 1/(rank^1.1); the first names are the busiest.
        self._weights = [1.0 / (r + 1) ** 1.1 for r in range(len(self.users))]
        if hostile:
            base = len(self.users)
            for k, name in enumerate(HOSTILE_USERS):
                self.users.append(_User(name, rng, rng.choice(_PROFILES), base + k))
                self._weights.append(0.6 / (base + 1))
        self._cum_weights = list(itertools.accumulate(self._weights))
        self._attackers = [_rand_ip(rng) for _ in range(40)]
        self._attacker_names = _ATTACKER_NAMES + (HOSTILE_USERS + ["x" * 300, "admin\x00\x01", "\u00a0nbsp"]
                                                  if hostile else [])

        self.set_rate(lines_per_day, diurnal=diurnal)
        # group kinds and their (relative) arrival probabilities
        self._kinds = [
            (self._plan_ssh_session, 0.44),
            (self._plan_scanner, 0.14),
            (self._plan_bruteforce, 0.035),
            (self._plan_web_session, 0.09),
            (self._plan_ftp_session, 0.06),
            (self._plan_http_noise, 0.09),
            (self._plan_chatter, 0.135),
            (self._plan_misc_app, 0.02),
        ]
        self._kind_fns = [k for k, _ in self._kinds]
        self._kind_cum = list(itertools.accumulate(w for _, w in self._kinds))
        self._next_arrival = self._start_ms

    # ---- public API -------------------------------------------------------------------

    @staticmethod
    def _default_names(n: int) -> list[str]:
        names = DEFAULT_USERS[:n]
        names += [f"user{i:03d}" for i in range(len(names) + 1, n + 1)]
        return names

    def set_rate(self, lines_per_day: float, *, diurnal: bool | None = None) -> None:
        """Changes the average rate from now on (also re-draws the next arrival)."""
        if lines_per_day <= 0:
            raise ValueError("lines_per_day must be > 0")
        self.lines_per_day = float(lines_per_day)
        self._mean_ms = 86_400_000.0 / self.lines_per_day
        if diurnal is not None:
            self._diurnal = diurnal
        if hasattr(self, "_next_arrival"):
            self._next_arrival = self._cur + self._gap(self._avg_group, self._cur)

    @property
    def now(self) -> datetime:
        """Time of the last emitted line (the start before the first one)."""
        return _dt(self._cur)

    @property
    def now_ms(self) -> int:
        return self._cur

    def peek_ms(self) -> int:
        """Absolute ms (since 1970, naive) of the next line."""
        if self._dup_pending is not None:
            return self._cur
        heap = self._heap
        while not heap or heap[0][0] >= self._next_arrival:
            self._spawn()
        return heap[0][0]

    def peek_time(self) -> datetime:
        """Time of the next line ``line()`` will return."""
        return _dt(self.peek_ms())

    def shift_to(self, when: datetime) -> None:
        """Moves every pending line forward so the next one is at ``when`` (never back)."""
        delta = _abs_ms(when) - self.peek_ms()
        if delta <= 0:
            return
        self._heap = [(t + delta, s, h, tl) for (t, s, h, tl) in self._heap]
        heapq.heapify(self._heap)
        self._next_arrival += delta
        self._open_ends = [e + delta for e in self._open_ends]
        heapq.heapify(self._open_ends)

    def line(self) -> bytes:
        """The next line."""
        return next(self.lines(1))

    def lines(self, n: int | None = None) -> Iterator[bytes]:
        """The next ``n`` lines (endless if ``n`` is None)."""
        heap = self._heap
        pop = heapq.heappop
        spawn = self._spawn
        ms_tab = _MS
        remaining = -1 if n is None else n
        while remaining:
            remaining -= 1
            if self._dup_pending is not None:
                out, self._dup_pending = self._dup_pending, None
                yield out
                continue
            while not heap or heap[0][0] >= self._next_arrival:
                spawn()
            t, _, head, tail = pop(heap)
            sec = t // 1000
            if sec != self._last_sec:
                self._last_sec = sec
                self._last_prefix = _sec_str(sec).encode()
            self._cur = t
            out = b"".join((head, self._last_prefix, ms_tab[t - sec * 1000], tail))
            self._next_dup -= 1
            if self._next_dup <= 0:
                self._next_dup = self._draw_dup()
                self._dup_pending = out
            yield out

    # ---- scheduling -------------------------------------------------------------------

    def _draw_dup(self) -> int:
        if self._dup_rate <= 0:
            return 1 << 62
        return 1 + int(self._rng.expovariate(self._dup_rate))

    def _gap(self, n_lines: float, at_ms: int) -> int:
        """Time to the next arrival: exponential in activity-weighted time (exact warp
        through the hourly weights, so the long-run rate is ``lines_per_day``)."""
        need = self._rng.expovariate(1.0) * n_lines * self._mean_ms
        if not self._diurnal:
            return int(need)
        t = at_ms
        while True:
            hour = t // 3_600_000
            w = _WEEK[(hour + 72) % 168]  # 1970-01-01 was a Thursday
            room = (hour + 1) * 3_600_000 - t
            if need <= room * w:
                return int(t + need / w) - at_ms
            need -= room * w
            t += room

    def _spawn(self) -> None:
        t = self._next_arrival
        seq_before = next(self._seq)
        fn = self._kind_fns[_bisect(self._kind_cum, self._rng.random() * self._kind_cum[-1])]
        fn(t)
        planned = next(self._seq) - seq_before - 1
        if planned <= 0:
            planned = 1
        self._avg_group += (planned - self._avg_group) * 0.01
        self._next_arrival = t + max(1, self._gap(planned, t))

    def _push(self, t: int, head: bytes, tail: str) -> None:
        heapq.heappush(self._heap, (t, next(self._seq), head, tail.encode()))

    def _open_conns(self, t: int, end: int) -> int:
        ends = self._open_ends
        while ends and ends[0] <= t:
            heapq.heappop(ends)
        heapq.heappush(ends, end)
        return len(ends)

    def _pick_user(self) -> _User:
        r = self._rng.random() * self._cum_weights[-1]
        return self.users[_bisect(self._cum_weights, r)]

    def _conn_hex(self) -> str:
        return "%064x" % self._rng.getrandbits(256)

    def _xid(self) -> str:
        return "".join(self._rng.choices(_XID, k=20))

    def _port(self) -> int:
        return self._rng.randint(1024, 65535)

    def _file(self, u: _User, kind: str, t: int) -> tuple[str, str, int]:
        """(file_path JSON literal, virtual path inner-JSON, typical size) for a user."""
        rng = self._rng
        if kind == "img":
            d = _dt(t - 86_400_000)
            sub = rng.choice(("full", "debug"))
            tag = rng.choice(("l", "h"))
            shot = _dt(t - 86_400_000 + rng.randint(-43_200_000, 0))
            vp = f"/img/{sub}/{d:%Y-%m-%d}_{tag}/{shot:%H%M%S}_{rng.randint(10000, 99999)}.jpg"
            size = 110_000 if sub == "debug" else 1_400_000
        elif kind == "csv":
            d = _dt(t)
            g = rng.choice(u.groups)
            vp = rng.choice((f"/{g}/dba/dba_log{d:%Y%m%d}.csv", f"/{g}/bt_log{d:%Y%m}.csv",
                             f"/{g}/recorded_speed_{d:%Y%m}.csv", f"/{g}/imgs/{d:%Y%m%d}/cam{rng.randint(1, 9)}_{d:%H%M%S}.jpg"))
            size = 150_000 if vp.endswith(".jpg") else 60_000
        elif kind == "backup":
            d = _dt(t)
            vp = rng.choice((f"/db/dump-{d:%Y%m%d}.sql.gz", f"/files/home-{d:%Y%m%d}.tar.zst",
                             f"/vm/{rng.choice(('web01', 'db01', 'mail'))}-{d:%Y%m%d}.qcow2"))
            size = 900_000_000
        else:
            ext, size = rng.choice(_DOC_EXT)
            vp = f"/{rng.choice(_DIRS)}/{rng.choice(_DOC_NAMES)}{ext}"
        return u.home_j + _jsi(vp) + '"', _jsi(vp), size

    def _size(self, typical: float, u: _User) -> int:
        return max(0, int(typical * u.sizes * self._rng.lognormvariate(0, 0.9)))

    # ---- group planners (each pushes lines at times >= t) -----------------------------
