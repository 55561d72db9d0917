"""WebClient and FTP sessions, and httpd request lines (a mixin of LineFactory)."""
from __future__ import annotations

from .common import (
    _BROWSERS, _HD, _HE, _HI, _HW, _User, _js, _jsi, _jstr, _pct, _sec_str, go_quote)


class WebSessions:
    """WebClient and FTP sessions, and httpd request lines."""

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
