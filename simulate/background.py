"""What else a server logs: defender, scanners, brute force, HTTP noise, chatter (a mixin of LineFactory)."""
from __future__ import annotations

from .common import (
    _HD, _HE, _HI, _HW, _SCAN_ERRORS, _SCAN_PATHS, _SCAN_UAS, _TLS_ERRORS, _go_time, _js,
    _jsi, _rand_ip, go_quote)


class Background:
    """What else a server logs: defender, scanners, brute force, HTTP noise, chatter."""

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
