"""SSH/SFTP sessions: login, transfers, commands, md5sum (a mixin of LineFactory)."""
from __future__ import annotations

from .common import (
    _Conn, _DIRS, _DOC_NAMES, _HD, _HE, _HI, _User, _dt, _jsi, _jstr, _sec_str, go_quote)


class SshSessions:
    """SSH/SFTP sessions: login, transfers, commands, md5sum."""

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
