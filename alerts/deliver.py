"""Delivery: the outbox rows (alerts/records.py) sent to their channels, at least once.

A sender claims a due row by setting its lease (a conditional UPDATE, committed before it
sends: two processes never send one row at once), sends it with a timeout, then records
``sent``, or the error and the next try (backoff from 30 s, doubling to 1 h) until 24 hours
after the row was queued, then ``failed``. A sender killed between sending and recording
leaves its lease to run out: the row is sent again, with the same id (a receiver can drop
repeats by it). Nothing here runs on the ingestion's thread: ``Sender`` is a daemon thread.

Errors recorded and logged never hold a password or a webhook's address (the channel's
shown name stands for it).
"""
from __future__ import annotations

import json
import logging
import smtplib
import ssl
import threading
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa

import db

from . import message
from .rules import Channel, Config

log = logging.getLogger(__name__)

LEASE_S = 120.0              # a claimed row is another sender's again after this
TIMEOUT_S = 10.0             # one webhook request or SMTP conversation step
RETRY_FOR_S = 24 * 3600.0
BACKOFF_S = (30.0, 3600.0)   # first wait, longest wait
BATCH = 20

_DUE = ("SELECT id, channel, body FROM alert_outbox WHERE status = 'pending'"
        " AND next_epoch <= :now AND (lease_epoch IS NULL OR lease_epoch < :now)"
        " AND channel IN :channels ORDER BY next_epoch, id LIMIT :n")
_CLAIM = ("UPDATE alert_outbox SET lease_epoch = :until WHERE id = :id AND status = 'pending'"
          " AND (lease_epoch IS NULL OR lease_epoch < :now)")
_SENT = ("UPDATE alert_outbox SET status = 'sent', attempts = attempts + 1, lease_epoch = NULL,"
         " sent_at = :at, last_error = NULL WHERE id = :id AND status = 'pending'")
_RETRY = ("UPDATE alert_outbox SET attempts = attempts + 1, lease_epoch = NULL,"
          " last_error = :error, next_epoch = :next,"
          " status = CASE WHEN created_epoch < :give_up THEN 'failed' ELSE 'pending' END"
          " WHERE id = :id AND status = 'pending'")
_EXPIRE = ("UPDATE alert_outbox SET status = 'failed', last_error = COALESCE(last_error,"
           " 'not sent within 24 hours: no process has this channel') WHERE status = 'pending'"
           " AND created_epoch < :give_up AND (lease_epoch IS NULL OR lease_epoch < :now)")


class SendError(Exception):
    """A channel refused or could not be reached; the message is safe to show."""


def backoff(attempts: int) -> float:
    first, longest = BACKOFF_S
    return min(first * 2 ** max(attempts - 1, 0), longest)


# --- the channels ----------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None                 # a 3xx is an answer, not an instruction to POST elsewhere


_OPENER = urllib.request.build_opener(_NoRedirect())


def send_webhook(ch: Channel, body: dict, timeout: float = TIMEOUT_S) -> None:
    """POSTs the body (or its Slack-style text) as JSON; raises SendError."""
    data = message.slack(body) if ch.format == "slack" else \
        {k: v for k, v in body.items() if k not in ("html", "text", "subject")} \
        if body.get("kind") == "digest" else body
    req = urllib.request.Request(
        ch.target, data=json.dumps(data, ensure_ascii=False).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "sftpgo-dashboard-alerts"})
    try:
        with _OPENER.open(req, timeout=timeout) as answer:
            answer.read(65536)
            status = answer.status
    except urllib.error.HTTPError as exc:
        exc.close()
        raise SendError(f"{ch.name} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SendError(f"{ch.name} unreachable: {_plain(reason)}") from None
    if not 200 <= status < 300:
        raise SendError(f"{ch.name} answered HTTP {status}")


def _plain(reason) -> str:
    text = str(reason.strerror if isinstance(reason, OSError) and reason.strerror else reason)
    return text.splitlines()[0][:200] if text else type(reason).__name__


def send_email(ch: Channel, body: dict, smtp_url: str, sender: str,
               timeout: float = TIMEOUT_S * 2) -> None:
    """Sends the alert's (or digest's) e-mail through SMTP_URL; raises SendError."""
    subject, text, page = message.email_parts(body)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ch.target
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(idstring=str(body.get("id", ""))[:32], domain="sftpgo-dashboard")
    if body.get("id"):
        msg["X-Alert-Id"] = str(body["id"])
    msg.set_content(text)
    msg.add_alternative(page, subtype="html")
    u = urlsplit(smtp_url)
    tls = u.scheme == "smtps"
    starttls = "starttls=1" in (u.query or "")
    port = u.port or (465 if tls else 587 if starttls else 25)
    context = ssl.create_default_context()
    try:
        if tls:
            client = smtplib.SMTP_SSL(u.hostname, port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(u.hostname, port, timeout=timeout)
        with client:
            if starttls:
                client.starttls(context=context)
            if u.username:
                client.login(unquote(u.username), unquote(u.password or ""))
            client.send_message(msg)
    except smtplib.SMTPResponseException as exc:
        raise SendError(f"{ch.name}: the mail server answered {exc.smtp_code} "
                        f"{_plain(exc.smtp_error.decode('utf-8', 'replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error)}") from None
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise SendError(f"{ch.name}: mail server {u.hostname}:{port}: {_plain(exc)}") from None


# --- the outbox ------------------------------------------------------------------------------

class Delivery:
    """Sends the due outbox rows of ``config``'s channels (one process's share)."""

    def __init__(self, engine: sa.Engine, config: Config, epoch=time.time, senders=None,
                 seam=None):
        self.engine = engine
        self._seam = seam              # called with "alert_claimed", "alert_sent"
        self.config = config
        self._epoch = epoch
        self.channels = {c.name: c for c in config.channels} | \
            {d.channel.name: d.channel for d in config.digests}
        self._send = senders or {"webhook": send_webhook, "email": self._email}

    def _email(self, ch: Channel, body: dict) -> None:
        send_email(ch, body, self.config.smtp_url, self.config.smtp_from)

    def run_once(self, max_rows: int = BATCH) -> int:
        """Claims and sends up to ``max_rows`` due rows; returns how many were sent. The seam
        is called at "alert_claimed" and "alert_sent" (the crash tests' kill -9)."""
        seam = self._seam
        if not self.channels:
            return 0
        now = self._epoch()
        with self.engine.begin() as conn:
            conn.execute(sa.text(_EXPIRE), {"give_up": now - RETRY_FOR_S, "now": now})
            due = conn.execute(sa.text(_DUE).bindparams(sa.bindparam("channels", expanding=True)),
                               {"now": now, "channels": sorted(self.channels),
                                "n": max_rows}).all()
        sent = 0
        for oid, channel, body in due:
            with self.engine.begin() as conn:
                now = self._epoch()
                if conn.execute(sa.text(_CLAIM), {"id": oid, "now": now,
                                                  "until": now + LEASE_S}).rowcount != 1:
                    continue                 # another sender has it
            if seam:
                seam("alert_claimed")
            ch = self.channels[channel]
            try:
                self._send[ch.kind](ch, json.loads(body))
            except SendError as exc:
                self._retry(oid, str(exc))
                log.warning("Alert not delivered, will retry. channel=%s error=%s", ch.name, exc)
                continue
            except Exception as exc:         # a bug: record it, retry later, never crash
                self._retry(oid, f"{type(exc).__name__}")
                log.error("Alert delivery failed. channel=%s", ch.name, exc_info=True)
                continue
            if seam:
                seam("alert_sent")
            with self.engine.begin() as conn:
                conn.execute(sa.text(_SENT), {"id": oid, "at": _now_text()})
            sent += 1
        return sent

    def _retry(self, oid: str, error: str) -> None:
        now = self._epoch()
        with self.engine.begin() as conn:
            attempts = conn.execute(sa.text("SELECT attempts FROM alert_outbox WHERE id = :id"),
                                    {"id": oid}).scalar() or 0
            conn.execute(sa.text(_RETRY), {"id": oid, "error": error[:1000],
                                           "next": now + backoff(attempts + 1),
                                           "give_up": now - RETRY_FOR_S})

    def due_soon(self) -> float | None:
        """Returns the epoch of the next due row of these channels (None: none pending)."""
        if not self.channels:
            return None
        with self.engine.connect() as conn:
            return conn.execute(sa.text(
                "SELECT MIN(CASE WHEN lease_epoch IS NOT NULL AND lease_epoch > next_epoch"
                " THEN lease_epoch ELSE next_epoch END) FROM alert_outbox"
                " WHERE status = 'pending' AND channel IN :channels").bindparams(
                    sa.bindparam("channels", expanding=True)),
                {"channels": sorted(self.channels)}).scalar()


def _now_text() -> str:
    from datetime import datetime
    return datetime.now().isoformat(sep=" ", timespec="milliseconds")


class Sender:
    """A daemon thread that runs Delivery.run_once whenever rows may be due: woken by
    ``poke()`` (a step queued something), else every ``idle_s``."""

    def __init__(self, delivery: Delivery, idle_s: float = 5.0):
        self.delivery = delivery
        self.idle_s = idle_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alert-sender", daemon=True)

    def start(self) -> "Sender":
        self._thread.start()
        return self

    def poke(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def drain(self, max_seconds: float) -> None:
        """Sends what is due now, for up to ``max_seconds`` (ingest.py before it exits)."""
        deadline = time.monotonic() + max_seconds
        while time.monotonic() < deadline:
            try:
                if self.delivery.run_once() == 0:
                    return
            except (sa.exc.DBAPIError, db.DatabaseError) as exc:
                log.warning("Alert delivery paused: database unusable. error=%s", exc)
                return

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                while self.delivery.run_once() and not self._stop.is_set():
                    pass
            except (sa.exc.DBAPIError, db.DatabaseError) as exc:
                log.warning("Alert delivery paused: database unusable. error=%s",
                            db.error_reason(exc) if isinstance(exc, sa.exc.DBAPIError) else exc)
            except Exception:
                log.error("Alert delivery failed.", exc_info=True)
            self._wake.wait(self.idle_s)
            self._wake.clear()
