"""Live preview and presence over one websocket per open editor (ws/preview/).

The browser opens a session for a template (or the email node of a journey draft), picks preview
subjects (contacts, personas, a random sample of contacts matching a rule), and sends each edit of
the draft. Every edit re-renders every subject's variant with the code that sends email
(editor.variants on delivery.rendering) and pushes them.

Coalescing: an edit only records the newest draft and bumps `generation`; one render task per
socket works on the newest generation it finds and drops what a newer edit superseded, between
subjects too. Every message carries the generation it was rendered for, a result of an older
generation is never sent after a newer edit has arrived, and the browser keeps the newest it saw.

Transfer: a subject's first variant on a socket goes whole; after that its html and text go as
the change from the variant sent before (`html_patch`, `text_patch`: text_patch below), a few
characters per keystroke instead of ten emails. A browser that finds a patch not fitting what it
has asks for "resync" and gets them whole again. In the browser each variant's frame morphs the
new rendering in (frontend/src/preview/frame/, served by editor/frame.py).

Presence: a socket that watches a journey or a template joins the object's group and says hello;
the others answer, so everyone knows who else is there. When the object is saved (by anyone,
through the REST API), editor.signals notifies the group; each socket reads the saved state from
the database (the source of truth; layer messages are only notifications) and pushes it.

Access: connect needs an authenticated, active member with the "qa" capability in the workspace of
the session; every message checks again (a deactivated member is closed on their next message),
an edit of the draft needs "edit", and every object is looked up in the member's workspace only.
"""

import asyncio
import logging
import time
from types import SimpleNamespace

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.access import current_membership
from accounts.models import Membership

from . import sources, subjects, variants

log = logging.getLogger("wayline.preview")

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
MAX_WATCHED = 8


def group_name(kind, object_id):
    return f"editor.{kind}.{int(object_id)}"


def _membership_of(scope):
    """The member's active membership in the session's workspace, with user and workspace loaded
    (nothing lazy may be left for the event loop to query)."""
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return None
    shim = SimpleNamespace(user=user, session=scope.get("session") or {})
    membership = current_membership(shim)
    return _still_member(membership.pk) if membership is not None else None


def _still_member(membership_id):
    return Membership.objects.select_related("workspace", "user").filter(pk=membership_id, is_active=True).first()


def _utf16_length(text):
    return len(text.encode("utf-16-le")) // 2


def _longest(limit, holds):
    """The largest n <= limit for which holds(n), holds being true up to some n and false after."""
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if holds(middle) else (low, middle - 1)
    return low


def text_patch(old, new):
    """[start, end, insert]: `new` is `old` with old[start:end] replaced by `insert`, offsets in
    UTF-16 code units as the browser counts them (usePreview's expandVariant applies it). A
    keystroke changes a few characters of each variant: this is what goes over the socket.
    The common prefix and suffix are found by halves (slices compare in C)."""
    limit = min(len(old), len(new))
    prefix = _longest(limit, lambda n: old[:n] == new[:n])
    suffix = _longest(limit - prefix, lambda n: old[len(old) - n :] == new[len(new) - n :])
    start = _utf16_length(old[:prefix])
    end = _utf16_length(old[: len(old) - suffix])
    return [start, end, new[prefix : len(new) - suffix]]


PATCHED = ("html", "text")


def compile_and_render(draft, blocks, preview_subjects, superseded):
    """(compilation, every subject's variant); the variants are None when the draft does not
    compile or a newer edit supersedes this render (checked between subjects)."""
    compilation = variants.compile_draft(draft, blocks)
    if not compilation.ok or superseded():
        return compilation, None
    results = []
    for subject in preview_subjects:
        if superseded():
            return compilation, None
        results.append(variants.render_variant(compilation, subject))
    return compilation, results


class PreviewConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        membership = await database_sync_to_async(_membership_of)(self.scope)
        if membership is None:
            user = self.scope.get("user")
            await self.close(code=CLOSE_FORBIDDEN if user and user.is_authenticated else CLOSE_UNAUTHENTICATED)
            return
        if not membership.can("qa"):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.membership = membership
        self.workspace = membership.workspace
        self.me = {
            "user_id": membership.user_id,
            "email": membership.user.email,
            "name": membership.user.get_full_name() or membership.user.email,
            "role": membership.role,
        }
        self.watched = {}  # group name -> {"kind", "id"}
        self.peers = {}  # group name -> {channel name -> member}
        self.last_saved = {}  # group name -> the saved state last pushed
        self.target = None  # {"kind": "template" | "journey" | "scratch", ...}
        self.saved_draft = None
        self.draft = None
        self.blocks = {}
        self.subjects = []
        self.dirty = False
        self.seq = 0  # the newest edit's sequence number, as the browser numbered it
        self.generation = 0  # bumped by every change that needs a new render
        self.rendered_generation = 0
        self.render_task = None
        self.sent_variants = {}  # subject key -> the html and text (with UTF-16 lengths) last sent
        await self.accept()
        await self.send_json({"type": "ready", "member": self.me, "can_edit": membership.can("edit")})

    async def disconnect(self, code):
        if getattr(self, "render_task", None) is not None:
            self.generation += 1  # a render still running in its thread stops at the next subject
            self.render_task.cancel()
        for group in list(getattr(self, "watched", {})):
            await self._unwatch(group)

    # -- incoming ----------------------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        try:
            content = await self.decode_json(text_data or "")
        except ValueError:
            await self._error("bad_message", "Messages are JSON objects.")
            return
        if not isinstance(content, dict):
            await self._error("bad_message", "Messages are JSON objects.")
            return
        await self.receive_json(content)

    HANDLERS = {
        "open": ("qa", "handle_open"),
        "subjects": ("qa", "handle_subjects"),
        "edit": ("edit", "handle_edit"),
        "refresh": ("qa", "handle_refresh"),
        "search": ("qa", "handle_search"),
        "watch": ("qa", "handle_watch"),
        "unwatch": ("qa", "handle_unwatch"),
        "ping": ("qa", "handle_ping"),
        "resync": ("qa", "handle_resync"),
    }

    async def receive_json(self, content, **kwargs):
        kind = content.get("type")
        if kind not in self.HANDLERS:
            await self._error("unknown_type", f"Unknown message type “{kind}”.")
            return
        capability, method = self.HANDLERS[kind]
        membership = await database_sync_to_async(_still_member)(self.membership.pk)
        if membership is None or not membership.can("qa"):
            await self._error("permission_denied", "You are no longer a member of this workspace.")
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.membership = membership
        if not membership.can(capability):
            await self._error("permission_denied", "Your role does not allow this.", request=kind)
            return
        try:
            await getattr(self, method)(content)
        except sources.NotFound as error:
            await self._error("not_found", str(error) or "Not found.", request=kind)
        except ValueError as error:
            await self._error("invalid", str(error), request=kind)

    async def handle_resync(self, content):
        """The browser lost track of what it was sent: the next variants go whole."""
        self.sent_variants.clear()
        if self.draft is not None and self.subjects:
            await self._schedule()

    async def handle_ping(self, content):
        await self.send_json({"type": "pong", "at": content.get("at")})

    async def handle_open(self, content):
        """Open a preview session: {"template": id}, {"journey": id, "node": id}, or {"scratch": true}
        (a template not saved yet: only members who may edit)."""
        if content.get("scratch"):
            if not self.membership.can("edit"):
                await self._error("permission_denied", "Your role does not allow this.", request="open")
                return
            target, saved, blocks = {"kind": "scratch"}, variants.Draft(mjml="<mjml><mj-body></mj-body></mjml>"), None
        else:
            target, saved, blocks = await database_sync_to_async(sources.open_target)(self.workspace, content)
        self.target = target
        self.saved_draft = saved
        self.draft = saved
        self.dirty = False
        self.blocks = (
            blocks if blocks is not None else await database_sync_to_async(sources.content_blocks)(self.workspace)
        )
        for watch in sources.watch_list(target):
            await self._watch(watch["kind"], watch["id"])
        await self.send_json({"type": "opened", "target": target, "draft": saved.as_dict()})
        if self.subjects:
            await self._rebuild_subjects()  # the template's coupon pool is part of the context
            await self._schedule()

    async def handle_subjects(self, content):
        specs = content.get("subjects")
        if not isinstance(specs, list):
            raise ValueError("“subjects” must be a list.")
        self.subjects = await database_sync_to_async(subjects.resolve)(self.workspace, specs, self.target)
        await self.send_json({"type": "subjects", "subjects": [s.describe() for s in self.subjects]})
        if self.draft is not None:
            await self._schedule()

    async def handle_refresh(self, content):
        """Rebuild every subject's context (today's prices, stock, cart) and render again."""
        await self._rebuild_subjects()
        if self.draft is not None:
            await self._schedule()

    async def _rebuild_subjects(self):
        specs = [s.spec for s in self.subjects if getattr(s, "spec", None)]
        self.subjects = await database_sync_to_async(subjects.resolve)(self.workspace, specs, self.target)
        await self.send_json({"type": "subjects", "subjects": [s.describe() for s in self.subjects]})

    async def handle_edit(self, content):
        if self.target is None:
            raise ValueError("Open a template first.")
        seq = content.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise ValueError("“seq” must be an integer.")
        if seq <= self.seq:
            return  # an older edit overtaken on the way: the newer one is already here
        self.seq = seq
        self.draft = variants.Draft.from_message(content)
        self.dirty = self.draft != self.saved_draft
        await self._schedule()

    async def handle_search(self, content):
        query = content.get("q")
        if not isinstance(query, str):
            raise ValueError("“q” must be text.")
        found = await database_sync_to_async(subjects.search_contacts)(self.workspace, query)
        await self.send_json({"type": "search", "q": query, "contacts": found})

    async def handle_watch(self, content):
        kind, object_id = content.get("kind"), content.get("id")
        await database_sync_to_async(sources.check_watchable)(self.workspace, kind, object_id)
        await self._watch(kind, int(object_id))

    async def handle_unwatch(self, content):
        kind, object_id = content.get("kind"), content.get("id")
        if kind in ("journey", "template") and isinstance(object_id, int):
            await self._unwatch(group_name(kind, object_id))

    # -- rendering ---------------------------------------------------------------------------------

    async def _schedule(self):
        self.generation += 1
        if self.render_task is None or self.render_task.done():
            self.render_task = asyncio.create_task(self._render_loop())

    async def _render_loop(self):
        try:
            while self.rendered_generation < self.generation:
                await self._render_once()
        except asyncio.CancelledError:
            raise
        except Exception:  # never leave the socket without an answer
            log.exception("preview render failed")
            self.rendered_generation = self.generation
            await self._error("render_failed", "The preview could not be rendered. Try again.")

    async def _render_once(self):
        generation, seq, draft = self.generation, self.seq, self.draft
        preview_subjects, blocks = list(self.subjects), self.blocks
        started = time.perf_counter()

        def superseded():
            return self.generation != generation

        # One trip to a worker thread: compile (cached by content), then every variant, giving up
        # as soon as a newer edit arrives.
        compilation, results = await sync_to_async(compile_and_render, thread_sensitive=False)(
            draft, blocks, preview_subjects, superseded
        )
        if superseded():
            return  # the loop goes on with the newest draft
        if not compilation.ok:
            self.rendered_generation = generation
            await self.send_json(
                {
                    "type": "rendered",
                    "seq": seq,
                    "generation": generation,
                    "ok": False,
                    "problems": compilation.problems,
                }
            )
            return
        for result in results:
            if superseded():
                return  # a newer edit arrived while sending: its render follows
            await self.send_json({"type": "variant", "seq": seq, "generation": generation, **self._patched(result)})
        self.rendered_generation = generation
        await self.send_json(
            {
                "type": "rendered",
                "seq": seq,
                "generation": generation,
                "ok": True,
                "problems": compilation.problems,
                "count": len(results),
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }
        )

    def _patched(self, result):
        """A variant as it goes out: its html and text whole the first time, then as the change
        from what this socket sent for the same subject before (`html_patch`, `text_patch`, with
        the length they apply to)."""
        key = result["subject_key"]
        previous = self.sent_variants.get(key)
        self.sent_variants[key] = {field: (result[field], _utf16_length(result[field])) for field in PATCHED}
        if previous is None:
            return result
        patched = dict(result)
        for field in PATCHED:
            text, length = previous[field]
            patched[f"{field}_patch"] = [*text_patch(text, patched.pop(field)), length]
        return patched

    # -- presence and saved changes ----------------------------------------------------------------

    async def _watch(self, kind, object_id):
        group = group_name(kind, object_id)
        if group in self.watched:
            return
        if len(self.watched) >= MAX_WATCHED:
            raise ValueError("Too many objects watched on one connection.")
        self.watched[group] = {"kind": kind, "id": object_id}
        self.peers[group] = {self.channel_name: self.me}
        await self.channel_layer.group_add(group, self.channel_name)
        await self.channel_layer.group_send(
            group, {"type": "presence.hello", "group": group, "channel": self.channel_name, "member": self.me}
        )
        await self._send_presence(group)

    async def _unwatch(self, group):
        if group not in self.watched:
            return
        self.watched.pop(group)
        self.peers.pop(group, None)
        await self.channel_layer.group_discard(group, self.channel_name)
        await self.channel_layer.group_send(
            group, {"type": "presence.bye", "group": group, "channel": self.channel_name}
        )

    async def _send_presence(self, group):
        target = self.watched.get(group)
        if target is None:
            return
        members, seen = [], set()
        for channel, member in self.peers.get(group, {}).items():
            if member["user_id"] in seen and channel != self.channel_name:
                continue
            seen.add(member["user_id"])
            members.append({**member, "me": channel == self.channel_name})
        await self.send_json({"type": "presence", "object": target, "members": members})

    async def presence_hello(self, event):
        group = event["group"]
        if group not in self.watched or event["channel"] == self.channel_name:
            return
        self.peers[group][event["channel"]] = event["member"]
        await self.channel_layer.send(
            event["channel"], {"type": "presence.here", "group": group, "channel": self.channel_name, "member": self.me}
        )
        await self._send_presence(group)

    async def presence_here(self, event):
        group = event["group"]
        if group not in self.watched:
            return
        self.peers[group][event["channel"]] = event["member"]
        await self._send_presence(group)

    async def presence_bye(self, event):
        group = event["group"]
        if group in self.peers and self.peers[group].pop(event["channel"], None) is not None:
            await self._send_presence(group)

    async def object_saved(self, event):
        """Someone saved a watched object: read what was saved and push it."""
        kind, object_id = event["kind"], event["id"]
        if group_name(kind, object_id) not in self.watched:
            return
        saved = await database_sync_to_async(sources.saved_state)(self.workspace, kind, object_id)
        group = group_name(kind, object_id)
        if saved is None or self.last_saved.get(group) == saved:
            return  # one save may notify twice (the template, its new version): tell the browser once
        self.last_saved[group] = saved
        by = event.get("by") or {}
        await self.send_json(
            {
                "type": "saved",
                "object": {"kind": kind, "id": object_id},
                "by": by,
                "mine": by.get("user_id") == self.me["user_id"],
                **saved,
            }
        )
        if kind == "template" and self.target and self.target.get("template_id") == object_id:
            draft = variants.Draft.from_message(saved["draft"])
            if draft == self.draft:
                self.saved_draft, self.dirty = draft, False
            elif not self.dirty:
                # Nothing unsaved here: show the saved draft. Local edits are never overwritten.
                self.saved_draft = self.draft = draft
                self.dirty = False
                self.blocks = await database_sync_to_async(sources.content_blocks)(self.workspace)
                await self._schedule()
            else:
                self.saved_draft = draft

    # -- helpers -----------------------------------------------------------------------------------

    async def _error(self, code, message, request=None):
        await self.send_json({"type": "error", "code": code, "error": message, "request": request})
