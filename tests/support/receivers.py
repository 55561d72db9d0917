"""Real receivers on loopback for the delivery tests: an HTTP server (a thread of
http.server) that can be stopped and started again on its port, and an SMTP server
(aiosmtpd) with plain, STARTTLS or TLS, and optional AUTH."""
from __future__ import annotations

import email
import email.policy
import json
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HttpReceiver:
    """Records every POST: (path, headers, parsed JSON body). ``status`` is what it answers."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.got: list[tuple[str, dict, dict]] = []
        self.status = 200
        self._server = None
        self._thread = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "HttpReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                receiver.got.append((self.path, dict(self.headers), json.loads(body)))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def bodies(self, path_prefix: str = "/") -> list[dict]:
        return [b for p, _h, b in self.got if p.startswith(path_prefix)]

    def wait_for(self, n: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.got) < n and time.monotonic() < deadline:
            time.sleep(0.05)


def self_signed(folder: Path) -> tuple[str, str]:
    """Returns (cert, key) files of a certificate for 127.0.0.1 and localhost (openssl)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


class SmtpReceiver:
    """aiosmtpd on loopback; ``mode`` 'plain', 'starttls' or 'tls'; with ``login`` (user,
    password) it requires AUTH. ``messages`` are the parsed e-mails."""

    def __init__(self, mode: str = "plain", login: tuple[str, str] | None = None,
                 cert: tuple[str, str] | None = None):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list = []
        self.port = free_port()
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                receiver.messages.append(email.message_from_bytes(
                    envelope.content, policy=email.policy.default))
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = login is not None and auth_data.login.decode() == login[0] and \
                auth_data.password.decode() == login[1]
            return AuthResult(success=ok, handled=False, auth_data=auth_data)

        context = None
        if mode != "plain":
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*cert)
        kwargs = {"hostname": "127.0.0.1", "port": self.port}
        if mode == "tls":
            kwargs["ssl_context"] = context
        elif mode == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        if login is not None:      # (aiosmtpd takes only STARTTLS for TLS: AUTH over it)
            assert mode != "tls", "aiosmtpd offers AUTH on STARTTLS connections only"
            kwargs.update(authenticator=authenticator, auth_required=True,
                          auth_require_tls=True)
        self.controller = Controller(Handler(), **kwargs)

    def start(self) -> "SmtpReceiver":
        self.controller.start()
        return self

    def stop(self) -> None:
        time.sleep(0.5)            # the server closes a session the client ended just now
        self.controller.stop()
