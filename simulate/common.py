"""Shared data and helpers of the simulator: names, ports, clients, JSON quoting, time text."""
from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

import orjson

__all__ = ["DEFAULT_USERS", "HOSTILE_USERS", "DEFAULT_MAX_BYTES", "AVG_LINE_BYTES", "go_quote"]

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
