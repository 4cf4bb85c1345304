"""Throttles of the endpoints anyone may call without an account: login, password reset and
invitation accept. And the one place that says which address a request came from.

Counters live in a table (`AttemptCounter`), not in Django's cache: the default cache is per
process, the table is shared by every web process on SQLite and on PostgreSQL alike. One
`INSERT … ON CONFLICT DO UPDATE` counts an attempt, so two processes counting at once cannot both
read the old count (SQLite takes the write lock at BEGIN, PostgreSQL locks the row). A window starts
at an identity's first attempt and lasts the scope's period; attempts in it do not extend it.

Limits are `settings.AUTH_THROTTLES`: scope -> (attempts, seconds).
"""

import hashlib
import ipaddress
import math
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.exceptions import Throttled

from .models import AttemptCounter


def client_address(request):
    """The address of the client that sent `request`.

    REMOTE_ADDR, unless `settings.TRUSTED_PROXIES` says how many proxies stand in front of the app.
    Each proxy appends the address it received the request from to X-Forwarded-For, so the client
    is that many entries from the right; entries further left were written by the client itself and
    prove nothing."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXIES
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if forwarded:
            # Fewer entries than proxies: every entry was written by a proxy; the left-most is the client.
            remote = forwarded[-min(proxies, len(forwarded))]
    try:
        return str(ipaddress.ip_address(remote))
    except ValueError:
        return remote[:100]


def address_identity(address):
    """What a per-address throttle counts: the address, or its /64 for IPv6 (one subscriber's
    network, where an attacker can pick any of 2^64 addresses)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def normalize_email(email):
    return str(email).strip().lower()


class Attempt:
    """One counted attempt; `cancel()` takes it back (a login that succeeded is not a failure)."""

    def __init__(self, key):
        self.key = key

    def cancel(self):
        AttemptCounter.objects.filter(key=self.key, count__gt=0).update(count=F("count") - 1)


def count_attempt(scope, identity):
    """Count one attempt at `scope` by `identity` (an address, an email, a token). Raises
    `Throttled` (429 with Retry-After) when that makes more than the scope's limit in its window."""
    limit, period = settings.AUTH_THROTTLES[scope]
    key = hashlib.sha256(f"{scope}\x00{identity}".encode()).hexdigest()
    now = timezone.now()
    count, expires_at = _hit(key, now, now + timedelta(seconds=period))
    if count == 1:
        # A new window: the moment to forget windows that have ended (indexed, and rare).
        AttemptCounter.objects.filter(expires_at__lte=now).delete()
    if count > limit:
        raise Throttled(
            wait=max(1, math.ceil((expires_at - now).total_seconds())),
            detail="Too many attempts. Wait a moment and try again.",
        )
    return Attempt(key)


def _hit(key, now, new_expiry):
    """Add one to the key's count in its current window (or start a new window), atomically; the
    count and the window's end after this attempt."""
    table = connection.ops.quote_name(AttemptCounter._meta.db_table)
    key_col, count_col, expires_col = (connection.ops.quote_name(c) for c in ("key", "count", "expires_at"))
    now_value = connection.ops.adapt_datetimefield_value(now)
    expiry_value = connection.ops.adapt_datetimefield_value(new_expiry)
    ended = f"{table}.{expires_col} <= %s"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key_col}, {count_col}, {expires_col}) VALUES (%s, 1, %s) "
            f"ON CONFLICT ({key_col}) DO UPDATE SET "
            f"{count_col} = CASE WHEN {ended} THEN 1 ELSE {table}.{count_col} + 1 END, "
            f"{expires_col} = CASE WHEN {ended} THEN excluded.{expires_col} ELSE {table}.{expires_col} END",
            [key, expiry_value, now_value, now_value],
        )
        # Same transaction: the row stays locked (PostgreSQL) or the database (SQLite) until commit.
        row = AttemptCounter.objects.values_list("count", "expires_at").get(key=key)
    return row
