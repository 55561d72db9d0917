"""Realistic SFTPGo 2.6 log lines, and a lumberjack-style rotating writer.

Used by the tests, the benchmarks and ``app.py --demo``; no SFTPGo server needed.

* ``LineFactory`` simulates a server: SSH/SFTP sessions (login text line, connection
  life-cycle debug lines, "transfer added/removed", Download/Upload, commands, the
  md5sum SSH command), FTP and WebClient sessions, scanners and brute-force attempts
  (``connection_failed``, defender), httpd request lines and app chatter. Sessions overlap
  and interleave like on a real server; times never go backwards.
  The shapes and key orders follow ``docs/sftpgo-log-format.md`` (SFTPGo 2.6 / zerolog).
* ``LumberjackWriter`` writes whole lines with one ``os.write`` each on an O_APPEND fd and
  rotates like gopkg.in/natefinch/lumberjack.v2 (rename to ``sftpgo-<time>.log``, new
  inode for ``sftpgo.log``, optional gzip to ``.log.gz``, pruning).
* ``generate_folder`` fills a folder with rotated files; ``python loggen.py OUT_DIR --mb 100``.

Every random choice comes from one ``random.Random(seed)``: same arguments, same bytes.
"""
from __future__ import annotations

import argparse
import gzip
import heapq
import itertools
import math
import os
import queue
import random
import re
import shutil
import sys
import threading
import time
from datetime import datetime, timedelta
from typing import Callable, Iterable, Iterator

import orjson

__all__ = ["LineFactory", "LumberjackWriter", "generate_folder", "go_quote",
           "DEFAULT_USERS", "HOSTILE_USERS", "DEFAULT_MAX_BYTES", "AVG_LINE_BYTES"]

_EPOCH = datetime(1970, 1, 1)
DEFAULT_MAX_BYTES = int(10.5 * 1024 * 1024)
AVG_LINE_BYTES = 276  # measured mean of the default mix (the msda sample: 278)

DEFAULT_USERS = [
    "backups", "speed-camera", "allsky", "alice", "etl-nightly", "bob", "carol.smith",
    "scanner01", "dwhite", "erin", "frank_ops", "grace", "heidi", "ivan", "judy", "ken.w",
    "laura", "mike", "nina", "oscar", "peggy", "quentin", "rachel", "sybil", "trent",
    "ursula", "victor", "walter", "xena", "yuki",
]
# Names that test escaping and rendering: HTML, quotes, backslash, raw UTF-8, control chars.
HOSTILE_USERS = [
    "<img src=x onerror=alert(1)>", 'o"brien', "zoë.müller-ø", "用户_数据", "back\\slash",
    "'; DROP TABLE users;--", "tab\tand\nnewline", "emoji-\U0001F600",
]
_ATTACKER_NAMES = [
    "root", "admin", "test", "ubuntu", "user", "oracle", "ftpuser", "pi", "guest",
    "postgres", "git", "deploy", "administrator", "support", "www-data", "sftp", "backup",
    "jenkins", "nagios", "hadoop",
]

# ---------------------------------------------------------------------------------------
# helpers


def go_quote(s: str) -> str:
    """Go's strconv.Quote / %q (printable non-ASCII kept as is)."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif 0x20 <= o < 0x7F:
            out.append(ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                        "\t": "\\t", "\v": "\\v"}[ch])
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02x" % o)
        elif ch.isprintable():
            out.append(ch)
        elif o < 0x10000:
            out.append("\\u%04x" % o)
        else:
            out.append("\\U%08x" % o)
    out.append('"')
    return "".join(out)


def _js(s: str) -> str:
    """A JSON string literal, quotes included, encoded like zerolog (raw UTF-8)."""
    r = orjson.dumps(s).decode()
    if "\x7f" in r:  # zerolog escapes DEL, orjson does not
        r = r.replace("\x7f", "\\u007f")
    return r


def _jsi(s: str) -> str:
    """The inside of a JSON string literal (no quotes); concatenation-safe."""
    return _js(s)[1:-1]


def _abs_ms(dt: datetime) -> int:
    """Milliseconds since 1970-01-01 of the naive wall-clock time ``dt`` (tz dropped)."""
    return (dt.replace(tzinfo=None) - _EPOCH) // timedelta(milliseconds=1)


def _dt(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def _sec_str(sec: int) -> str:
    return (_EPOCH + timedelta(seconds=sec)).isoformat()  # YYYY-MM-DDTHH:MM:SS


def _go_time(ms: int, zone: str) -> str:
    """Go time.Time.String() with ms precision: '2024-09-18 03:19:18.001 +0000 UTC'."""
    d = _dt(ms)
    frac = ms % 1000
    s = d.strftime("%Y-%m-%d %H:%M:%S")
    if frac:
        s += (".%03d" % frac).rstrip("0")
    return f"{s} {zone}"


_MS = [b".%03d" % i for i in range(1000)]
_H = {lv: b'{"level":"' + lv.encode() + b'","time":"' for lv in ("debug", "info", "warn", "error")}
_HD, _HI, _HW, _HE = _H["debug"], _H["info"], _H["warn"], _H["error"]
_XID = "0123456789abcdefghijklmnopqrstuv"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

_SSH_CLIENTS = [
    "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5", "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10",
    "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", "SSH-2.0-rclone/v1.53.3-DEV",
    "SSH-2.0-WinSCP_release_6.3.5", "SSH-2.0-paramiko_3.4.0", "SSH-2.0-FileZilla_3.67.1",
    "SSH-2.0-Cyberduck/8.8.2.41285 (Mac OS X/14.5) (x86_64)", "SSH-2.0-Go",
    "SSH-2.0-OpenSSH_for_Windows_9.5", "SSH-2.0-JSCH_0.2.17", "SSH-2.0-SSHJ_0.38.0",
]
_ALGOS = [
    "{KeyExchange:curve25519-sha256@libssh.org HostKey:ecdsa-sha2-nistp256 Read:{Cipher:aes128-gcm@openssh.com MAC: compression:none} Write:{Cipher:aes128-gcm@openssh.com MAC: compression:none}}",
    "{KeyExchange:curve25519-sha256 HostKey:ssh-ed25519 Read:{Cipher:chacha20-poly1305@openssh.com MAC: compression:none} Write:{Cipher:chacha20-poly1305@openssh.com MAC: compression:none}}",
    "{KeyExchange:curve25519-sha256 HostKey:rsa-sha2-512 Read:{Cipher:aes256-gcm@openssh.com MAC: compression:none} Write:{Cipher:aes256-gcm@openssh.com MAC: compression:none}}",
    "{KeyExchange:ecdh-sha2-nistp256 HostKey:rsa-sha2-256 Read:{Cipher:aes128-ctr MAC:hmac-sha2-256-etm@openssh.com compression:none} Write:{Cipher:aes128-ctr MAC:hmac-sha2-256-etm@openssh.com compression:none}}",
    "{KeyExchange:diffie-hellman-group14-sha256 HostKey:rsa-sha2-512 Read:{Cipher:aes256-ctr MAC:hmac-sha2-256 compression:none} Write:{Cipher:aes256-ctr MAC:hmac-sha2-256 compression:none}}",
]
_BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36 Edg/127.0.0.0",
]
_SCAN_UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/60.0.3112.113 Safari/537.36",
    "Mozilla/5.0 zgrab/0.x", "python-requests/2.31.0", "curl/8.5.0",
    "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)", "Go-http-client/1.1",
]
_SCAN_PATHS = [
    "/.env", "/wp-login.php", "/js/NewWindow_2_all.js", "/.git/config", "/cgi-bin/luci/;stok=/locale",
    "/actuator/health", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", "/owa/auth/logon.aspx",
    "/boaform/admin/formLogin", "/server-status", "/favicon.ico", "/robots.txt",
    "/index.php?s=/Index/\\think\\app/invokefunction&function=call_user_func_array&vars[0]=md5&vars[1][]=HelloThinkPHP",
    "/?XDEBUG_SESSION_START=phpstorm", "/api/v1/pods", "/remote/login?lang=en",
]
_SCAN_ERRORS = [
    "EOF", "ssh: overflow reading version string",
    "read tcp {la}->{ip}:{port}: read: connection reset by peer",
    "ssh: disconnect, reason 11: Bye Bye",
    "ssh: no common algorithm for key exchange; client offered: [diffie-hellman-group14-sha1 diffie-hellman-group-exchange-sha1 diffie-hellman-group1-sha1], server offered: [curve25519-sha256 curve25519-sha256@libssh.org ecdh-sha2-nistp256 ecdh-sha2-nistp384 ecdh-sha2-nistp521 diffie-hellman-group14-sha256 ext-info-s kex-strict-s-v00@openssh.com]",
    "ssh: unknown key algorithm: rsa-sha2-512",
    "websocket: the client is not using the websocket protocol",
    "read tcp {la}->{ip}:{port}: i/o timeout",
]
_TLS_ERRORS = [
    "tls: first record does not look like a TLS handshake", "remote error: tls: bad certificate",
    "EOF", "tls: client offered only unsupported versions: [302 301]",
    "read tcp {la}->{ip}:{port}: read: connection reset by peer",
    "tls: no cipher suite supported by both client and server",
]
_DOC_NAMES = [
    "report", "invoice", "Q3-summary", "contract_signed", "budget 2024", "minutes",
    "Überweisung_März", "報告書", "notes (copy)", "scan0001", "draft-v2", "photo_IMG_4411",
    "export", "backup", "données-client", "plan", "presentation", "résumé",
]
_DOC_EXT = [(".pdf", 400_000), (".docx", 120_000), (".xlsx", 80_000), (".csv", 30_000),
            (".zip", 8_000_000), (".jpg", 2_500_000), (".png", 900_000), (".txt", 4_000),
            (".mp4", 60_000_000), (".tar.gz", 150_000_000), (".json", 12_000), (".xml", 50_000)]
_DIRS = ["in", "out", "incoming", "outgoing", "archive", "shared", "docs", "photos",
         "projects/alpha", "projects/beta", "reports/2024", "tmp", "exports", "Documents"]

# Session profiles: how a user behaves.
_PROFILES = ("downloader", "uploader", "human", "web", "ftp")


class _User:
    __slots__ = ("name", "j", "q", "home", "home_j", "ips", "profile", "client", "algos",
                 "method", "method_q", "client_q", "last_login", "groups", "sizes", "ops")

    def __init__(self, name: str, rng: random.Random, profile: str, idx: int):
        self.name = name
        self.j = _js(name)                 # "name" as a JSON literal
        self.q = _jsi(go_quote(name))      # Go-quoted then JSON-escaped (for messages)
        self.home = "/srv/sftpgo/data/" + name
        self.home_j = _js(self.home)[:-1]  # JSON literal without the closing quote
        self.profile = profile
        n_ips = rng.choice((1, 1, 1, 2, 3))
        self.ips = [_rand_ip(rng) for _ in range(n_ips)]
        if profile == "uploader":
            self.client = rng.choice(["SSH-2.0-rclone/v1.53.3-DEV", "SSH-2.0-paramiko_3.4.0",
                                      "SSH-2.0-Go", "SSH-2.0-JSCH_0.2.17"])
        elif profile == "downloader":
            self.client = rng.choice(["SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5", "SSH-2.0-paramiko_3.4.0",
                                      "SSH-2.0-rclone/v1.53.3-DEV", "SSH-2.0-SSHJ_0.38.0"])
        else:
            self.client = rng.choice(_SSH_CLIENTS)
        self.algos = rng.choice(_ALGOS)
        if profile in ("uploader", "downloader") or rng.random() < 0.4:
            fp = "".join(rng.choices(_ALNUM, k=43))
            comment = rng.choice(["", ":ecdsa-key-20240913", ":user@laptop",
                                  ":ed25519-key-2023", ":rsa-key-20220101"])
            self.method = f"publickey: SHA256:{fp}{comment}"
        else:
            self.method = rng.choice(["password", "password", "keyboard-interactive"])
        self.method_q = _jsi(go_quote(self.method))
        self.client_q = _jsi(go_quote(self.client))
        self.last_login = -10**15
        self.groups = [f"{g}" for g in rng.sample(["ny", "ct", "nj", "pa", "ma", "vt"], 2)]
        self.sizes = rng.lognormvariate(0, 0.6)  # per-user size multiplier
        self.ops = 0


class _Conn:
    """One SSH connection's fixed parts, and its planned (time, head, tail) lines."""
    __slots__ = ("u", "ip", "ra", "la", "hexid", "cid", "text", "channel", "events")

    def __init__(self, u: _User, ip: str, port: int, la: str, hexid: str):
        self.u, self.ip, self.la, self.hexid = u, ip, la, hexid
        self.ra = f"{ip}:{port}"
        self.cid = f"SFTP_{hexid}_1"
        self.text = f'local address \\"{la}\\", remote address \\"{self.ra}\\"'
        self.channel = 1
        self.events: list = []


def _rand_ip(rng: random.Random) -> str:
    while True:
        a = rng.randint(1, 223)
        if a not in (10, 127, 172, 192, 169, 100):
            return f"{a}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


# Diurnal/weekly activity weights, normalised to mean 1 over the week (168 hours).
def _week_weights() -> list[float]:
    w = []
    for day in range(7):  # Monday = 0
        weekend = day >= 5
        for h in range(24):
            x = 0.25 + 1.6 * math.exp(-((h - 11.0) ** 2) / 18.0) + 0.6 * math.exp(-((h - 3.0) ** 2) / 2.0)
            w.append(x * (0.45 if weekend else 1.0))
    m = sum(w) / len(w)
    return [max(0.12, x / m) for x in w]


_WEEK = _week_weights()


# ---------------------------------------------------------------------------------------
# the factory


class LineFactory:
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

    def _plan_ssh_session(self, t: int) -> None:
        rng = self._rng
        u = self._pick_user()
        if u.profile == "web":
            return self._plan_web_session(t, u)
        if u.profile == "ftp":
            return self._plan_ftp_session(t, u)
        par = rng.choice((1, 1, 2, 3, 4, 6)) if u.profile == "downloader" else 1
        for _ in range(par):
            self._one_ssh_session(t + rng.randint(0, 400), u)

    def _one_ssh_session(self, t: int, u: _User) -> None:
        """Login text line, ssh/SFTP connection life cycle, then the operations."""
        rng = self._rng
        c = _Conn(u, rng.choice(u.ips), self._port(), self._la_sftp, self._conn_hex())
        t = self._ssh_login(c, t)
        n_ops = {"downloader": 1 + int(rng.expovariate(1 / 18.0)),
                 "uploader": rng.randint(1, 4)}.get(u.profile) or 1 + int(rng.expovariate(1 / 5.0))
        # Operations are planned first so the session end (and open-connection count) is known.
        t_ch = t + rng.randint(1, 60)
        tt = t_ch + rng.randint(5, 200)
        for _ in range(n_ops):
            op = self._sftp_op(u.profile)
            if op in ("dl", "ul"):
                tt = self._sftp_transfer(c, op, tt)
            else:
                self._sftp_command(c, op, tt)
            tt += rng.randint(5, 400) if u.profile != "human" else int(rng.expovariate(1 / 8000.0))
        t_close = tt + rng.randint(1, 2000)
        n_open = self._open_conns(t, t_close)
        push, hexid, cid, gone = self._push, c.hexid, c.cid, max(0, n_open - 1)
        push(t + rng.randint(0, 2), _HD, f'","sender":"common","connection_id":"{hexid}","message":"ssh connection added, num open connections: {n_open}"}}\n')
        push(t_ch, _HD, f'","sender":"SFTP","connection_id":"{cid}","message":"connection added, {c.text}, num open connections: {n_open}"}}\n')
        for ev in c.events:
            push(*ev)
        push(t_close, _HI, f'","sender":"SFTP","connection_id":"{cid}","message":"connection closed, sent exit status {{Status:0}} error: <nil>"}}\n')
        push(t_close, _HD, f'","sender":"SFTP","connection_id":"{cid}","message":"connection removed, {c.text} close fs error: <nil>, num open connections: {gone}"}}\n')
        push(t_close + rng.randint(0, 2), _HD, f'","sender":"common","connection_id":"{hexid}","message":"ssh connection removed, num open ssh connections: {gone}"}}\n')

    def _ssh_login(self, c: "_Conn", t: int) -> int:
        """Failed key/password tries (sometimes), the login text line, last-login update."""
        rng, push, u, ip = self._rng, self._push, c.u, c.ip
        if u.method.startswith("publickey") and rng.random() < 0.12:
            for _ in range(rng.randint(1, 3)):  # the client offers other keys first
                push(t, _HD, f'","sender":"connection_failed","client_ip":"{ip}","username":{u.j},'
                             f'"login_type":"publickey","protocol":"SSH","error":"invalid credentials"}}\n')
                t += rng.randint(0, 3)
        elif not u.method.startswith("publickey") and rng.random() < 0.04:
            push(t, _HD, f'","sender":"connection_failed","client_ip":"{ip}","username":{u.j},'
                         f'"login_type":"{u.method}","protocol":"SSH","error":"invalid credentials"}}\n')
            t += rng.randint(2000, 9000)
        t += rng.randint(15, 400)
        push(t, _HI, f'","sender":"SSH","connection_id":"{c.hexid}","message":"User {u.q} logged in with '
                     f'{u.method_q}, from ip \\"{ip}\\", client version {u.client_q}, '
                     f'negotiated algorithms: {u.algos}"}}\n')
        if t - u.last_login > 600_000:
            u.last_login = t
            push(t + rng.randint(0, 3), _HD, f'","sender":"{self._provider}","message":"last login updated for user {u.q}"}}\n')
        return t

    def _sftp_op(self, profile: str) -> str:
        rng = self._rng
        if profile == "downloader":
            return "dl" if rng.random() < 0.97 else rng.choice(("mkdir", "remove"))
        if profile == "uploader":
            return rng.choices(("ul", "remove", "mkdir", "dl"), weights=(0.7, 0.15, 0.05, 0.1))[0]
        return rng.choices(("dl", "ul", "mkdir", "remove", "rename", "chmod", "rmdir", "setstat"),
                           weights=(0.45, 0.3, 0.05, 0.08, 0.06, 0.02, 0.02, 0.02))[0]

    def _sftp_transfer(self, c: "_Conn", op: str, tt: int) -> int:
        """transfer added / Download|Upload / transfer removed (+ Chtimes, md5sum after uploads)."""
        rng, u, cid, ev = self._rng, c.u, c.cid, c.events
        kind = {"downloader": "img" if rng.random() < 0.93 else "backup", "uploader": "csv"}.get(u.profile, "doc")
        fj, vp, typical = self._file(u, kind, tt)
        size = self._size(typical, u)
        el = int(size / rng.lognormvariate(8.3, 1.0)) + rng.randint(0, 120)  # ~4 MB/s median
        self._xfer_id += 1
        xid = self._xfer_id
        active = rng.choice((1, 1, 1, 2, 3))
        ev.append((tt, _HD, f'","sender":"SFTP","connection_id":"{cid}","message":"transfer added, id: {xid}, active transfers: {active}"}}\n'))
        te = tt + el
        err = ""
        if op == "ul" and rng.random() < 0.03:
            size = rng.choice((0, 0, rng.randint(1, max(1, size)) // 32768 * 32768))
            err = rng.choice(("unexpected EOF", "unexpected EOF", "connection lost",
                              "failure: denying write due to space limit"))
            ev.append((te, _HE, f'","sender":"SFTP","connection_id":"{cid}","message":"transfer error: {err}, path: {_jsi(go_quote(_jstr(fj)))}"}}\n'))
        sender = "Download" if op == "dl" else "Upload"
        ev.append((te, _HI, f'","sender":"{sender}","local_addr":"{c.la}","remote_addr":"{c.ra}","elapsed_ms":{el},'
                            f'"size_bytes":{size},"username":{u.j},"file_path":{fj},"connection_id":"{cid}","protocol":"SFTP"'
                            + (f',"error":"{err}"}}\n' if err else "}\n")))
        ev.append((te + rng.choice((0, 0, 0, 1)), _HD, f'","sender":"SFTP","connection_id":"{cid}","message":"transfer removed, id: {xid} active transfers: {active - 1}"}}\n'))
        tt = te + rng.randint(0, 30)
        if op == "ul" and not err:
            if "rclone" in u.client or "WinSCP" in u.client or rng.random() < 0.25:
                mt = _sec_str((tt - rng.randint(1000, 3_600_000)) // 1000)
                tt += rng.randint(0, 25)
                ev.append((tt, _HI, self._cmd_tail("Chtimes", c.la, c.ra, u, fj, cid, "SFTP", atime=mt, mtime=mt)))
            if rng.random() < (0.6 if "rclone" in u.client else 0.2 if u.profile == "uploader" else 0.0):
                c.channel += 1
                tt = self._md5sum(ev, tt + rng.randint(30, 120), u, c.hexid, c.channel, c.la, c.ra, fj, vp)
        return tt

    def _sftp_command(self, c: "_Conn", op: str, tt: int) -> None:
        rng, u = self._rng, c.u
        mode, target, atime, elapsed = "", '""', "", rng.choice((0, 0, 0, 1, 2, 42))
        if op in ("mkdir", "rmdir"):
            d = _dt(tt)
            sub = f"/{rng.choice(u.groups)}/imgs/{d:%Y%m%d}" if u.profile != "human" else \
                f"/{rng.choice(_DIRS)}/{rng.choice(_DOC_NAMES)}"
            fj = u.home_j + _jsi(sub) + '"'
            sender = "Mkdir" if op == "mkdir" else "Rmdir"
        else:
            fj = self._file(u, "csv" if u.profile == "uploader" else "doc", tt)[0]
            sender = {"remove": "Remove", "rename": "Rename", "chmod": "Chmod", "setstat": "Chtimes"}[op]
            if op == "chmod":
                mode = rng.choice(("-rw-r--r--", "-rwxr-xr-x", "-rw-------"))
            elif op == "rename":
                target = fj[:-1] + rng.choice((".bak", ".old", "_final", " (1)")) + '"'
            elif op == "setstat":
                atime, elapsed = _sec_str((tt - rng.randint(1000, 86_400_000 * 30)) // 1000), 0
        c.events.append((tt, _HI, self._cmd_tail(sender, c.la, c.ra, u, fj, c.cid, "SFTP", mode=mode,
                                                 target=target, atime=atime, mtime=atime, elapsed=elapsed)))

    def _md5sum(self, events: list, t: int, u: _User, hexid: str, channel: int, la: str, ra: str,
                fj: str, vp: str) -> int:
        rng = self._rng
        cid = f"SSH_{hexid}_{channel}"
        # vp is already JSON-inner: the args are printed raw (%v), then JSON-escaped
        events.append((t, _HD, f'","sender":"sshd_exec","connection_id":"{hexid}_{channel}","message":"new ssh command: \\"md5sum\\" args: [{vp}] num args: 1 user: {_jsi(u.name)}, error: <nil>"}}\n'))
        t += rng.randint(0, 2)
        conn_text = f'local address \\"{la}\\", remote address \\"{ra}\\"'
        events.append((t, _HD, f'","sender":"SSH","connection_id":"{cid}","message":"connection added, {conn_text}, num open connections: {rng.randint(1, 25)}"}}\n'))
        events.append((t, _HD, f'","sender":"SSH","connection_id":"{cid}","message":"exit status sent, error: <nil>"}}\n'))
        el = rng.randint(0, 20)
        t += el
        events.append((t, _HI, self._cmd_tail("SSHCommand", la, ra, u, fj, cid, "SSH", elapsed=el,
                                              ssh_command="md5sum " + vp)))
        events.append((t, _HD, f'","sender":"SSH","connection_id":"{cid}","message":"connection removed, {conn_text} close fs error: <nil>, num open connections: {rng.randint(0, 24)}"}}\n'))
        return t

    @staticmethod
    def _cmd_tail(sender: str, la: str, ra: str, u: _User, fj: str, cid: str, proto: str, *,
                  target: str = '""', mode: str = "", atime: str = "", mtime: str = "",
                  elapsed: int = 0, ssh_command: str = "") -> str:
        return (f'","sender":"{sender}","local_addr":"{la}","remote_addr":"{ra}","username":{u.j},'
                f'"file_path":{fj},"target_path":{target},"filemode":"{mode}","uid":-1,"gid":-1,'
                f'"access_time":"{atime}","modification_time":"{mtime}","size":-1,"elapsed":{elapsed},'
                f'"ssh_command":"{ssh_command}","connection_id":"{cid}","protocol":"{proto}"}}\n')

    def _httpd(self, t: int, method: str, ra: str, uri: str, ua: str, status: int, size: int,
               el: int, proto: str = "HTTP/1.1") -> None:
        self._reqid += 1
        head = _HD if status < 400 else (_HW if status < 500 else _HE)
        self._push(t, head, f'","sender":"httpd","local_addr":"{self._la_http}","method":"{method}","proto":"{proto}",'
                            f'"remote_addr":"{ra}","request_id":"{self._reqid_prefix}{self._reqid:06d}",'
                            f'"uri":{_js(uri)},"user_agent":{_js(ua)},"resp_status":{status},'
                            f'"resp_size":{size},"elapsed_ms":{el}}}\n')

    def _plan_web_session(self, t: int, u: _User | None = None) -> None:
        rng = self._rng
        if u is None:
            u = self._pick_user()
        ip = rng.choice(u.ips)
        ra = f"{ip}:{self._port()}"
        ua = _BROWSERS[len(u.name) % len(_BROWSERS)]
        proto = "HTTP/2.0"
        h = self._host
        self._httpd(t, "GET", ra, h + "/web/client/login", ua, 200, rng.randint(6000, 6500), rng.randint(1, 15), proto)
        t += rng.randint(3000, 20000)
        if rng.random() < 0.05:
            self._push(t, _HD, f'","sender":"connection_failed","client_ip":"{ip}","username":{u.j},'
                               f'"login_type":"password","protocol":"HTTP","error":"invalid credentials"}}\n')
            self._httpd(t + 80, "POST", ra, h + "/web/client/login", ua, 200, rng.randint(6000, 6600), rng.randint(60, 120), proto)
            t += rng.randint(4000, 15000)
        self._httpd(t, "POST", ra, h + "/web/client/login", ua, 302, 0, rng.randint(60, 140), proto)
        t += rng.randint(20, 200)
        self._httpd(t, "GET", ra, h + "/web/client/files", ua, 200, rng.randint(20000, 40000), rng.randint(5, 60), proto)
        for _ in range(1 + int(rng.expovariate(1 / 3.0))):
            t += int(rng.expovariate(1 / 6000.0)) + 50
            xid = self._xid()
            cid = f"HTTP_{xid}"
            conn_text = f'local address \\"{self._la_http}\\", remote address \\"{ra}\\"'
            fj, vp, typical = self._file(u, "doc", t)
            size = self._size(typical, u)
            el = int(size / rng.lognormvariate(8.0, 1.0)) + rng.randint(1, 40)
            op = rng.choices(("dl", "ul", "browse"), weights=(0.5, 0.25, 0.25))[0]
            if op == "browse":
                self._httpd(t, "GET", ra, h + "/web/client/files?path=" + _pct(vp.rsplit("/", 1)[0] or "/"), ua, 200,
                            rng.randint(15000, 60000), rng.randint(3, 50), proto)
                continue
            self._push(t, _HD, f'","sender":"HTTP","connection_id":"{cid}","message":"connection added, {conn_text}, num open connections: {rng.randint(1, 20)}"}}\n')
            te = t + el
            if op == "dl":
                self._push(te, _HI, f'","sender":"Download","local_addr":"{self._la_http}","remote_addr":"{ra}","elapsed_ms":{el},'
                                    f'"size_bytes":{size},"username":{u.j},"file_path":{fj},"connection_id":"{cid}","protocol":"HTTP"}}\n')
                self._push(te, _HD, f'","sender":"HTTP","connection_id":"{cid}","message":"connection removed, {conn_text} close fs error: <nil>, num open connections: {rng.randint(0, 19)}"}}\n')
                self._httpd(te, "GET", ra, h + "/web/client/files?path=" + _pct(vp), ua, 200, size, el + rng.randint(0, 3), proto)
            else:
                self._push(te, _HD, f'","sender":"HTTP","connection_id":"{cid}","message":"upload file size {size}, num files 1, deleted files 0, fs path {_jsi(go_quote(_jstr(fj)))}"}}\n')
                self._push(te, _HI, f'","sender":"Upload","local_addr":"{self._la_http}","remote_addr":"{ra}","elapsed_ms":{el},'
                                    f'"size_bytes":{size},"username":{u.j},"file_path":{fj},"connection_id":"{cid}","protocol":"HTTP"}}\n')
                mt = _sec_str((t - rng.randint(60_000, 86_400_000 * 90)) // 1000)
                self._push(te, _HI, self._cmd_tail("Chtimes", self._la_http, ra, u, fj, cid, "HTTP", atime=mt, mtime=mt))
                self._push(te, _HD, f'","sender":"HTTP","connection_id":"{cid}","message":"connection removed, {conn_text} close fs error: <nil>, num open connections: {rng.randint(0, 19)}"}}\n')
                self._httpd(te + 1, "POST", ra, h + "/api/v2/user/files/upload?path=" + _pct(vp.rsplit("/", 1)[0] or "/"),
                            ua, 201, 52, el + rng.randint(1, 5), proto)
            t = te
        if rng.random() < 0.5:
            t += rng.randint(2000, 60000)
            self._httpd(t, "GET", ra, h + "/web/client/logout", ua, 302, 0, rng.randint(0, 3), proto)

    def _plan_ftp_session(self, t: int, u: _User | None = None) -> None:
        rng = self._rng
        if u is None:
            u = self._pick_user()
        self._ftp_counter += 1
        cid = f"FTP_0_{self._ftp_counter}"
        ip = rng.choice(u.ips)
        ra = f"{ip}:{self._port()}"
        la = self._la_ftp
        conn_text = f'local address \\"{la}\\", remote address \\"{ra}\\"'
        tls = "true" if rng.random() < 0.6 else "false"
        t0 = t
        t += rng.randint(20, 800)
        ev = [(t, _HI, f'","sender":"FTP","connection_id":"{cid}","message":"User {u.q} logged in with \\"password\\" from ip \\"{ip}\\", TLS enabled? {tls}"}}\n')]
        if t - u.last_login > 600_000:
            u.last_login = t
            ev.append((t + 1, _HD, f'","sender":"{self._provider}","message":"last login updated for user {u.q}"}}\n'))
        for _ in range(1 + int(rng.expovariate(1 / 4.0))):
            t += int(rng.expovariate(1 / 3000.0)) + 20
            op = rng.choices(("dl", "ul", "remove", "mkdir", "rename"), weights=(0.45, 0.4, 0.07, 0.04, 0.04))[0]
            fj, vp, typical = self._file(u, "doc", t)
            if op in ("dl", "ul"):
                size = self._size(typical, u)
                el = int(size / rng.lognormvariate(8.0, 1.0)) + rng.randint(1, 60)
                self._xfer_id += 1
                ev.append((t, _HD, f'","sender":"FTP","connection_id":"{cid}","message":"transfer added, id: {self._xfer_id}, active transfers: 1"}}\n'))
                te = t + el
                err = ""
                if op == "ul" and rng.random() < 0.03:
                    err, size = "unexpected EOF", size // 3
                sender = "Download" if op == "dl" else "Upload"
                ev.append((te, _HI, f'","sender":"{sender}","local_addr":"{la}","remote_addr":"{ra}","elapsed_ms":{el},'
                                    f'"size_bytes":{size},"username":{u.j},"file_path":{fj},"connection_id":"{cid}",'
                                    f'"protocol":"FTP","ftp_mode":"passive"' + (f',"error":"{err}"}}\n' if err else "}\n")))
                ev.append((te, _HD, f'","sender":"FTP","connection_id":"{cid}","message":"transfer removed, id: {self._xfer_id} active transfers: 0"}}\n'))
                t = te
            elif op == "rename":
                ev.append((t, _HI, self._cmd_tail("Rename", la, ra, u, fj, cid, "FTP", target=fj[:-1] + '.done"')))
            else:
                ev.append((t, _HI, self._cmd_tail("Remove" if op == "remove" else "Mkdir", la, ra, u, fj, cid, "FTP",
                                                  elapsed=rng.randint(0, 3))))
        t_close = t + rng.randint(10, 3000)
        n = self._open_conns(t0, t_close)
        self._push(t0, _HD, f'","sender":"FTP","connection_id":"{cid}","message":"connection added, {conn_text}, num open connections: {n}"}}\n')
        for e in ev:
            self._push(*e)
        self._push(t_close, _HD, f'","sender":"FTP","connection_id":"{cid}","message":"connection removed, {conn_text} close fs error: <nil>, num open connections: {max(0, n - 1)}"}}\n')

    def _defender(self, t: int, ip: str, proto: str, event: str, inc: int) -> bool:
        """Pushes a defender score line; returns True if the ip got banned."""
        if not self._defender_on or inc <= 0:
            return False
        score = self._defender_scores.get(ip, 0) + inc
        self._defender_scores[ip] = score
        self._push(t, _HD, f'","sender":"defender","client_ip":"{ip}","protocol":"{proto}","event":"{event}",'
                           f'"increase_score_by":{inc},"score":{score}}}\n')
        if score >= 15:
            self._defender_scores[ip] = 0
            self._push(t, _HI, f'","sender":"defender","client_ip":"{ip}","protocol":"{proto}","event":"banned"}}\n')
            return True
        return False

    def _plan_scanner(self, t: int) -> None:
        rng = self._rng
        ip = rng.choice(self._attackers) if rng.random() < 0.6 else _rand_ip(rng)
        port = self._port()
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            err = rng.choice(_SCAN_ERRORS).format(la=self._la_sftp, ip=ip, port=port)
            ej = _jsi(err)
            self._push(t, _HD, f'","sender":"sftpd","message":"failed to accept an incoming connection from ip \\"{ip}\\": {ej}"}}\n')
            self._push(t, _HD, f'","sender":"connection_failed","client_ip":"{ip}","username":"","login_type":"no_auth_tried",'
                               f'"protocol":"SSH","error":"{ej}"}}\n')
            t += rng.randint(300, 20000)
            port = self._port()

    def _plan_bruteforce(self, t: int) -> None:
        rng = self._rng
        ip = rng.choice(self._attackers)
        n = rng.randint(2, 25)
        proto = rng.choices(("SSH", "FTP", "HTTP"), weights=(0.8, 0.12, 0.08))[0]
        banned = False
        for _ in range(n):
            if banned:
                if proto == "SSH" and rng.random() < 0.5:
                    self._push(t, _HD, f'","sender":"SSH","message":"connection refused, ip \\"{ip}\\" is banned"}}\n')
                t += rng.randint(500, 5000)
                continue
            if rng.random() < 0.15:
                name = rng.choice(self.users).name
                err, ev, inc = "invalid credentials", "LoginFailed", 1
            else:
                name = rng.choice(self._attacker_names)
                err, ev, inc = f"not found: username {go_quote(name)} does not exist", "UserNotFound", 2
            self._push(t, _HD, f'","sender":"connection_failed","client_ip":"{ip}","username":{_js(name)},'
                               f'"login_type":"password","protocol":"{proto}","error":{_js(err)}}}\n')
            banned = self._defender(t, ip, proto, ev, inc)
            if proto == "SSH" and rng.random() < 0.3:
                self._push(t + rng.randint(0, 3), _HD,
                           f'","sender":"sftpd","message":"failed to accept an incoming connection from ip \\"{ip}\\": '
                           f'[ssh: no auth passed yet, {_jsi(err)}]"}}\n')
            t += rng.randint(200, 4000)

    def _plan_http_noise(self, t: int) -> None:
        rng = self._rng
        ip = rng.choice(self._attackers) if rng.random() < 0.5 else _rand_ip(rng)
        ra = f"{ip}:{self._port()}"
        if rng.random() < 0.35:
            err = rng.choice(_TLS_ERRORS).format(la=self._la_http, ip=ip, port=self._port())
            self._push(t, _HE, f'","sender":"httpd","message":"http: TLS handshake error from {ra}: {_jsi(err)}"}}\n')
            return
        ua = rng.choice(_SCAN_UAS)
        host = rng.choice(("https://128.153.253.130", "https://files.example.org", "http://172.18.0.2:8080"))
        for _ in range(rng.choice((1, 1, 2, 4))):
            path = rng.choice(_SCAN_PATHS)
            st = 404 if path not in ("/", "/favicon.ico") else 200
            if path.startswith("/api/"):
                st = 401
            self._httpd(t, rng.choice(("GET", "GET", "GET", "POST", "HEAD")), ra, host + path, ua, st,
                        24 if st == 404 else rng.randint(0, 300), rng.choice((0, 0, 1, 2)))
            t += rng.randint(50, 3000)
        if rng.random() < 0.2:  # health check from a monitor
            self._httpd(t, "GET", f"10.0.0.{rng.randint(2, 9)}:{self._port()}", "http://127.0.0.1:8080/healthz",
                        "kube-probe/1.30", 200, 2, 0)

    def _plan_chatter(self, t: int) -> None:
        rng = self._rng
        k = rng.random()
        P = self._push
        if k < 0.45:
            P(t, _HD, '","sender":"common","message":"start concurrent transfers check"}\n')
            P(t + rng.choice((0, 0, 1)), _HD, '","sender":"common","message":"waiting for the update of the transfers current size"}\n')
            t2 = t + rng.choice((0, 1))
            P(t2, _HD, '","sender":"common","message":"getting overquota transfers"}\n')
            P(t2, _HD, '","sender":"common","message":"number of overquota transfers: 0"}\n')
        elif k < 0.75:
            P(t, _HD, '","sender":"eventmanager","message":"loading updated rules"}\n')
            P(t + 1, _HD, '","sender":"eventmanager","message":"recently updated event rules loaded: 0"}\n')
            P(t + 1, _HD, '","sender":"eventmanager","message":"event rules updated, fs events: 0, provider events: 0, '
                          'schedules: 0, ip blocked events: 0, certificate events: 0, IDP login events: 0"}\n')
        else:
            prev = t - 600_000
            P(t, _HD, f'","sender":"{self._provider}","message":"start user cache check, update time {_go_time(prev, self._zone)}"}}\n')
            P(t + 1, _HD, f'","sender":"{self._provider}","message":"end user cache check, new update time {_go_time(t + 1, self._zone)}"}}\n')

    def _plan_misc_app(self, t: int) -> None:
        rng = self._rng
        k = rng.random()
        P = self._push
        if k < 0.3:
            lock = _go_time(t - 12 * 3_600_000, self._zone)
            P(t, _HD, f'","sender":"acme","message":"certificate renew lock time {lock}"}}\n')
            P(t, _HD, f'","sender":"acme","message":"lock time saved: \\"{t}\\""}}\n')
            P(t, _HD, '","sender":"acme","message":"loading private key from file \\"certs/acme-v02.api.letsencrypt.org/admin@example.org.key\\", stat error: <nil>"}\n')
        elif k < 0.55:
            u = self._pick_user()
            P(t, _HD, f'","sender":"{self._provider}","message":"external auth completed for user {u.q}, elapsed: {rng.randint(400, 3000)}.{rng.randint(100, 999)}µs"}}\n')
        elif k < 0.75:
            ip = _rand_ip(rng)
            P(t, _HD, f'","sender":"SSH","message":"connection not allowed from ip \\"{ip}\\": you are not allowed to connect"}}\n')
        elif k < 0.9:
            P(t, _HI, '","sender":"eventmanager","message":"executing scheduled rule \\"nightly-cleanup\\""}\n')
            P(t + rng.randint(5, 200), _HI, '","sender":"eventmanager","message":"rule \\"nightly-cleanup\\" executed, errors: 0"}\n')
        else:
            u = self._pick_user()
            P(t, _HW, f'","sender":"SFTP","connection_id":"SFTP_{self._conn_hex()}_1","message":"close idle connection, idle time: 15m0.0{rng.randint(10, 99)}s, username: {u.q} close err: <nil>"}}\n')


def _jstr(lit: str) -> str:
    """Decodes a JSON string literal."""
    return orjson.loads(lit)


def _pct(path: str) -> str:
    from urllib.parse import quote
    return quote(path, safe="")


def _bisect(cum: list[float], x: float) -> int:
    lo, hi = 0, len(cum) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


# ---------------------------------------------------------------------------------------
# lumberjack-style writer

_BACKUP_TS = "%Y-%m-%dT%H-%M-%S"


class LumberjackWriter:
    """Writes whole lines to ``<log_dir>/<name>.log`` and rotates like lumberjack v2.

    * Before a write that would make the file exceed ``max_bytes`` it closes the file,
      renames it to ``<name>-<YYYY-MM-DDTHH-MM-SS.mmm>.log`` (time from ``clock``, default
      ``datetime.now``; bumped by 1 ms when a name is taken or would not sort after the
      previous backup) and creates a new, empty ``<name>.log`` (a new inode).
    * ``compress=True`` gzips each backup to ``.log.gz`` (the gz is written in full, then
      the ``.log`` is deleted): synchronously, or in a background thread with
      ``compress_async=True``. ``compress_pending()`` compresses leftovers on demand.
    * ``max_backups`` > 0 deletes the oldest backups (by name) beyond that count.
    * Each ``write`` is one ``os.write`` on an O_APPEND fd. ``write_raw`` writes bytes
      as given (no rotation check), to produce torn lines on purpose.
    """

    def __init__(self, log_dir: str, max_bytes: int = DEFAULT_MAX_BYTES, compress: bool = False,
                 max_backups: int = 0, name: str = "sftpgo",
                 clock: Callable[[], datetime] | None = None, *, compress_async: bool = False,
                 mode: int = 0o600, compresslevel: int = 6):
        if max_bytes <= 0:
            raise ValueError("max_bytes must be > 0")
        self.log_dir = os.fspath(log_dir)
        os.makedirs(self.log_dir, exist_ok=True)
        if name.endswith(".log"):
            name = name[:-4]
        self.name = name
        self.path = os.path.join(self.log_dir, name + ".log")
        self.max_bytes = int(max_bytes)
        self.compress = compress
        self.compress_async = compress_async
        self.compresslevel = compresslevel
        self.max_backups = max_backups
        self.clock = clock or datetime.now
        self.mode = mode
        self.rotations: list[tuple[str, int]] = []  # (backup path as renamed, inode)
        self._backup_re = re.compile(r"^" + re.escape(name) +
                                     r"-(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3})\.log(\.gz)?$")
        self._last_stamp = -1
        for stem in self._backup_stems():
            self._last_stamp = max(self._last_stamp, _abs_ms(datetime.strptime(stem, _BACKUP_TS + ".%f")))
        self._lock = threading.Lock()
        self._queue: queue.Queue | None = None
        self._worker: threading.Thread | None = None
        self._fd = -1
        self._size = 0
        self._open_existing()

    # ---- file handling ----

    def _open_existing(self) -> None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(self.path, flags, self.mode)
        self._size = os.fstat(self._fd).st_size

    @property
    def size(self) -> int:
        """Bytes in the live file."""
        return self._size

    @property
    def inode(self) -> int:
        return os.fstat(self._fd).st_ino

    def _backup_stems(self) -> list[str]:
        stems = set()
        try:
            names = os.listdir(self.log_dir)
        except FileNotFoundError:
            return []
        for n in names:
            m = self._backup_re.match(n)
            if m:
                stems.add(m.group(1))
        return sorted(stems)

    def backups(self) -> list[str]:
        """Backup paths, oldest first (``.log`` preferred to ``.log.gz`` for one stem)."""
        out = []
        for stem in self._backup_stems():
            base = os.path.join(self.log_dir, f"{self.name}-{stem}.log")
            out.append(base if os.path.exists(base) else base + ".gz")
        return out

    def _stamp(self, when: datetime | None) -> str:
        ms = _abs_ms(when if when is not None else self.clock())
        if ms <= self._last_stamp:
            ms = self._last_stamp + 1
        while True:
            d = _dt(ms)
            stem = d.strftime(_BACKUP_TS) + ".%03d" % (ms % 1000)
            base = os.path.join(self.log_dir, f"{self.name}-{stem}.log")
            if not os.path.exists(base) and not os.path.exists(base + ".gz"):
                break
            ms += 1
        self._last_stamp = ms
        return base

    # ---- writing ----

    def write(self, line: bytes) -> int:
        """Writes whole line(s) with one os.write, rotating first if they would not fit."""
        n = len(line)
        if n > self.max_bytes:
            raise ValueError(f"write length {n} exceeds maximum file size {self.max_bytes}")
        with self._lock:
            if self._size + n > self.max_bytes:
                self._rotate_locked(None)
            written = os.write(self._fd, line)
            while written < n:  # regular files: only on disk full / signals
                written += os.write(self._fd, line[written:])
            self._size += n
        return n

    def write_raw(self, data: bytes) -> int:
        """Writes ``data`` as is (may be a partial line); no rotation check."""
        with self._lock:
            written = os.write(self._fd, data)
            self._size += written
        return written

    def write_lines(self, lines: Iterable[bytes], batch_bytes: int = 0,
                    clock: Callable[[], datetime] | None = None) -> tuple[int, int]:
        """Writes many lines; returns (lines, bytes).

        With ``batch_bytes`` > 0, consecutive lines are joined into writes of up to that
        size (fast, for offline generation); rotation still happens only between lines.
        ``clock`` overrides the writer clock for the rotations of this call.
        """
        n_lines = n_bytes = 0
        if batch_bytes <= 0:
            for ln in lines:
                self.write(ln)
                n_lines += 1
                n_bytes += len(ln)
            return n_lines, n_bytes
        buf: list[bytes] = []
        buffered = 0
        for ln in lines:
            n = len(ln)
            if n > self.max_bytes:
                raise ValueError(f"write length {n} exceeds maximum file size {self.max_bytes}")
            if self._size + buffered + n > self.max_bytes:
                if buf:
                    self._write_all(b"".join(buf))
                    buf.clear()
                    buffered = 0
                with self._lock:
                    self._rotate_locked(clock() if clock else None)
            buf.append(ln)
            buffered += n
            n_lines += 1
            n_bytes += n
            if buffered >= batch_bytes:
                self._write_all(b"".join(buf))
                buf.clear()
                buffered = 0
        if buf:
            self._write_all(b"".join(buf))
        return n_lines, n_bytes

    def _write_all(self, data: bytes) -> None:
        with self._lock:
            mv = memoryview(data)
            while mv:
                k = os.write(self._fd, mv)
                mv = mv[k:]
            self._size += len(data)

    def rotate(self, when: datetime | None = None) -> str:
        """Rotates now (like SIGUSR1); returns the backup path as renamed."""
        with self._lock:
            return self._rotate_locked(when)

    def _rotate_locked(self, when: datetime | None) -> str:
        st = os.fstat(self._fd)
        os.close(self._fd)
        self._fd = -1
        backup = self._stamp(when)
        os.rename(self.path, backup)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(self.path, flags, st.st_mode & 0o7777)
        try:
            os.fchmod(self._fd, st.st_mode & 0o7777)
        except (AttributeError, OSError):
            pass
        self._size = 0
        self.rotations.append((backup, st.st_ino))
        self._after_rotate(backup)
        return backup

    # ---- compression and retention ----

    def _after_rotate(self, backup: str) -> None:
        if self.compress and self.compress_async:
            if self._worker is None:
                self._queue = queue.Queue()
                self._worker = threading.Thread(target=self._work, name="lumberjack-mill", daemon=True)
                self._worker.start()
            self._queue.put(backup)
            return
        if self.compress:
            self.compress_file(backup)
        self.prune()

    def _work(self) -> None:
        q = self._queue
        while True:
            item = q.get()
            try:
                if item is None:
                    return
                try:
                    self.compress_file(item)
                    self.prune()
                except OSError:
                    pass
            finally:
                q.task_done()

    def compress_file(self, path: str) -> str:
        """gzips ``path`` to ``path.gz`` (written in full, then ``path`` is deleted)."""
        dst = path + ".gz"
        try:
            st = os.stat(path)
            with open(path, "rb") as src, open(dst, "wb") as raw:
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=self.compresslevel,
                                   mtime=int(st.st_mtime)) as gz:
                    shutil.copyfileobj(src, gz, 1 << 20)
                raw.flush()
            os.chmod(dst, st.st_mode & 0o7777)
        except BaseException:
            try:
                os.remove(dst)
            except OSError:
                pass
            raise
        os.remove(path)
        return dst

    def compress_pending(self) -> list[str]:
        """Compresses every uncompressed backup (the "later" option); returns the .gz paths."""
        out = []
        for p in self.backups():
            if p.endswith(".log") and not os.path.exists(p + ".gz"):
                out.append(self.compress_file(p))
        return out

    def prune(self) -> list[str]:
        """Deletes the oldest backups beyond ``max_backups`` (0 keeps all)."""
        if self.max_backups <= 0:
            return []
        stems = self._backup_stems()
        removed = []
        for stem in stems[: max(0, len(stems) - self.max_backups)]:
            for ext in (".log", ".log.gz"):
                p = os.path.join(self.log_dir, f"{self.name}-{stem}{ext}")
                try:
                    os.remove(p)
                    removed.append(p)
                except FileNotFoundError:
                    pass
        return removed

    def wait_compression(self) -> None:
        """Blocks until queued asynchronous compressions are done."""
        if self._queue is not None:
            self._queue.join()

    def flush(self) -> None:
        """Lines are unbuffered (os.write); this fsyncs the live file."""
        with self._lock:
            if self._fd >= 0:
                os.fsync(self._fd)

    def close(self) -> None:
        """Closes the live file and waits for background compression."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join()
            self._worker = None

    def __enter__(self) -> "LumberjackWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------------------------------
# folder generation and CLI


def generate_folder(log_dir: str, total_bytes: int, seed: int = 1, start: datetime | None = None,
                    lines_per_day: float | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
                    compress_every: int = 0, *, users: list[str] | None = None, n_users: int = 30,
                    hostile: bool = False, days: float | None = None,
                    **factory_kwargs) -> dict:
    """Fills ``log_dir`` with about ``total_bytes`` of lines, rotated at ``max_bytes``.

    Backup names carry the time of the last line they hold (as lumberjack would).
    ``compress_every`` = N > 0 gzips every N-th backup (1 = all; 0 = none).
    Without ``lines_per_day``, the rate is chosen so the lines span ``days`` (default 365);
    without ``start``, the lines end about now.
    Returns {"files", "backups", "gz", "lines", "bytes", "disk_bytes", "seconds",
    "first_time", "last_time", "log_dir"}.
    """
    t_begin = time.perf_counter()
    est_lines = max(1, total_bytes // AVG_LINE_BYTES)
    if lines_per_day is None:
        lines_per_day = est_lines / (days or 365.0)
    if start is None:
        start = datetime.now().replace(microsecond=0) - timedelta(days=est_lines / lines_per_day)
    fac = LineFactory(seed, users, start, lines_per_day, n_users=n_users, hostile=hostile, **factory_kwargs)
    w = LumberjackWriter(log_dir, max_bytes=max_bytes, compress=False)
    n_rot_before = len(w.rotations)
    first = fac.peek_time()
    n_lines = n_bytes = 0
    buf: list[bytes] = []
    room = max_bytes - w.size        # bytes left in the live file, buffer included
    prev_ms = fac.now_ms
    gen = fac.lines()
    try:
        while n_bytes < total_bytes:
            ln = next(gen)
            n = len(ln)
            if n > room:
                if buf:
                    w._write_all(b"".join(buf))
                    buf.clear()
                w.rotate(_dt(prev_ms))  # named after the last line it holds, as lumberjack would
                k = len(w.rotations) - n_rot_before
                if compress_every > 0 and k % compress_every == 0:
                    w.compress_file(w.rotations[-1][0])
                room = max_bytes
            prev_ms = fac._cur
            buf.append(ln)
            room -= n
            n_lines += 1
            n_bytes += n
            if len(buf) >= 16384:
                w._write_all(b"".join(buf))
                buf.clear()
        if buf:
            w._write_all(b"".join(buf))
    finally:
        w.close()
    files = [os.path.join(log_dir, f) for f in os.listdir(log_dir)]
    return {
        "log_dir": log_dir,
        "files": len(files),
        "backups": len(w.rotations) - n_rot_before,
        "gz": sum(1 for f in files if f.endswith(".gz")),
        "lines": n_lines,
        "bytes": n_bytes,
        "disk_bytes": sum(os.path.getsize(f) for f in files),
        "seconds": round(time.perf_counter() - t_begin, 3),
        "first_time": first.isoformat(timespec="milliseconds") if first else None,
        "last_time": fac.now.isoformat(timespec="milliseconds"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Generate a folder of realistic, rotated SFTPGo 2.6 logs.")
    ap.add_argument("out_dir")
    ap.add_argument("--mb", type=float, default=100.0, help="uncompressed megabytes (MiB) of lines")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gzip", action="store_true", help="gzip every backup (like log_compress)")
    ap.add_argument("--compress-every", type=int, default=0, help="gzip every N-th backup")
    ap.add_argument("--days", type=float, default=365.0, help="time span of the lines, ending now")
    ap.add_argument("--users", type=int, default=30, help="number of users")
    ap.add_argument("--hostile", action="store_true", help="add users with hostile names")
    ap.add_argument("--max-mb", type=float, default=10.5, help="rotation size in MiB")
    ap.add_argument("--start", help="first line time, YYYY-MM-DDTHH:MM:SS (default: now - days)")
    a = ap.parse_args(argv)
    total = int(a.mb * 1024 * 1024)
    est = max(1, total // AVG_LINE_BYTES)
    start = datetime.fromisoformat(a.start) if a.start else None
    stats = generate_folder(a.out_dir, total, seed=a.seed, start=start, lines_per_day=est / a.days,
                            max_bytes=int(a.max_mb * 1024 * 1024),
                            compress_every=1 if a.gzip else a.compress_every,
                            n_users=a.users, hostile=a.hostile)
    mbps = stats["bytes"] / 1048576 / max(stats["seconds"], 1e-9)
    print(orjson.dumps(dict(stats, mb_per_s=round(mbps, 1)), option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
