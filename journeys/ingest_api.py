"""The Segment-compatible tracking API: /v1/identify, track, page, screen, group, alias, batch.

Plain Django views (no DRF: this is the hot path). Per call: read the body within its limit,
find the workspace of the write key (one indexed query), count it against the key's rate limit,
parse, insert the events in one transaction, answer. Processing runs in workers afterwards.
"""

import json
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from accounts.models import WriteKey, hash_secret

from . import customer_actions, ingest
from .ingest import IngestError

SUCCESS = b'{"success":true}'


def _json(status, payload, headers=None):
    response = HttpResponse(
        payload if isinstance(payload, bytes) else json.dumps(payload), status=status, content_type="application/json"
    )
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def _error(error, headers=None):
    return _json(error.status, error.as_json(), headers)


def rate_limit():
    """(events per window, window in seconds) for one write key."""
    return getattr(settings, "INGEST_RATE_LIMIT", 10_000) * _window(), _window()


def _window():
    return getattr(settings, "INGEST_RATE_WINDOW", 10)


def over_rate_limit(key_id, count):
    """Count `count` events against the key's fixed window; the seconds to wait when over, else 0.

    Django's cache holds the counters: per process with the default local-memory cache, shared
    between processes when a shared cache (Redis, database) is configured.
    """
    limit, window = rate_limit()
    now = time.time()
    bucket = int(now // window)
    name = f"wl:ingest-rate:{key_id}:{bucket}"
    cache.add(name, 0, timeout=window * 2)
    try:
        used = cache.incr(name, count)
    except ValueError:  # evicted between add and incr
        cache.set(name, count, timeout=window * 2)
        used = count
    if used <= limit:
        return 0
    return max(1, math.ceil((bucket + 1) * window - now))


def _key_for(raw_key):
    if not raw_key or not isinstance(raw_key, str):
        return None
    return (
        WriteKey.objects.filter(key_hash=hash_secret(raw_key), revoked_at__isnull=True)
        .values_list("id", "workspace_id")
        .first()
    )


def _receive(request, kind):
    if request.method != "POST":
        error = IngestError("Use POST.", code="method_not_allowed", status=405)
        return _error(error, {"Allow": "POST"})
    received_at = timezone.now()
    limit = ingest.MAX_BATCH_BYTES if kind == "batch" else ingest.MAX_CALL_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        return _error(ingest.too_large(limit))
    try:
        raw = request.body
    except RequestDataTooBig:
        return _error(ingest.too_large(limit))
    try:
        body = ingest.decode_body(raw, request.META.get("HTTP_CONTENT_ENCODING"), limit)
        raw_key = ingest.write_key_from_header(request.META.get("HTTP_AUTHORIZATION")) or body.get("writeKey")
        key = _key_for(raw_key)
        if key is None:
            raise IngestError(
                "The write key is missing, unknown or revoked. Send it as the Basic-auth user name.",
                code="invalid_write_key",
                status=401,
            )
        key_id, workspace_id = key
        if kind == "batch":
            rows, errors = ingest.parse_batch(body, received_at)
        else:
            rows, errors = ingest.parse_single(body, kind, received_at), {}
        wait = over_rate_limit(key_id, max(1, len(rows)))
        if wait:
            error = IngestError(
                f"Too many events for this write key; retry in {wait} s.", code="rate_limited", status=429
            )
            return _error(error, {"Retry-After": str(wait)})
        customer_actions.store_events(workspace_id, rows)
    except IngestError as error:
        return _error(error, {"WWW-Authenticate": 'Basic realm="wayline"'} if error.status == 401 else None)
    if errors:
        return _json(
            400,
            {
                "error": f"{len(errors)} of {len(rows) + len(errors)} events were rejected; the others were stored.",
                "code": "invalid_events",
                "fields": errors,
                "accepted": len(rows),
            },
        )
    return _json(200, SUCCESS)


def _endpoint(kind):
    @csrf_exempt
    def view(request):
        return _receive(request, kind)

    view.__name__ = f"{kind}_view"
    return view


identify = _endpoint("identify")
track = _endpoint("track")
page = _endpoint("page")
screen = _endpoint("screen")
group = _endpoint("group")
alias = _endpoint("alias")
batch = _endpoint("batch")
