"""Events: store them, process them (identity, profile, commerce state), re-drive what a dead
worker left.

The ingestion pipeline (design.md, "domain tables are the queue"):

1. `store_events` inserts the parsed calls in one transaction, deduplicated by
   (workspace, messageId) with INSERT ... ON CONFLICT DO NOTHING, so concurrent retries of one call
   store it once. After commit, `kick_processing` makes sure one worker will look.
2. `drain_events` (a django-q2 task, journeys.customers.tasks) takes the workspace's drain lease and
   processes unprocessed events in arrival order, one transaction per event (`process_event`):
   identity, profile (newer wins), commerce state, the `event.processed` engine hook.
3. Every step is idempotent: an event is claimed by a conditional UPDATE of `processed_at`, so a
   second run (at-least-once queue, expired lease) finds nothing to do.
"""

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q

from .. import clock, hooks, kicks
from ..models import Contact, Event, EventName, IngestState, Order
from . import commerce, identity, ingest, segments
from .context import contact_fields

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
DRAIN_BATCH = 200
DRAIN_BUDGET = timedelta(seconds=30)  # then hand over to a new task (the queue's timeout is 60 s)
DRAIN_LEASE = timedelta(seconds=90)


def iso(moment):
    """The one string form of event times in JSON state (sorts like the times it denotes)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


# -- 1. Store --------------------------------------------------------------------------------------


def store_events(workspace_id, rows):
    """Insert parsed calls (journeys.ingest rows); a messageId already stored is skipped.

    Returns after the commit; processing is kicked in on_commit.
    """
    store_event_groups([(workspace_id, rows)])


def store_event_groups(groups):
    """Several calls' rows [(workspace_id, rows), ...] in one transaction (the ingest writer's
    group commit). INSERT ... ON CONFLICT (workspace, message_id) DO NOTHING: a retried call, even
    one racing its original on another connection, stores nothing twice."""
    groups = [(workspace_id, rows) for workspace_id, rows in groups if rows]
    if not groups:
        return
    with transaction.atomic():
        _insert_events(groups)
        for workspace_id in sorted({workspace_id for workspace_id, _ in groups}):
            transaction.on_commit(lambda workspace_id=workspace_id: kick_processing(workspace_id))


_EVENT_COLUMNS = (
    "workspace_id",
    "message_id",
    "type",
    "name",
    "user_id",
    "anonymous_id",
    "properties",
    "traits",
    "context",
    "payload",
    "timestamp",
    "original_timestamp",
    "sent_at",
    "received_at",
    "attempts",
    "error",
)
_JSON_COLUMNS = {"properties", "traits", "context", "payload"}
_TIME_COLUMNS = ("timestamp", "original_timestamp", "sent_at", "received_at")
_LOADED_COLUMNS = _EVENT_COLUMNS[:-2]  # what a call brings; attempts and error start at 0 and ""

# How rows reach PostgreSQL (settings.INGEST_PG_LOAD): "copy", COPY into a temporary staging table
# then one INSERT ... SELECT ... ON CONFLICT DO NOTHING; "values", multi-row INSERT ... VALUES, the
# earlier path, kept so that bench/ingest.py can measure one against the other in one run. A few
# rows (a /v1/track call) go faster as one VALUES statement than as COPY's three.
PG_LOADERS = ("copy", "values")
COPY_MIN_ROWS = 100
_STAGE = "wayline_event_stage"


def pg_loader():
    loader = settings.INGEST_PG_LOAD
    if loader not in PG_LOADERS:
        raise ImproperlyConfigured(f"INGEST_PG_LOAD must be one of {', '.join(PG_LOADERS)}, not {loader!r}.")
    return loader


def _copies(count):
    """Whether `count` rows are loaded with COPY."""
    return connection.vendor == "postgresql" and count >= COPY_MIN_ROWS and pg_loader() == "copy"


def _insert_events(groups):
    """Insert the rows of [(workspace_id, rows), ...]; a (workspace, messageId) already stored, or
    repeated within the rows, is skipped (the first one stays). What
    `Event.objects.bulk_create(objects, ignore_conflicts=True)` does, at a fraction of the cost: the
    rows are already validated plain values, so the ORM's per-field work is skipped."""
    if _copies(sum(len(rows) for _, rows in groups)):
        _copy_events(groups)
        return
    ops = connection.ops
    quote = ops.quote_name
    json_placeholder = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    placeholders = ", ".join(json_placeholder if column in _JSON_COLUMNS else "%s" for column in _EVENT_COLUMNS)
    sql = (
        f"INSERT INTO {quote(Event._meta.db_table)} ({', '.join(quote(c) for c in _EVENT_COLUMNS)}) "
        f"VALUES ({placeholders}) ON CONFLICT ({quote('workspace_id')}, {quote('message_id')}) DO NOTHING"
    )
    adapt = ops.adapt_datetimefield_value
    dumps = json.dumps
    params = []
    for workspace_id, rows in groups:
        for row in rows:
            params.append(
                (
                    workspace_id,
                    row["message_id"],
                    row["type"],
                    row["name"],
                    row["user_id"],
                    row["anonymous_id"],
                    dumps(row["properties"]),
                    dumps(row["traits"]),
                    dumps(row["context"]),
                    dumps(row["payload"]),
                    *(adapt(row[column]) for column in _TIME_COLUMNS),
                    0,
                    "",
                )
            )
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(sql, params)  # SQLite: a prepared statement stepped in C, no round trips
            return
        # PostgreSQL, INGEST_PG_LOAD=values: one statement per 1,000 rows (one round trip, not one
        # per row; but psycopg splits and quotes each statement's 16,000 parameters in Python).
        head, tail = sql.split(" VALUES ", 1)
        values, conflict = tail.split(" ON CONFLICT ", 1)
        for start in range(0, len(params), 1000):
            chunk = params[start : start + 1000]
            statement = f"{head} VALUES {', '.join([values] * len(chunk))} ON CONFLICT {conflict}"
            cursor.execute(statement, [value for row in chunk for value in row])


class EncodedRows(list):
    """A call's rows with their COPY text, encoded before they reach the ingest writer (see
    `encode_rows`). Still the list of rows: every other loader reads them as they are."""

    copy_text = b""


def encode_rows(workspace_id, rows):
    """The rows of one call, ready for `store_event_groups`. With the COPY loader their COPY text is
    encoded here, in the caller's thread: the ingest writer calls this before handing a call to its
    thread, so that the group commit, which every call waits for, only sends bytes."""
    if isinstance(rows, EncodedRows) or not _copies(len(rows)):
        return rows
    encoded = EncodedRows(rows)
    encoded.copy_text = copy_text(workspace_id, rows)
    return encoded


def _copy_field(text):
    """A text value in COPY's text format: backslash, tab, newline and carriage return escaped."""
    if text is None:
        return "\\N"
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _copy_json(value, dumps=json.dumps):
    """A JSON value in COPY's text format. json.dumps escapes every control and non-ASCII character
    (ensure_ascii), so of COPY's special characters only backslashes can occur."""
    text = "{}" if value == {} else dumps(value)  # most calls leave traits or payload empty
    return text.replace("\\", "\\\\") if "\\" in text else text


def _copy_time(moment):
    return "\\N" if moment is None else moment.isoformat()


def copy_text(workspace_id, rows):
    """Rows as the lines of `COPY ... (_LOADED_COLUMNS) FROM STDIN` (text format), in UTF-8, the
    client encoding Django sets on every PostgreSQL connection."""
    field, as_json, as_time = _copy_field, _copy_json, _copy_time
    workspace = str(workspace_id)
    return "".join(
        [
            f"{workspace}\t{field(row['message_id'])}\t{field(row['type'])}\t{field(row['name'])}\t"
            f"{field(row['user_id'])}\t{field(row['anonymous_id'])}\t"
            f"{as_json(row['properties'])}\t{as_json(row['traits'])}\t{as_json(row['context'])}\t"
            f"{as_json(row['payload'])}\t{as_time(row['timestamp'])}\t{as_time(row['original_timestamp'])}\t"
            f"{as_time(row['sent_at'])}\t{as_time(row['received_at'])}\n"
            for row in rows
        ]
    ).encode()


def _copy_events(groups):
    """PostgreSQL: COPY the rows into a temporary staging table (one stream of bytes, encoded by
    `copy_text`, where a VALUES statement has psycopg split its text and quote 16 parameters a row
    in Python), then move them with one INSERT ... SELECT ... ON CONFLICT (workspace, message_id)
    DO NOTHING: deduplication is the unique constraint's, exactly as for a VALUES statement, whatever
    other connection races us.

    The staging table lives per connection, empty between calls: the DELETE ... RETURNING empties
    it inside the statement (even when the caller's transaction goes on), ON COMMIT DELETE ROWS
    truncates it at commit (no dead rows pile up; temporary tables are never vacuumed).

    Ids are drawn in the order the rows were copied (processing follows arrival), then the rows are
    inserted sorted by (workspace, messageId): two connections storing overlapping calls in
    different orders wait for each other instead of deadlocking on the unique index, and of repeated
    messageIds the first to arrive is the one kept."""
    quote = connection.ops.quote_name
    loaded = ", ".join(quote(column) for column in _LOADED_COLUMNS)
    table = quote(Event._meta.db_table)
    data = b"".join(
        rows.copy_text if isinstance(rows, EncodedRows) else copy_text(workspace_id, rows)
        for workspace_id, rows in groups
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} ON COMMIT DELETE ROWS AS "
            f"SELECT {loaded} FROM {table} WITH NO DATA"
        )
        with cursor.copy(f"COPY {_STAGE} ({loaded}) FROM STDIN") as copy:
            copy.write(data)
        cursor.execute(
            f"WITH staged AS (DELETE FROM {_STAGE} RETURNING {loaded}), "
            f"numbered AS MATERIALIZED (SELECT nextval((SELECT pg_get_serial_sequence(%s, 'id')::regclass)) AS id, "
            f"{loaded} FROM staged) "
            f"INSERT INTO {table} ({quote('id')}, {loaded}, {quote('attempts')}, {quote('error')}) "
            f"SELECT id, {loaded}, 0, '' FROM numbered ORDER BY {quote('workspace_id')}, {quote('message_id')}, id "
            f"ON CONFLICT ({quote('workspace_id')}, {quote('message_id')}) DO NOTHING",
            [Event._meta.db_table],
        )


def kick_processing(workspace_id):
    """Enqueue a processing task unless one is already queued for the workspace.

    Runs after the events' commit. Reading kick_pending=True then is enough: the queued task
    clears the flag before it drains, so it will see these committed events. Finding it False, we
    set it (conditionally: one request wins) and enqueue.
    """
    pending = IngestState.objects.filter(workspace_id=workspace_id).values_list("kick_pending", flat=True).first()
    if pending is None:
        try:
            with transaction.atomic():
                IngestState.objects.get_or_create(workspace_id=workspace_id)
        except IntegrityError:
            pass
    if pending:
        return False
    if IngestState.objects.filter(workspace_id=workspace_id, kick_pending=False).update(kick_pending=True):
        kicks.enqueue("journeys.customers.tasks.process_events", workspace_id, task_name=f"events-{workspace_id}")
        return True
    return False


# -- 2. Process ------------------------------------------------------------------------------------


def _take_lease(workspace_id, now):
    return IngestState.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now), workspace_id=workspace_id
    ).update(lease_until=now + DRAIN_LEASE)


def drain_events(workspace_id, batch=DRAIN_BATCH, budget=DRAIN_BUDGET):
    """Process the workspace's unprocessed events until none are left. Returns how many.

    One worker drains a workspace at a time (a lease); a kick that finds the lease taken returns,
    and the drainer, after releasing it, goes on if a kick arrived meanwhile.
    """
    IngestState.objects.get_or_create(workspace_id=workspace_id)
    started = clock.now()
    total = 0
    while True:
        if not _take_lease(workspace_id, clock.now()):
            return total
        try:
            while True:
                IngestState.objects.filter(workspace_id=workspace_id).update(kick_pending=False)
                ids = list(
                    Event.objects.filter(
                        workspace_id=workspace_id, processed_at__isnull=True, attempts__lt=MAX_ATTEMPTS
                    )
                    .order_by("id")
                    .values_list("id", flat=True)[:batch]
                )
                if not ids:
                    break
                processed = process_events(ids)
                record_suggestions(workspace_id, processed)
                total += len(processed)
                IngestState.objects.filter(workspace_id=workspace_id).update(lease_until=clock.now() + DRAIN_LEASE)
                if clock.now() - started > budget:
                    # Hand over to a fresh task rather than outlive the queue's timeout.
                    IngestState.objects.filter(workspace_id=workspace_id).update(lease_until=None)
                    IngestState.objects.filter(workspace_id=workspace_id).update(kick_pending=False)
                    kick_processing(workspace_id)
                    return total
        finally:
            IngestState.objects.filter(workspace_id=workspace_id).update(lease_until=None)
        # A kick that arrived after our last look found the lease taken and left: go on for it.
        if not IngestState.objects.filter(workspace_id=workspace_id, kick_pending=True).exists():
            return total


CHUNK_EVENTS = 50
CHUNK_SECONDS = 0.25


def process_events(ids):
    """Process events in arrival order, a few dozen per transaction (a commit per event would cost
    a disk flush each on PostgreSQL), each event in its own savepoint so that a failing one rolls
    back alone. Short transactions: the ingest writer waits for SQLite's lock meanwhile."""
    done, position = [], 0
    while position < len(ids):
        deadline = time.monotonic() + CHUNK_SECONDS
        chunk = ids[position : position + CHUNK_EVENTS]
        loaded = Event.objects.in_bulk(chunk)  # one query; each event is still claimed on its own
        with transaction.atomic():
            for count, event_id in enumerate(chunk):
                if count and time.monotonic() > deadline:
                    break
                event = process_event(event_id, loaded.get(event_id))
                position += 1
                if event is not None:
                    done.append(event)
    return done


def process_event(event_id, event=None):
    """Apply one stored event to its contact. Returns the event, or None when it was already
    processed (by another worker) or failed (then retried by a later drain, up to MAX_ATTEMPTS)."""
    try:
        with transaction.atomic():
            now = clock.now()
            # The claim: of two runs of this step, one updates the row, the other finds it done.
            if not Event.objects.filter(pk=event_id, processed_at__isnull=True).update(processed_at=now, error=""):
                return None
            if event is None:
                event = Event.objects.get(pk=event_id)
            event.processed_at, event.error = now, ""
            apply_event(event)
            return event
    except Exception as error:  # a bug or bad data must not stall the workspace's queue
        log.exception("processing event %s failed", event_id)
        Event.objects.filter(pk=event_id).update(
            attempts=F("attempts") + 1, error=f"{type(error).__name__}: {error}"[:2000]
        )
        Event.objects.filter(pk=event_id, attempts__gte=MAX_ATTEMPTS).update(processed_at=clock.now())
        return None


def apply_event(event):
    """Identity, profile, activity, commerce, then the engine. Inside the caller's transaction."""
    traits = event.traits or {}
    context = event.context or {}
    previous_id = (event.payload or {}).get("previousId") if event.type == "alias" else None
    stated_email = identity.email_address(traits.get("email")) if event.type == "identify" else None
    contact = identity.contact_for(
        event.workspace_id, event.user_id, event.anonymous_id, email=stated_email, previous_id=previous_id
    )
    if connection.vendor == "postgresql":
        # Serialise workers touching the same contact (SQLite serialises every write already).
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
    merged = contact.commerce.get("_needs_rebuild") if contact.commerce else False
    before = contact_fields(contact)  # what segments compare with (segments.contact_change)
    Event.objects.filter(pk=event.pk).update(contact=contact)
    event.contact = contact

    at = iso(event.timestamp)
    if not contact.cart:
        contact.cart = commerce.summary(commerce.State())["cart"]
    identity.apply_profile(contact, identity.profile_updates(event.type, traits, context), at)
    if contact.last_activity_at is None or event.timestamp > contact.last_activity_at:
        contact.last_activity_at = event.timestamp
    commerce_changed = event.type == "track" and commerce.is_commerce(event.name) or bool(merged)
    if commerce_changed:
        _apply_commerce(contact, event, rebuild=bool(merged))
    contact.updated_at = clock.now()
    contact.save()

    # Saved segments this change can affect, in this transaction (a merge may change anything).
    performed = event.name if event.type == "track" else None
    changed = None if merged else segments.contact_change(before, contact, performed, commerce=commerce_changed)
    segments.refresh_contact(contact, clock.now(), changed)

    if hooks.has_hook("event.processed"):
        hooks.hook("event.processed")(event)


def _commerce_event(event):
    return {"id": event.pk, "name": event.name, "properties": event.properties or {}, "timestamp": iso(event.timestamp)}


def _apply_commerce(contact, event, rebuild=False):
    state = commerce.load(contact.commerce)
    item = _commerce_event(event)
    if rebuild or not state.after(item):
        # A late event (or a merge) changes history: derive the state again from all of it.
        state = commerce.fold(commerce_history(contact))
        orders_changed = True
    else:
        commerce.apply(state, item)
        orders_changed = event.name in commerce.ORDER_EVENTS
    _store_commerce(contact, state, sync_orders=orders_changed)


def commerce_history(contact):
    events = Event.objects.filter(
        workspace_id=contact.workspace_id, contact=contact, type="track", name__in=commerce.EVENTS
    ).values("id", "name", "properties", "timestamp")
    return [{**row, "timestamp": iso(row["timestamp"])} for row in events]


def _store_commerce(contact, state, sync_orders=True):
    summary = commerce.summary(state)
    contact.commerce = commerce.dump(state)
    contact.cart = summary["cart"]
    contact.recently_viewed = summary["recently_viewed"]
    contact.lifetime_value = summary["lifetime_value"]
    contact.orders_count = summary["orders_count"]
    if sync_orders:
        _sync_orders(contact, summary["orders"])


def _sync_orders(contact, orders):
    wanted = {order["order_id"]: order for order in orders}
    existing = {
        order.order_id: order
        for order in Order.objects.filter(
            Q(contact=contact) | Q(order_id__in=list(wanted)), workspace_id=contact.workspace_id
        )
    }
    for order_id, order in wanted.items():
        values = {
            "contact_id": contact.pk,
            "revenue": Decimal(str(order["total"])),
            "net": Decimal(str(order["net"])),
            "currency": order["currency"],
            "products": order["products"],
            "placed_at": datetime.fromisoformat(order["placed_at"]),
            "status": order["status"],
            "event_id": order["event_id"],
        }
        row = existing.pop(order_id, None)
        if row is None:
            Order.objects.create(workspace_id=contact.workspace_id, order_id=order_id, **values)
        else:
            before = [getattr(row, key) for key in values]
            for key, value in values.items():
                setattr(row, key, value)
            if before != [getattr(row, key) for key in values]:
                row.save()
    stale = [row.pk for row in existing.values() if row.contact_id == contact.pk]
    if stale:
        Order.objects.filter(pk__in=stale).delete()


def rebuild_commerce(contact):
    """Derive the contact's commerce state and activity again from its whole event history."""
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        _store_commerce(contact, commerce.fold(commerce_history(contact)))
        last = Event.objects.filter(contact=contact).order_by("-timestamp").values_list("timestamp", flat=True).first()
        contact.last_activity_at = last
        contact.save()
    return contact


def record_suggestions(workspace_id, events):
    """Count event names and property keys seen, for the canvas's suggestions."""
    seen = {}
    for event in events:
        key = (event.type, event.name if event.type in ("track", "page", "screen") else "")
        entry = seen.setdefault(key, {"count": 0, "last": event.timestamp, "properties": {}})
        entry["count"] += 1
        entry["last"] = max(entry["last"], event.timestamp)
        source = event.traits if event.type in ("identify", "group") else event.properties
        if source and len(entry["properties"]) < ingest.MAX_SUGGESTED_PROPERTIES:
            ingest.property_shapes(source, into=entry["properties"])
    for (kind, name), entry in seen.items():
        with transaction.atomic():
            row, _ = EventName.objects.select_for_update().get_or_create(
                workspace_id=workspace_id, type=kind, name=name, defaults={"first_seen_at": entry["last"]}
            )
            row.count += entry["count"]
            row.last_seen_at = max(row.last_seen_at, entry["last"]) if row.count > entry["count"] else entry["last"]
            merged = dict(row.properties)
            for path, shape in entry["properties"].items():
                if path in merged or len(merged) < ingest.MAX_SUGGESTED_PROPERTIES:
                    merged[path] = shape
            row.properties = merged
            row.save()


def sweep_stalled():
    """Kick every workspace with unprocessed events (a worker died, a lease expired). Scheduled."""
    workspace_ids = (
        Event.objects.filter(processed_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
        .values_list("workspace_id", flat=True)
        .distinct()
    )
    kicked = 0
    for workspace_id in workspace_ids:
        IngestState.objects.filter(workspace_id=workspace_id, lease_until__lt=clock.now()).update(lease_until=None)
        IngestState.objects.filter(workspace_id=workspace_id).update(kick_pending=False)
        kicked += bool(kick_processing(workspace_id))
    return kicked


def process_now(workspace_id):
    """Drain synchronously (demo seeding, tests, the rebuild command)."""
    return drain_events(workspace_id, budget=timedelta(days=1))
