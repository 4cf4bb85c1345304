"""Live per-node counts of a journey on the open canvas (ws/journeys/<id>/counts).

The database is the source of truth: a socket pushes a snapshot of `journeys.stats.node_counts`
(entered, waiting, left per node; sent, opened, clicked for email nodes) when it connects and
again whenever contacts move. Layer messages are only a "look now".

How the engine's progress reaches the sockets, cheaply:
- The engine calls the "journey.progress" hook with the journeys a batch of steps touched
  (`notify_progress`, registered in editor/apps.py). It only remembers the ids until the
  transaction commits; nothing is sent per step.
- In this process, each socket watching one of those journeys is woken through its event loop
  (`call_soon_threadsafe`), whatever thread the engine ran in.
- For other processes (several web servers, qcluster workers) a background thread sends one group
  message per journey at most every FLUSH_SECONDS over the channel layer, when the layer can reach
  other processes (channels-redis). The in-memory layer cannot, so it is not used for that.
- A socket recomputes at most every `min_interval` seconds however many notifications arrive, and
  pushes only when the figures changed. It also looks every `poll_seconds` on its own, so counts
  move even when the engine runs in a process no notification reaches (in-memory layer with a
  separate worker, as in `make demo`), and opens and clicks (tracked by delivery) show up.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import defaultdict
from types import SimpleNamespace

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from accounts.access import current_membership
from accounts.models import Membership

log = logging.getLogger("wayline.counts")

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
FLUSH_SECONDS = 0.2


def group_name(journey_id) -> str:
    return f"journey-counts.{int(journey_id)}"


# -- the engine's side: notify ------------------------------------------------------------------

_watchers: dict[int, set] = defaultdict(set)  # journey id -> sockets of this process
_watchers_lock = threading.Lock()


def notify_progress(journey_ids) -> None:
    """The "journey.progress" hook: contacts moved in these journeys (an id or ids). Cheap: it
    only schedules a notification for after the commit."""
    if isinstance(journey_ids, int | str):
        journey_ids = [journey_ids]
    ids = {int(i) for i in journey_ids if i is not None}
    if ids:
        transaction.on_commit(lambda: _announce(ids))


def _announce(ids: set[int]) -> None:
    with _watchers_lock:
        local = [socket for journey_id in ids for socket in _watchers.get(journey_id, ())]
    for socket in local:
        socket.wake_threadsafe()
    if _layer_reaches_other_processes():
        _publisher.add(ids)


def _layer_reaches_other_processes() -> bool:
    layer = get_channel_layer()
    return layer is not None and not isinstance(layer, InMemoryChannelLayer)


class _Publisher:
    """One daemon thread per process that sends the pending journeys' group messages, coalesced:
    any number of notifications within FLUSH_SECONDS become one message per journey."""

    def __init__(self):
        self._pending: set[int] = set()
        self._lock = threading.Lock()
        self._event = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, ids: set[int]) -> None:
        with self._lock:
            self._pending |= ids
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="journey-progress", daemon=True)
                self._thread.start()
        self._event.set()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()  # one loop for the thread's life: the layer keeps its connections
        layer = get_channel_layer()
        while True:
            self._event.wait()
            time.sleep(FLUSH_SECONDS)
            with self._lock:
                batch, self._pending = self._pending, set()
                self._event.clear()
            for journey_id in batch:
                try:
                    loop.run_until_complete(
                        layer.group_send(group_name(journey_id), {"type": "journey.progress", "journey": journey_id})
                    )
                except Exception:  # a notification lost is a few seconds' delay (the sockets poll)
                    log.warning("could not notify journey %s", journey_id, exc_info=True)


_publisher = _Publisher()


# -- the figures ------------------------------------------------------------------------------


def journey_counts(journey) -> dict:
    """{node id: {"entered", "waiting", "left"[, "sent", "opened", "clicked"][, "conversions",
    "revenue"]}} for the canvas (journeys.stats.node_counts)."""
    from journeys import stats

    return stats.node_counts(journey)


# -- the socket -------------------------------------------------------------------------------


def _membership_of(scope):
    user = scope.get("user")
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return current_membership(SimpleNamespace(user=user, session=scope.get("session") or {}))


def _journey_of(workspace_id, journey_id):
    from accounts.access import scoped
    from journeys.models import Journey

    return scoped(Journey.objects.select_related("live_version"), workspace_id).filter(pk=journey_id).first()


def _snapshot(membership_id, workspace_id, journey_id):
    """(still allowed, counts or None)."""
    membership = Membership.objects.filter(pk=membership_id, is_active=True, user__is_active=True).first()
    if membership is None or not membership.can("read"):
        return False, None
    journey = _journey_of(workspace_id, journey_id)
    if journey is None:
        return False, None
    return True, journey_counts(journey)


class CountsConsumer(AsyncJsonWebsocketConsumer):
    min_interval = 0.25  # seconds between two snapshots of one socket, at most
    poll_seconds = 5.0  # look anyway this often (see the module docstring)

    async def connect(self):
        membership = await database_sync_to_async(_membership_of)(self.scope)
        if membership is None:
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.journey_id = int(self.scope["url_route"]["kwargs"]["journey_id"])
        journey = await database_sync_to_async(_journey_of)(membership.workspace_id, self.journey_id)
        if journey is None or not membership.can("read"):
            # Another workspace's journey is simply not found.
            await self.accept()
            await self.close(code=CLOSE_NOT_FOUND if journey is None else CLOSE_FORBIDDEN)
            return
        self.membership_id = membership.pk
        self.workspace_id = membership.workspace_id
        self.loop = asyncio.get_running_loop()
        self.wanted = asyncio.Event()
        self.last = None
        self.group = group_name(self.journey_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        with _watchers_lock:
            _watchers[self.journey_id].add(self)
        self.wanted.set()
        self.worker = asyncio.create_task(self._push_loop())

    async def disconnect(self, code):
        if not hasattr(self, "worker"):
            return
        with _watchers_lock:
            _watchers[self.journey_id].discard(self)
            if not _watchers[self.journey_id]:
                _watchers.pop(self.journey_id, None)
        self.worker.cancel()
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        # The browser may ask for a fresh snapshot; anything else is ignored.
        if isinstance(content, dict) and content.get("type") == "refresh" and hasattr(self, "wanted"):
            self.wanted.set()

    async def journey_progress(self, event):
        self.wanted.set()

    def wake_threadsafe(self):
        """From any thread of this process: contacts moved, look again."""
        try:
            self.loop.call_soon_threadsafe(self.wanted.set)
        except RuntimeError:  # the loop is closed: the socket is gone
            pass

    async def _push_loop(self):
        try:
            while True:
                try:
                    await asyncio.wait_for(self.wanted.wait(), timeout=self.poll_seconds)
                except TimeoutError:
                    pass
                self.wanted.clear()
                started = time.monotonic()
                allowed, counts = await database_sync_to_async(_snapshot)(
                    self.membership_id, self.workspace_id, self.journey_id
                )
                if not allowed:
                    await self.close(code=CLOSE_FORBIDDEN)
                    return
                if counts != self.last:
                    self.last = counts
                    await self.send_json({"type": "counts", "journey": self.journey_id, "nodes": counts})
                # Coalesce: whatever arrives meanwhile is served by one snapshot after the pause.
                await asyncio.sleep(max(0.0, self.min_interval - (time.monotonic() - started)))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("live counts of journey %s stopped", self.journey_id)
            await self.close()
