"""The Segment-compatible tracking API: /v1/identify, track, page, screen, group, alias, batch.

Plain async Django views (no DRF: this is the hot path). Per call: read the body within its
limit, find the workspace of the write key, count the events against the key's rate limit,
parse, store, answer once the rows are committed. Processing runs in workers afterwards.

Under an ASGI server, storing goes through one writer thread per process (`IngestWriter`): calls
that arrive while it is committing are written together in the next transaction (group commit).
Django would otherwise run each request's database work on a new thread with a new connection,
and on SQLite concurrent writers wait on each other's lock with back-off sleeps; one writer with
one connection does the same work without either cost. Under WSGI (the test client) the view
stores in the request's own thread.
"""

import asyncio
import concurrent.futures
import json
import logging
import math
import queue
import sys
import threading
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from accounts.models import WriteKey, hash_secret

from .. import clock
from . import events, ingest
from .ingest import IngestError

log = logging.getLogger(__name__)

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


# -- Rate limit ------------------------------------------------------------------------------------


def rate_limit():
    """(events per window, window in seconds) for one write key."""
    window = getattr(settings, "INGEST_RATE_WINDOW", 10)
    return getattr(settings, "INGEST_RATE_LIMIT", 10_000) * window, window


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


# -- Write keys (cached briefly; a revoked key is dropped from this process's cache at once) -------

KEY_CACHE_SECONDS = 10
_keys = {}  # key hash -> (key id, workspace id, expires at)


def _lookup_key(key_hash):
    return WriteKey.objects.filter(key_hash=key_hash, revoked_at__isnull=True).values_list("id", "workspace_id").first()


@receiver(post_save, sender=WriteKey)
@receiver(post_delete, sender=WriteKey)
def _forget_key(sender, instance, **kwargs):
    _keys.pop(instance.key_hash, None)


# -- The writer ------------------------------------------------------------------------------------


class IngestWriter:
    """One thread, one database connection, group commit. `submit` returns a Future."""

    MAX_ROWS = 5000
    IDLE_CLOSE = 30  # seconds without a call before the connection is closed
    # The writer mostly waits for the database and needs the GIL back after each round trip (COPY,
    # INSERT, COMMIT, the kick). While the event loop parses a 500-event batch, Python's default
    # switch interval (5 ms) can keep it waiting up to that long each time. Process-wide, set when
    # the writer starts (a process that ingests).
    SWITCH_INTERVAL = 0.001

    def __init__(self):
        self._queue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread = None

    def _start(self):
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                sys.setswitchinterval(min(sys.getswitchinterval(), self.SWITCH_INTERVAL))
                self._thread = threading.Thread(target=self._run, name="wayline-ingest-writer", daemon=True)
                self._thread.start()

    def store(self, workspace_id, rows):
        # Encoded here, in the caller's thread (the event loop's), while the writer thread commits
        # the calls before: the group commit that every call waits for then only sends bytes.
        return self._submit(("store", workspace_id, events.encode_rows(workspace_id, rows)))

    def call(self, fn, *args):
        return self._submit(("call", fn, args))

    def _submit(self, job):
        future = concurrent.futures.Future()
        if self._thread is None or not self._thread.is_alive():
            self._start()
        self._queue.put((job, future))
        return future

    def close_connection(self):
        """Close the writer's database connection (it reconnects on the next call)."""
        if self._thread is not None and self._thread.is_alive():
            self.call(lambda: connection.close()).result(timeout=10)  # resolved in the writer thread

    def _run(self):
        while True:
            try:
                first = self._queue.get(timeout=self.IDLE_CLOSE)
            except queue.Empty:
                connection.close()  # idle: hold no connection (a database may be dropped or restarted)
                first = self._queue.get()
            batch = [first]
            rows = len(batch[0][0][2]) if batch[0][0][0] == "store" else 0
            while rows < self.MAX_ROWS:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                batch.append(item)
                rows += len(item[0][2]) if item[0][0] == "store" else 0
            try:
                self._handle(batch)
            except BaseException:  # never let the writer die
                log.exception("ingest writer")

    def _handle(self, batch):
        stores = [(job, future) for job, future in batch if job[0] == "store"]
        for job, future in batch:
            if job[0] == "call":
                self._settle(future, lambda job=job: job[1](*job[2]))
        if not stores:
            return
        try:
            events.store_event_groups([(job[1], job[2]) for job, _ in stores])
        except Exception:
            connection.close()  # a broken connection is replaced on the next use
            # Write each call alone, so that one bad call fails only itself.
            for job, future in stores:
                self._settle(future, lambda job=job: events.store_events(job[1], job[2]))
        else:
            for _, future in stores:
                future.set_result(None)

    @staticmethod
    def _settle(future, fn):
        try:
            future.set_result(fn())
        except Exception as error:
            connection.close()
            future.set_exception(error)


writer = IngestWriter()


async def _key_for(raw_key, in_db):
    if not raw_key or not isinstance(raw_key, str) or ingest.unstorable(raw_key):
        return None
    key_hash = hash_secret(raw_key)
    cached = _keys.get(key_hash)
    if cached is not None and cached[2] > time.monotonic():
        return cached[:2]
    found = await in_db(_lookup_key, key_hash)
    if found is not None:
        _keys[key_hash] = (*found, time.monotonic() + KEY_CACHE_SECONDS)
    return found


async def _writer_call(fn, *args):
    return await asyncio.wrap_future(writer.call(fn, *args))


async def _writer_store(workspace_id, rows):
    await asyncio.wrap_future(writer.store(workspace_id, rows))


async def _inline_call(fn, *args):
    return await sync_to_async(fn)(*args)


async def _inline_store(workspace_id, rows):
    await sync_to_async(events.store_events)(workspace_id, rows)


# -- The views -------------------------------------------------------------------------------------


def limit_for(kind):
    return ingest.MAX_BATCH_BYTES if kind == "batch" else ingest.MAX_CALL_BYTES


# Browsers post from the shop's own origin (analytics.js): any origin may send, none gets cookies.
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, Content-Encoding",
    "Access-Control-Max-Age": "86400",
}


async def handle(kind, method, headers, raw, in_db, store):
    """One call, whatever server brought it: -> (status, JSON bytes, extra headers)."""
    status, payload, extra = await _handle(kind, method, headers, raw, in_db, store)
    return status, payload, {**CORS, **extra}


async def _handle(kind, method, headers, raw, in_db, store):
    """`headers` maps lower-case names to values; `raw` is the body (None when it was over the
    limit); `in_db(fn, *args)` and `store(workspace_id, rows)` run database work."""
    if method == "OPTIONS":  # a CORS preflight
        return 204, b"", {}
    if method != "POST":
        return _answer(IngestError("Use POST.", code="method_not_allowed", status=405), {"Allow": "POST"})
    received_at = clock.now()
    limit = limit_for(kind)
    try:
        if raw is None:
            raise ingest.too_large(limit)
        # The key of the Authorization header is checked before the body is inflated or parsed;
        # only a body-borne `writeKey` (analytics.js beacons) needs the body first.
        raw_key = ingest.write_key_from_header(headers.get("authorization"))
        key = await _key_for(raw_key, in_db) if raw_key else None
        if raw_key and key is None:
            raise _invalid_key()
        body, check_values = ingest.decode_call(raw, headers.get("content-encoding"), limit)
        if key is None:
            key = await _key_for(body.get("writeKey"), in_db)
        if key is None:
            raise _invalid_key()
        key_id, workspace_id = key
        if kind == "batch":
            rows, errors = ingest.parse_batch(body, received_at, check_values)
        else:
            rows, errors = ingest.parse_single(body, kind, received_at, check_values), {}
        wait = over_rate_limit(key_id, max(1, len(rows)))
        if wait:
            error = IngestError(
                f"Too many events for this write key; retry in {wait} s.", code="rate_limited", status=429
            )
            return _answer(error, {"Retry-After": str(wait)})
        if rows:
            await store(workspace_id, rows)
    except IngestError as error:
        return _answer(error, {"WWW-Authenticate": 'Basic realm="wayline"'} if error.status == 401 else {})
    if errors:
        payload = {
            "error": f"{len(errors)} of {len(rows) + len(errors)} events were rejected; the others were stored.",
            "code": "invalid_events",
            "fields": errors,
            "accepted": len(rows),
        }
        return 400, json.dumps(payload).encode(), {}
    return 200, SUCCESS, {}


def _invalid_key():
    return IngestError(
        "The write key is missing, unknown or revoked. Send it as the Basic-auth user name.",
        code="invalid_write_key",
        status=401,
    )


def _answer(error, headers):
    return error.status, json.dumps(error.as_json()).encode(), headers


# -- Django views (the test client, WSGI deployments) ----------------------------------------------


async def _django_view(request, kind):
    limit = limit_for(kind)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = None
    if length <= limit:
        try:
            raw = request.body
        except RequestDataTooBig:
            raw = None
    headers = {
        "authorization": request.META.get("HTTP_AUTHORIZATION"),
        "content-encoding": request.META.get("HTTP_CONTENT_ENCODING"),
    }
    if isinstance(request, ASGIRequest):
        in_db, store = _writer_call, _writer_store
    else:
        in_db, store = _inline_call, _inline_store
    status, payload, extra = await handle(kind, request.method, headers, raw, in_db, store)
    return _json(status, payload, extra)


def _endpoint(kind):
    async def view(request):
        return await _django_view(request, kind)

    view.__name__ = f"{kind}_view"
    return csrf_exempt(view)


identify = _endpoint("identify")
track = _endpoint("track")
page = _endpoint("page")
screen = _endpoint("screen")
group = _endpoint("group")
alias = _endpoint("alias")
batch = _endpoint("batch")


# -- The lean ASGI path (what uvicorn serves) ------------------------------------------------------

ROUTES = {
    **{name: name for name in ("identify", "track", "page", "screen", "group", "alias", "batch")},
    **{"i": "identify", "t": "track", "p": "page", "s": "screen", "g": "group", "a": "alias", "b": "batch"},
    "import": "batch",
}


def route(path):
    """The call type of a /v1/ path, or None."""
    if not path.startswith("/v1/"):
        return None
    return ROUTES.get(path[4:].rstrip("/"))


def with_ingestion(django_app):
    """Wrap the Django ASGI app so that /v1/ calls skip Django's request stack.

    Measured on the 2-core reference machine, Django's ASGI handler alone (a new thread and
    database connection per request, sync middleware hops) tops out near 260 requests/s even for
    a trivial view; the tracking API must take 500+ calls/s. These calls need none of it: no
    session, cookie, CSRF or template. Everything else goes to Django untouched.
    """

    async def app(scope, receive, send):
        kind = route(scope.get("path", "")) if scope["type"] == "http" else None
        if kind is None:
            return await django_app(scope, receive, send)
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        limit = limit_for(kind)
        raw = await _read_body(receive, limit, headers)
        status, payload, extra = await handle(kind, scope["method"], headers, raw, _writer_call, _writer_store)
        response_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        response_headers += [(name.lower().encode(), value.encode()) for name, value in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": payload})

    return app


async def _read_body(receive, limit, headers):
    """The request body, or None as soon as it is known to be over `limit` (the rest is not read;
    the server closes the connection after the answer)."""
    try:
        if int(headers.get("content-length") or 0) > limit:
            return None
    except ValueError:
        return None
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)
