"""Transports: Django email backends. SMTP (DKIM-signed when the workspace has a key), any
django-anymail provider, or the sandbox mailbox.

`send_batch(emails, sending)` hands a batch to the workspace's transport and returns one Outcome
per email, in order: sent (with its message id), retry (temporary: 4xx, connection dropped, server
down), failed (permanent, with the reason; `suppress` when the recipient was refused) or in doubt
(the connection dropped after the email was handed over: the server may have it, never resend it
blindly). One email's failure does not stop the others. SMTP connections stay open in this
process between batches (ConnectionPool), up to `smtp_connections` of them used at once.
`send(email, sending)` is the batch of one: it returns the message id or raises DeliveryError.
Retrying is the outbox's business (delivery.actions).
"""

import base64
import os
import re
import secrets
import smtplib
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.header import Header
from email.utils import formatdate, getaddresses, make_msgid

import dkim
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import ADDRESS_HEADERS, BadHeaderError, sanitize_address
from django.core.mail.utils import DNS_NAME

SIGNED_HEADERS = [b"From", b"To", b"Subject", b"Date", b"Message-ID", b"List-Unsubscribe", b"List-Unsubscribe-Post"]
IDLE_SECONDS = 60  # an SMTP connection unused this long is closed
MAX_SMTP_CONNECTIONS = 10  # the most a workspace may use at once per worker (smtp_connections)

SENT, RETRY, FAILED, IN_DOUBT = "sent", "retry", "failed", "in_doubt"


class DeliveryError(Exception):
    """A transport's refusal. `permanent`: retrying will not help; `suppress`: the recipient was
    refused (5xx), so the address goes on the suppression list (defaults to `permanent`);
    `in_doubt`: the server may have accepted the email."""

    def __init__(self, message, permanent=False, suppress=None, in_doubt=False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.suppress = permanent if suppress is None else suppress
        self.in_doubt = in_doubt


@dataclass(frozen=True)
class Outcome:
    """What became of one email of a batch."""

    status: str  # SENT, RETRY, FAILED or IN_DOUBT
    message_id: str = ""  # SENT: the provider's id, or the Message-ID header sent over SMTP
    reason: str = ""  # why it was not sent (or which recipients of a sent email were refused)
    suppress: bool = False  # FAILED because the recipient was refused: suppress the address

    @property
    def error(self):
        """The DeliveryError of an email that was not sent, None for a sent one."""
        if self.status == SENT:
            return None
        return DeliveryError(
            self.reason, permanent=self.status == FAILED, suppress=self.suppress, in_doubt=self.status == IN_DOUBT
        )


def dkim_sign(message_bytes, domain, selector, private_key):
    """The message with a DKIM-Signature header prepended (relaxed/relaxed, rsa-sha256)."""
    headers = [h for h in SIGNED_HEADERS if h.lower() + b":" in message_bytes.lower()]
    signature = dkim.sign(
        message_bytes,
        selector.encode(),
        domain.encode(),
        private_key.encode() if isinstance(private_key, str) else private_key,
        include_headers=headers,
        canonicalize=(b"relaxed", b"relaxed"),
    )
    return signature + message_bytes


class DKIMSMTPBackend(SMTPBackend):
    """Django's SMTP backend, signing each message with the workspace's DKIM key when it has one."""

    def __init__(self, *args, dkim_domain="", dkim_selector="", dkim_private_key="", **kwargs):
        super().__init__(*args, **kwargs)
        self.dkim_domain, self.dkim_selector, self.dkim_private_key = dkim_domain, dkim_selector, dkim_private_key

    def envelope(self, email_message):
        """(from, recipients, the bytes to send: DKIM-signed when a key is set, message id)."""
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        from_email = sanitize_address(email_message.from_email, encoding)
        recipients = [sanitize_address(addr, encoding) for addr in email_message.recipients()]
        data, message_id = mime_bytes(email_message)
        if self.dkim_private_key and self.dkim_selector and self.dkim_domain:
            data = dkim_sign(data, self.dkim_domain, self.dkim_selector, self.dkim_private_key)
        return from_email, recipients, data, message_id

    def _send(self, email_message):
        if not email_message.recipients():
            return False
        from_email, recipients, data, _ = self.envelope(email_message)
        self.connection.sendmail(from_email, recipients, data)  # errors propagate: the caller classifies them
        return True


def connection_for(sending):
    """The email backend of a workspace's sending settings (not opened)."""
    if sending is not None and sending.transport == "smtp" and sending.smtp_host:
        return DKIMSMTPBackend(
            host=sending.smtp_host,
            port=sending.smtp_port,
            username=sending.smtp_username or None,
            password=sending.smtp_password or None,
            use_tls=sending.smtp_use_tls and not sending.smtp_use_ssl,
            use_ssl=sending.smtp_use_ssl,
            timeout=30,
            fail_silently=False,
            **_dkim_of(sending),
        )
    backend = settings.EMAIL_BACKEND
    if backend == "django.core.mail.backends.smtp.EmailBackend":
        return DKIMSMTPBackend(fail_silently=False, timeout=30, **_dkim_of(sending))
    return get_connection(backend, fail_silently=False)


def _dkim_of(sending):
    if sending is None or not sending.dkim_private_key:
        return {}
    return {
        "dkim_domain": sending.sender_domain,
        "dkim_selector": sending.dkim_selector,
        "dkim_private_key": sending.dkim_private_key,
    }


def _classify(error):
    """DeliveryError for an exception of a backend: 5xx and refused recipients are permanent."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        permanent = bool(codes) and all(500 <= code < 600 for code in codes)
        return DeliveryError(f"Recipient refused: {error.recipients}", permanent=permanent)
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        return DeliveryError(f"SMTP {error.smtp_code}: {text}", permanent=500 <= error.smtp_code < 600, suppress=False)
    if isinstance(error, (smtplib.SMTPException, socket.error, TimeoutError)):
        return DeliveryError(f"SMTP connection failed: {error}", permanent=False)
    try:
        from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
    except ImportError:  # pragma: no cover - anymail is a requirement
        AnymailAPIError = AnymailRecipientsRefused = ()  # noqa: N806
    if AnymailRecipientsRefused and isinstance(error, AnymailRecipientsRefused):
        return DeliveryError(f"Recipient refused by the provider: {error}", permanent=True)
    if AnymailAPIError and isinstance(error, AnymailAPIError):
        status = getattr(error, "status_code", None)
        permanent = status is not None and 400 <= status < 500 and status not in (408, 429)
        return DeliveryError(f"Provider error: {error}", permanent=permanent, suppress=False)
    return DeliveryError(f"{type(error).__name__}: {error}", permanent=False)


def _outcome_of_error(error):
    failure = _classify(error)
    return Outcome(FAILED if failure.permanent else RETRY, reason=failure.message, suppress=failure.suppress)


def mime_bytes(email):
    """(the message as bytes with CRLF line ends, its Message-ID). Our own emails (a text part and
    an HTML alternative, nothing attached) are written directly, each part base64 (C-speed: the
    email package's generator and its quoted-printable take about 5 ms per reference email, more
    than its render); anything else goes through Django's `message()`. The two read the same to any
    mail client (tests/delivery/test_mime.py)."""
    plain = (
        type(email) is EmailMultiAlternatives
        and not email.attachments
        and len(email.alternatives) == 1
        and email.alternatives[0][1] == "text/html"
        and email.content_subtype == "plain"
    )
    if not plain:
        message = email.message()
        return message.as_bytes(linesep="\r\n"), str(message["Message-ID"] or "")
    encoding = email.encoding or settings.DEFAULT_CHARSET
    extra = {name.lower(): (name, value) for name, value in email.extra_headers.items()}
    message_id = extra.pop("message-id", (None, None))[1] or make_msgid(domain=DNS_NAME)
    date = extra.pop("date", (None, None))[1] or formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
    headers = [
        ("Subject", email.subject),
        ("From", extra.pop("from", (None, email.from_email))[1]),
        ("To", extra.pop("to", (None, ", ".join(map(str, email.to))))[1]),
    ]
    if email.cc:
        headers.append(("Cc", ", ".join(map(str, email.cc))))
    if email.reply_to:
        headers.append(("Reply-To", extra.pop("reply-to", (None, ", ".join(map(str, email.reply_to))))[1]))
    headers += [("Date", date), ("Message-ID", message_id)]
    headers += list(extra.values())
    boundary = "=_wl_" + secrets.token_hex(12)
    lines = [f"{name}: {_header_value(name, value, encoding)}" for name, value in headers]
    lines += ["MIME-Version: 1.0", f'Content-Type: multipart/alternative; boundary="{boundary}"', ""]
    for subtype, content in (("plain", email.body), ("html", email.alternatives[0][0])):
        lines += [
            f"--{boundary}",
            f'Content-Type: text/{subtype}; charset="{encoding}"',
            "Content-Transfer-Encoding: base64",
            "",
            # text in its canonical form, CRLF line ends (RFC 2045), as a client decodes it
            _base64_lines(content.replace("\r\n", "\n").replace("\n", "\r\n").encode(encoding)),
        ]
    lines += [f"--{boundary}--", ""]
    return "\r\n".join(lines).encode("ascii"), message_id


def _header_value(name, value, encoding):
    """A header value as it goes on the wire: addresses sanitized, other text RFC 2047-encoded
    when it is not ASCII, never a line break (a header cannot be injected)."""
    value = str(value)
    if "\n" in value or "\r" in value:
        raise BadHeaderError(f"Header values can't contain newlines (got {value!r} for header {name!r})")
    if name.lower() in ADDRESS_HEADERS:
        return ", ".join(sanitize_address(addr, encoding) for addr in getaddresses((value,)))
    try:
        value.encode("ascii")
    except UnicodeEncodeError:
        return Header(value, encoding, header_name=name).encode()
    return value


def _base64_lines(data):
    """base64 in lines of 76 characters (RFC 2045), CRLF between them."""
    encoded = base64.b64encode(data).decode("ascii")
    return "\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def build_email(*, subject, html, text, from_email, to, headers, reply_to=None):
    email = EmailMultiAlternatives(
        subject=subject, body=text, from_email=from_email, to=[to], headers=headers, reply_to=reply_to or None
    )
    email.attach_alternative(html, "text/html")
    return email


def send(email, sending):
    """Hand one email to the workspace's transport. Returns the provider's message id (or "");
    raises DeliveryError when it was not sent."""
    outcome = send_batch([email], sending)[0]
    if outcome.status != SENT:
        raise outcome.error
    return outcome.message_id


def send_batch(emails, sending):
    """Hand the emails to the workspace's transport: a list of Outcome, one per email, in order."""
    emails = list(emails)
    if not emails:
        return []
    backend = connection_for(sending)
    if isinstance(backend, DKIMSMTPBackend):
        connections = min(max(1, getattr(sending, "smtp_connections", 1) or 1), MAX_SMTP_CONNECTIONS)
        return _send_over_smtp(backend, emails, connections, lambda: connection_for(sending))
    if _is_anymail(backend):
        return _send_through_provider(backend, emails)
    return _send_one_by_one(backend, emails)


# -- SMTP: kept connections ---------------------------------------------------------------------


class ConnectionPool:
    """This process's open SMTP connections, kept between batches: a list of idle ones per server
    and login. A checked-out connection serves one batch (or one thread of it) at a time; idle
    ones are closed after `idle_seconds` (by a daemon thread, or when next checked out)."""

    def __init__(self, idle_seconds=IDLE_SECONDS):
        self.idle_seconds = idle_seconds
        self._forget()

    def _forget(self):
        # After a fork the child must not talk over its parent's sockets: it starts with none.
        self._idle = {}  # key -> [(backend, when it was last used: time.monotonic())]
        self._lock = threading.Lock()
        self._reaper = None

    def checkout(self, key, make):
        """An open connection for `key`: the most recently used idle one, or make() opened."""
        now, stale, backend = time.monotonic(), [], None
        with self._lock:
            idle = self._idle.get(key, [])
            while idle and backend is None:
                candidate, last_used = idle.pop()
                if now - last_used > self.idle_seconds:
                    stale.append(candidate)
                else:
                    backend = candidate
        for candidate in stale:
            _close_quietly(candidate)
        if backend is None:
            backend = make()
            backend.open()
        return backend

    def checkin(self, key, backend, keep):
        """Back to the idle list, kept open unless `keep` connections for `key` already are."""
        with self._lock:
            idle = self._idle.setdefault(key, [])
            kept = backend.connection is not None and len(idle) < keep
            if kept:
                idle.append((backend, time.monotonic()))
                if self._reaper is None:
                    self._reaper = threading.Thread(target=self._reap, name="smtp-idle-close", daemon=True)
                    self._reaper.start()
        if not kept:
            _close_quietly(backend)

    def close_idle(self, now=None):
        """Close the connections idle for longer than idle_seconds (at `now`, time.monotonic())."""
        now = time.monotonic() if now is None else now
        stale = []
        with self._lock:
            for key, idle in self._idle.items():
                stale += [backend for backend, last in idle if now - last > self.idle_seconds]
                self._idle[key] = [(backend, last) for backend, last in idle if now - last <= self.idle_seconds]
        for backend in stale:
            _close_quietly(backend)
        return len(stale)

    def close_all(self):
        with self._lock:
            backends = [backend for idle in self._idle.values() for backend, _ in idle]
            self._idle = {}
        for backend in backends:
            _close_quietly(backend)

    def _reap(self):
        while True:
            time.sleep(self.idle_seconds / 4)
            self.close_idle()


POOL = ConnectionPool()
os.register_at_fork(after_in_child=POOL._forget)


def _close_quietly(backend):
    try:
        backend.close()
    except Exception:  # noqa: BLE001 - a connection being thrown away may fail any way it likes
        pass


def _server_key(backend):
    return (
        backend.host,
        backend.port,
        backend.username,
        backend.password,
        backend.use_tls,
        backend.use_ssl,
        backend.timeout,
        backend.ssl_keyfile,
        backend.ssl_certfile,
    )


class _Dropped(Exception):
    """The SMTP connection is gone; `in_doubt`: it went after the whole email was sent."""

    def __init__(self, reason, in_doubt=False):
        super().__init__(reason)
        self.reason, self.in_doubt = reason, in_doubt


def _send_over_smtp(first, emails, connections, make):
    """The batch over up to `connections` kept connections at once, in contiguous parts."""
    key = _server_key(first)
    dkim_attrs = (first.dkim_domain, first.dkim_selector, first.dkim_private_key)
    size = -(-len(emails) // min(connections, len(emails)))
    parts = [emails[i : i + size] for i in range(0, len(emails), size)]
    if len(parts) == 1:
        return _send_part(key, make, dkim_attrs, emails, connections)
    with ThreadPoolExecutor(max_workers=len(parts), thread_name_prefix="smtp-send") as executor:
        results = executor.map(lambda part: _send_part(key, make, dkim_attrs, part, connections), parts)
        return [outcome for part in results for outcome in part]


def _send_part(key, make, dkim_attrs, emails, keep):
    """Send over one kept connection: reconnect after a drop; an email the server never saw goes
    once more on the new connection; one it may have accepted is in doubt, never resent."""
    outcomes, backend = [], None
    for index, email in enumerate(emails):
        outcome = None
        for _ in range(2):
            if backend is None:
                try:
                    backend = POOL.checkout(key, make)
                except Exception as error:  # noqa: BLE001 - connect, TLS, login: each fails its own way
                    reason = f"Could not connect to the SMTP server: {_describe(error)}"
                    return outcomes + [Outcome(RETRY, reason=reason)] * (len(emails) - index)
                backend.dkim_domain, backend.dkim_selector, backend.dkim_private_key = dkim_attrs
            try:
                outcome = _transact(backend, email)
            except _Dropped as drop:
                _close_quietly(backend)
                backend = None
                outcome = Outcome(IN_DOUBT if drop.in_doubt else RETRY, reason=drop.reason)
                if drop.in_doubt:
                    break
                continue  # the server never had it: once more, on a new connection
            if backend.connection is None or backend.connection.sock is None:  # closed after a reply
                _close_quietly(backend)
                backend = None
            break
        outcomes.append(outcome)
    if backend is not None:
        POOL.checkin(key, backend, keep)
    return outcomes


def _transact(backend, email):
    """One SMTP transaction for the email: its Outcome, or _Dropped when the connection went."""
    if not email.recipients():
        return Outcome(FAILED, reason="The email has no recipient.")
    try:
        from_email, recipients, data, message_id = backend.envelope(email)
    except Exception as error:  # noqa: BLE001 - a header or a key that cannot be encoded
        return Outcome(FAILED, reason=f"The email could not be built: {_describe(error)}")
    conn = backend.connection
    refused = {}
    try:
        conn.ehlo_or_helo_if_needed()
        options = [f"size={len(data)}"] if conn.does_esmtp and conn.has_extn("size") else []
        code, reply = conn.mail(from_email, options)
        if code != 250:
            return _refusal(conn, code, reply, "The SMTP server refused the sender")
        for recipient in recipients:
            code, reply = conn.rcpt(recipient)
            if code == 421:
                return _refusal(conn, code, reply, "The SMTP server refused the recipient")
            if code not in (250, 251):
                refused[recipient] = (code, _text(reply))
        if len(refused) == len(recipients):
            _reset(conn)
            permanent = all(500 <= code < 600 for code, _ in refused.values())
            reason = "The SMTP server refused the recipient: " + "; ".join(
                f"{address}: {code} {text}" for address, (code, text) in refused.items()
            )
            return Outcome(FAILED if permanent else RETRY, reason=reason, suppress=permanent)
        code, reply = conn.docmd("data")
        if code != 354:
            return _refusal(conn, code, reply, "The SMTP server refused the message")
        payload = re.sub(rb"(?m)^\.", b"..", data)
        conn.send(payload + (b"" if payload.endswith(b"\r\n") else b"\r\n") + b".\r\n")
    except (smtplib.SMTPException, OSError) as error:
        # Before the end of the data: the server cannot have accepted this email.
        conn.close()
        raise _Dropped(f"The connection to the SMTP server dropped: {_describe(error)}") from error
    try:
        code, reply = conn.getreply()
    except (smtplib.SMTPException, OSError) as error:
        conn.close()
        raise _Dropped(
            "The connection to the SMTP server dropped after the email was handed over, before the "
            f"server answered: it may have been accepted ({_describe(error)})",
            in_doubt=True,
        ) from error
    if code == 250:
        note = "; ".join(f"Refused: {address}: {code} {text}" for address, (code, text) in refused.items())
        return Outcome(SENT, message_id=message_id, reason=note)
    return _refusal(conn, code, reply, "The SMTP server refused the message", after_data=True)


def _refusal(conn, code, reply, what, after_data=False):
    """The Outcome of a refusal that is not the recipient's: 5xx failed (not suppressed), 4xx retried.
    421: the server is closing the connection, and has not taken the email."""
    reason = f"{what}: {code} {_text(reply)}"
    if code == 421:
        conn.close()
        raise _Dropped(f"The SMTP server closed the connection: {reason}")
    if not after_data:
        _reset(conn)
    return Outcome(FAILED if 500 <= code < 600 else RETRY, reason=reason)


def _reset(conn):
    try:
        conn.rset()
    except (smtplib.SMTPException, OSError):
        conn.close()  # the next email gets a new connection


def _text(reply):
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _describe(error):
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return str(error) or type(error).__name__


# -- django-anymail providers and other backends ------------------------------------------------


def _is_anymail(backend):
    try:
        from anymail.backends.base import AnymailBaseBackend
    except ImportError:  # pragma: no cover - anymail is a requirement
        return False
    return isinstance(backend, AnymailBaseBackend)


def _send_through_provider(backend, emails):
    """anymail's send_messages with the batch in one session. It stops at the first error: the
    email that raised is the last one it gave a status, those before it went out, the rest go on
    in another call."""
    outcomes = [None] * len(emails)
    for email in emails:
        email.anymail_status = None
    try:
        backend.open()
    except Exception as error:  # noqa: BLE001
        return [_outcome_of_error(error)] * len(emails)
    try:
        start = 0
        while start < len(emails):
            failed_at, error = len(emails), None
            try:
                backend.send_messages(emails[start:])
            except Exception as raised:  # noqa: BLE001 - every provider raises its own kinds
                tried = [i for i in range(start, len(emails)) if emails[i].anymail_status is not None]
                failed_at, error = (tried[-1] if tried else start), raised
            for index in range(start, failed_at):
                outcomes[index] = _provider_outcome(emails[index])
            if error is not None:
                outcomes[failed_at] = _outcome_of_error(error)
            start = failed_at + 1
    finally:
        _close_quietly(backend)
    return outcomes


def _provider_outcome(email):
    status = email.anymail_status
    statuses = set(status.status or ()) if status is not None else set()
    if statuses & {"sent", "queued", "scheduled", "unknown"}:
        return Outcome(SENT, message_id="" if status.message_id is None else str(status.message_id))
    detail = ", ".join(f"{address}: {r.status}" for address, r in (status.recipients if status else {}).items())
    if statuses and statuses <= {"rejected", "invalid"}:
        return Outcome(FAILED, reason=f"The provider refused the recipient ({detail}).", suppress=True)
    if statuses:
        return Outcome(RETRY, reason=f"The provider could not send it ({detail}).")
    return Outcome(RETRY, reason="The transport accepted nothing.")


def _send_one_by_one(backend, emails):
    """Any other backend (the sandbox mailbox, console, locmem): one email per call, one session."""
    outcomes = []
    backend.open()
    try:
        for email in emails:
            try:
                sent = backend.send_messages([email])
            except Exception as error:  # noqa: BLE001 - every backend raises its own kinds
                outcomes.append(_outcome_of_error(error))
                continue
            if sent:
                outcomes.append(Outcome(SENT, message_id=str(email.extra_headers.get("Message-ID", ""))))
            else:
                outcomes.append(Outcome(RETRY, reason="The transport accepted nothing."))
    finally:
        _close_quietly(backend)
    return outcomes
