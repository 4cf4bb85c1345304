"""Transports: Django email backends. SMTP (DKIM-signed when the workspace has a key), any
django-anymail provider, or the sandbox mailbox. A transport returns the provider's message id or
raises DeliveryError(message, permanent=...); retrying is the outbox's business (delivery.actions).
"""

import smtplib
import socket

import dkim
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address

SIGNED_HEADERS = [b"From", b"To", b"Subject", b"Date", b"Message-ID", b"List-Unsubscribe", b"List-Unsubscribe-Post"]


class DeliveryError(Exception):
    def __init__(self, message, permanent=False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


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

    def _send(self, email_message):
        if not (self.dkim_private_key and self.dkim_selector and self.dkim_domain):
            return super()._send(email_message)
        if not email_message.recipients():
            return False
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        from_email = sanitize_address(email_message.from_email, encoding)
        recipients = [sanitize_address(addr, encoding) for addr in email_message.recipients()]
        message = email_message.message()
        signed = dkim_sign(
            message.as_bytes(linesep="\r\n"), self.dkim_domain, self.dkim_selector, self.dkim_private_key
        )
        self.connection.sendmail(from_email, recipients, signed)  # errors propagate: the caller classifies them
        return True


def connection_for(sending):
    """The email backend of a workspace's sending settings."""
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
            dkim_domain=sending.sender_domain,
            dkim_selector=sending.dkim_selector,
            dkim_private_key=sending.dkim_private_key,
        )
    backend = settings.EMAIL_BACKEND
    if backend == "django.core.mail.backends.smtp.EmailBackend" and sending is not None and sending.dkim_private_key:
        return DKIMSMTPBackend(
            fail_silently=False,
            timeout=30,
            dkim_domain=sending.sender_domain,
            dkim_selector=sending.dkim_selector,
            dkim_private_key=sending.dkim_private_key,
        )
    return get_connection(backend, fail_silently=False)


def _classify(error):
    """DeliveryError for an exception of a backend: 5xx and refused recipients are permanent."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        permanent = bool(codes) and all(500 <= code < 600 for code in codes)
        return DeliveryError(f"Recipient refused: {error.recipients}", permanent=permanent)
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        return DeliveryError(f"SMTP {error.smtp_code}: {text}", permanent=500 <= error.smtp_code < 600)
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
        return DeliveryError(f"Provider error: {error}", permanent=permanent)
    return DeliveryError(f"{type(error).__name__}: {error}", permanent=False)


def build_email(*, subject, html, text, from_email, to, headers, reply_to=None):
    email = EmailMultiAlternatives(
        subject=subject, body=text, from_email=from_email, to=[to], headers=headers, reply_to=reply_to or None
    )
    email.attach_alternative(html, "text/html")
    return email


def send(email, sending):
    """Hand one email to the workspace's transport. Returns the provider's message id (or "")."""
    connection = connection_for(sending)
    try:
        sent = connection.send_messages([email])
    except DeliveryError:
        raise
    except Exception as error:  # noqa: BLE001 - every backend raises its own kinds
        raise _classify(error) from error
    if not sent:
        raise DeliveryError("The transport accepted nothing.", permanent=False)
    status = getattr(email, "anymail_status", None)
    if status is not None and status.message_id:
        return str(status.message_id)
    return email.extra_headers.get("Message-ID", "")
