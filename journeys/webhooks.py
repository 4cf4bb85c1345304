"""Webhook node calls, safe against server-side request forgery.

The host is resolved once; if any address it resolves to is private, loopback, link-local
(169.254.169.254, the cloud metadata service, included), multicast, reserved or unspecified, the
call is refused. Otherwise the connection goes to the resolved address itself (pinned: no second
lookup an attacker's DNS could answer differently), with the original Host header and TLS name.
Redirects are not followed; connect and read time out; the response body is capped. Each call
carries an Idempotency-Key (one per enrollment, node and visit), so a retried attempt is
recognisable by the receiver. Retries with backoff are the domain's: WebhookCall keeps attempts
and next_attempt_at, and the enrollment waits for it like for a timer.

Every exception of an attempt is a failed attempt: counted, retried with backoff up to the node's
attempts, then the failure port, the error kept on the WebhookCall (and in the result later nodes
see). Headers are checked before any connection (a value rendered from contact traits may hold a
line break that would inject a header): a bad one fails the call at once, without retries.

Operators may allow internal networks explicitly with JOURNEYS_WEBHOOK_ALLOWED_NETWORKS
(a list of CIDRs in settings); nothing private is reachable otherwise.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import socket
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import urllib3
from django.db import transaction
from django.db.models import Q

from . import clock, conf, engine
from .engine.nodes import WEBHOOK_HEADER_NAME
from .models import WebhookCall

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
USER_AGENT = "Wayline-Webhook/1"
KEPT_HEADERS = ("content-type", "location", "retry-after", "x-request-id")
MAX_HEADER_VALUE = 8 * 1024  # most servers refuse a header section above 8 KiB
HEADER_NAME = re.compile(WEBHOOK_HEADER_NAME)
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # horizontal tab is allowed in a value


class Refused(Exception):
    """The destination is not allowed (never retried)."""


class BadHeader(Exception):
    """A header that cannot be sent as it is (never retried: it would fail the same way)."""


def _shown(text):
    return json.dumps(text[:60] + ("…" if len(text) > 60 else ""), ensure_ascii=False)


def header_name_problem(name) -> str | None:
    """Why this header name cannot be sent, or None."""
    name = str(name)
    if not name:
        return "a header has no name"
    if not HEADER_NAME.fullmatch(name):
        return (
            f"header name {_shown(name)} is not valid: use up to 256 letters, digits and hyphens (no spaces or colons)"
        )
    return None


def header_problem(name, value) -> str | None:
    """Why this header (its name or its rendered value) cannot be sent, or None."""
    problem = header_name_problem(name)
    if problem:
        return problem
    value = str(value)
    shown = _shown(str(name))
    if "\r" in value or "\n" in value:
        return f"header {shown} contains a line break"
    if "\x00" in value:
        return f"header {shown} contains a NUL character"
    if CONTROL.search(value):
        return f"header {shown} contains a control character"
    if len(value) > MAX_HEADER_VALUE:
        return f"header {shown} is longer than {MAX_HEADER_VALUE} characters"
    try:
        value.encode("latin-1")
    except UnicodeEncodeError as error:
        return f"header {shown} contains {_shown(value[error.start])}, which cannot be sent in a header"
    return None


def check_headers(headers):
    """Raise BadHeader for the first header that cannot be sent."""
    for name, value in headers.items():
        problem = header_problem(name, value)
        if problem:
            raise BadHeader(problem)


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int
    address: str  # the pinned IP
    target: str  # path and query


def allowed_networks():
    return [ipaddress.ip_network(net, strict=False) for net in conf.webhook_allowed_networks()]


def is_forbidden(address) -> str | None:
    """Why this IP may not be called, or None when it may."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if any(ip in network for network in allowed_networks()):
        return None
    for label, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("unspecified", ip.is_unspecified),
    ):
        if flag:
            return f"{ip} is a {label} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


def resolve(url: str) -> Destination:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Refused("only http and https URLs can be called")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise Refused("the URL has no host")
    if parts.username or parts.password:
        raise Refused("credentials in the URL are not allowed; use a header")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused("the URL's port is not valid") from None
    if (host.lower() == "localhost" or host.lower().endswith(".localhost")) and is_forbidden("127.0.0.1"):
        raise Refused(f"{host} is the local machine")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise ConnectionError(f"cannot resolve {host}: {error}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise ConnectionError(f"{host} has no address")
    for address in addresses:
        reason = is_forbidden(address)
        if reason:
            raise Refused(f"{host} resolves to a forbidden destination: {reason}")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return Destination(parts.scheme, host, port, addresses[0], target)


@dataclass
class Response:
    status: int
    headers: dict
    body: object


def request(method, url, headers, body, timeout, idempotency_key) -> Response:
    """One HTTP request to a checked, pinned destination. Raises BadHeader or Refused before any
    connection, or ConnectionError / urllib3 errors for transport failures."""
    check_headers(headers)
    destination = resolve(url)
    default_port = 443 if destination.scheme == "https" else 80
    host_header = destination.host if destination.port == default_port else f"{destination.host}:{destination.port}"
    sent = {"User-Agent": USER_AGENT, "Idempotency-Key": idempotency_key, "Host": host_header}
    if body is not None and not any(k.lower() == "content-type" for k in headers):
        sent["Content-Type"] = "application/json" if _looks_json(body) else "text/plain; charset=utf-8"
    sent.update({k: v for k, v in headers.items() if k.lower() not in ("host", "idempotency-key")})
    limits = urllib3.Timeout(connect=min(timeout, 5.0), read=timeout)
    if destination.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            destination.address,
            destination.port,
            timeout=limits,
            retries=False,
            server_hostname=destination.host,
            assert_hostname=destination.host,
            cert_reqs="CERT_REQUIRED",
        )
    else:
        pool = urllib3.HTTPConnectionPool(destination.address, destination.port, timeout=limits, retries=False)
    try:
        response = pool.urlopen(
            method,
            destination.target,
            body=body.encode() if isinstance(body, str) else body,
            headers=sent,
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        raw = response.read(MAX_BODY + 1, decode_content=True)
        response.release_conn()
    finally:
        pool.close()
    text = raw[:MAX_BODY].decode("utf-8", errors="replace")
    parsed = text
    if "json" in (response.headers.get("content-type") or "") or _looks_json(text):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text
    kept = {k: v for k, v in response.headers.items() if k.lower() in KEPT_HEADERS}
    return Response(response.status, kept, parsed)


def _looks_json(text):
    stripped = (text or "").lstrip()
    return stripped[:1] in ("{", "[")


def _retryable(status):
    return status >= 500 or status in (408, 425, 429)


def attempt(call_id):
    """Make the next attempt of a pending webhook call and record its outcome."""
    call = WebhookCall.objects.filter(pk=call_id).first()
    if call is None or call.state != WebhookCall.State.PENDING:
        return
    now = clock.now()
    if call.next_attempt_at and call.next_attempt_at > now:
        return
    request_spec = (call.response or {}).get("request") or {}
    max_attempts = int((call.response or {}).get("max_attempts") or engine.WEBHOOK_DEFAULT_ATTEMPTS)
    timeout = float(request_spec.get("timeout") or engine.WEBHOOK_DEFAULT_TIMEOUT)
    # Take this attempt: of two workers that get here for the same call, one makes the request.
    # A worker dying mid-attempt leaves the hold, after which the call is tried again (same key).
    held = WebhookCall.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        pk=call.pk,
        attempts=call.attempts,
        state=WebhookCall.State.PENDING,
    ).update(next_attempt_at=now + timedelta(seconds=timeout + 10))
    if not held:
        return
    attempts = call.attempts + 1
    outcome = {"attempts": attempts, "next_attempt_at": None}
    try:
        response = request(
            call.method,
            call.url,
            request_spec.get("headers") or {},
            request_spec.get("body"),
            timeout,
            call.idempotency_key,
        )
    except BadHeader as error:
        outcome.update(state=WebhookCall.State.FAILED, error=str(error)[:1000], finished_at=now)
    except Refused as error:
        outcome.update(state=WebhookCall.State.FAILED, error=f"refused: {error}", finished_at=now)
    except Exception as error:  # any failure of the call is a failed attempt, never a stuck call
        if not isinstance(error, (ConnectionError, OSError, urllib3.exceptions.HTTPError)):
            log.warning("webhook call %s failed unexpectedly", call.pk, exc_info=True)
        message = f"{type(error).__name__}: {error}"[:1000]
        if attempts < max_attempts:
            outcome.update(error=message, next_attempt_at=now + engine.webhook_backoff(attempts))
        else:
            outcome.update(state=WebhookCall.State.FAILED, error=message, finished_at=now)
    else:
        stored = {**(call.response or {}), "status": response.status, "headers": response.headers}
        stored["body"] = response.body
        outcome.update(status_code=response.status, response=stored)
        if 200 <= response.status < 300:
            outcome.update(state=WebhookCall.State.SUCCEEDED, error="", finished_at=now)
        elif _retryable(response.status) and attempts < max_attempts:
            outcome.update(error=f"HTTP {response.status}", next_attempt_at=now + engine.webhook_backoff(attempts))
        else:
            outcome.update(state=WebhookCall.State.FAILED, error=f"HTTP {response.status}", finished_at=now)
    with transaction.atomic():
        # Conditional: of two workers making the same attempt, one records it.
        WebhookCall.objects.filter(pk=call.pk, attempts=call.attempts, state=WebhookCall.State.PENDING).update(
            **outcome
        )
