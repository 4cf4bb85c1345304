"""Customer data state changes: store events, process them, erase, import, upsert the catalog.

The ingestion pipeline (design.md, "domain tables are the queue"):

1. `store_events` inserts the parsed calls in one transaction, deduplicated by
   (workspace, messageId) with INSERT ... ON CONFLICT DO NOTHING, so concurrent retries of one call
   store it once. After commit, `kick_processing` makes sure one worker will look.
2. `drain_events` (a django-q2 task, journeys.customer_tasks) takes the workspace's drain lease and
   processes unprocessed events in arrival order, one transaction per event (`process_event`):
   identity, profile (newer wins), commerce state, the `event.processed` engine hook.
3. Every step is idempotent: an event is claimed by a conditional UPDATE of `processed_at`, so a
   second run (at-least-once queue, expired lease) finds nothing to do.
"""

import csv
import io
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.actions import record_audit
from accounts.errors import DomainError

from . import commerce, executors, identity, ingest
from .customers import contact_erased, normalize_email, suppress
from .models import (
    Contact,
    ContactIdentity,
    Event,
    EventName,
    ImportJob,
    IngestState,
    Order,
    PriceChange,
    Product,
)

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


def _insert_events(groups):
    """What `Event.objects.bulk_create(objects, ignore_conflicts=True)` does, at a fifth of the
    cost: the rows are already validated plain values, so the ORM's per-field work is skipped."""
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
        # PostgreSQL: one statement per 1,000 rows (one round trip, not one per row).
        head, tail = sql.split(" VALUES ", 1)
        values, conflict = tail.split(" ON CONFLICT ", 1)
        for start in range(0, len(params), 1000):
            chunk = params[start : start + 1000]
            statement = f"{head} VALUES {', '.join([values] * len(chunk))} ON CONFLICT {conflict}"
            cursor.execute(statement, [value for row in chunk for value in row])


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
        from django_q.tasks import async_task

        async_task("journeys.customer_tasks.process_events", workspace_id, task_name=f"events-{workspace_id}")
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
    started = timezone.now()
    total = 0
    while True:
        if not _take_lease(workspace_id, timezone.now()):
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
                IngestState.objects.filter(workspace_id=workspace_id).update(lease_until=timezone.now() + DRAIN_LEASE)
                if timezone.now() - started > budget:
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
            now = timezone.now()
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
        Event.objects.filter(pk=event_id, attempts__gte=MAX_ATTEMPTS).update(processed_at=timezone.now())
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
    Event.objects.filter(pk=event.pk).update(contact=contact)
    event.contact = contact

    at = iso(event.timestamp)
    if not contact.cart:
        contact.cart = commerce.summary(commerce.State())["cart"]
    identity.apply_profile(contact, identity.profile_updates(event.type, traits, context), at)
    if contact.last_activity_at is None or event.timestamp > contact.last_activity_at:
        contact.last_activity_at = event.timestamp
    if event.type == "track" and commerce.is_commerce(event.name) or merged:
        _apply_commerce(contact, event, rebuild=bool(merged))
    contact.updated_at = timezone.now()
    contact.save()

    if executors.has_hook("event.processed"):
        executors.hook("event.processed")(event)


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
        IngestState.objects.filter(workspace_id=workspace_id, lease_until__lt=timezone.now()).update(lease_until=None)
        IngestState.objects.filter(workspace_id=workspace_id).update(kick_pending=False)
        kicked += bool(kick_processing(workspace_id))
    return kicked


def process_now(workspace_id):
    """Drain synchronously (demo seeding, tests, the rebuild command)."""
    return drain_events(workspace_id, budget=timedelta(days=1))


# -- Contacts --------------------------------------------------------------------------------------

EDITABLE_FIELDS = ("email", "timezone", "locale", "country", "city")


def update_contact(contact, actor, changes):
    """A member edits a profile: the values count as stated now (newer wins over older events)."""
    at = iso(timezone.now())
    updates = {}
    for key in EDITABLE_FIELDS:
        if key in changes:
            updates[key] = changes[key] or ""
    for trait, value in (changes.get("traits") or {}).items():
        updates[f"traits.{trait}"] = value
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        identity.apply_profile(contact, updates, at)
        for trait in changes.get("remove_traits") or []:
            contact.traits.pop(trait, None)
            contact.field_timestamps[f"traits.{trait}"] = at
        if "consent" in changes:
            contact.consent = {**contact.consent, **changes["consent"]}
        contact.updated_at = timezone.now()
        contact.save()
        record_audit(contact.workspace, actor, "contact.updated", f"contact {contact.pk}", fields=sorted(changes))
    return contact


def _merged_family(contact):
    """The contact and every contact merged into it (directly or not)."""
    family, frontier = [contact], [contact.pk]
    while frontier:
        children = list(Contact.objects.filter(merged_into_id__in=frontier))
        family += children
        frontier = [child.pk for child in children]
    return family


def export_contact(contact):
    """Everything held about a contact, as one JSON document (a data subject access request)."""
    family = _merged_family(contact)
    ids = [c.pk for c in family]
    return {
        "contact": contact_profile(contact),
        "identities": list(ContactIdentity.objects.filter(contact_id__in=ids).order_by("id").values("kind", "value")),
        "events": [
            {
                "message_id": e.message_id,
                "type": e.type,
                "name": e.name,
                "user_id": e.user_id,
                "anonymous_id": e.anonymous_id,
                "properties": e.properties,
                "traits": e.traits,
                "context": e.context,
                "timestamp": e.timestamp.isoformat(),
                "received_at": e.received_at.isoformat(),
            }
            for e in Event.objects.filter(contact_id__in=ids).order_by("timestamp", "id")
        ],
        "orders": [
            {
                "order_id": o.order_id,
                "revenue": float(o.revenue),
                "net": float(o.net),
                "currency": o.currency,
                "status": o.status,
                "products": o.products,
                "placed_at": o.placed_at.isoformat(),
            }
            for o in Order.objects.filter(contact_id__in=ids).order_by("placed_at")
        ],
        "exported_at": timezone.now().isoformat(),
    }


def contact_profile(contact):
    return {
        "id": contact.pk,
        "user_id": contact.user_id,
        "email": contact.email,
        "traits": contact.traits,
        "timezone": contact.timezone,
        "locale": contact.locale,
        "country": contact.country,
        "city": contact.city,
        "consent": contact.consent,
        "cart": contact.cart,
        "recently_viewed": contact.recently_viewed,
        "lifetime_value": float(contact.lifetime_value),
        "orders_count": contact.orders_count,
        "last_activity_at": contact.last_activity_at.isoformat() if contact.last_activity_at else None,
        "created_at": contact.created_at.isoformat(),
    }


def erase_contact(contact, actor):
    """Delete the profile, its events and orders, and (through `contact_erased`) the personal data
    other apps hold; keep only hashed suppression entries so the addresses are never mailed again.

    All in one transaction: a receiver that fails leaves everything as it was.
    """
    with transaction.atomic():
        family = _merged_family(Contact.objects.select_for_update().get(pk=contact.pk))
        ids = [c.pk for c in family]
        identities = list(ContactIdentity.objects.filter(contact_id__in=ids).values_list("kind", "value"))
        user_ids = sorted({value for kind, value in identities if kind == ContactIdentity.Kind.USER_ID})
        anonymous_ids = sorted({value for kind, value in identities if kind == ContactIdentity.Kind.ANONYMOUS_ID})
        emails = set()
        for member in family:
            emails |= {normalize_email(member.email), normalize_email(str(member.traits.get("email") or ""))}
        for traits in Event.objects.filter(contact_id__in=ids, type="identify").values_list("traits", flat=True):
            if isinstance(traits, dict) and isinstance(traits.get("email"), str):
                emails.add(normalize_email(traits["email"]))
        emails.discard("")
        for email in emails:
            suppress(contact.workspace_id, email, reason="erased")
        contact_erased.send(
            sender=Contact,
            workspace=contact.workspace,
            contact_id=contact.pk,
            emails=sorted(emails),
            user_ids=user_ids,
            anonymous_ids=anonymous_ids,
        )
        # Events not yet linked to the contact (still unprocessed) carry its ids too.
        Event.objects.filter(
            Q(contact_id__in=ids) | Q(user_id__in=user_ids) | Q(anonymous_id__in=anonymous_ids),
            workspace_id=contact.workspace_id,
        ).delete()
        Order.objects.filter(contact_id__in=ids).delete()
        Contact.objects.filter(pk__in=ids).update(merged_into=None)
        Contact.objects.filter(pk__in=ids).delete()
        record_audit(contact.workspace, actor, "contact.erased", f"contact {contact.pk}", suppressed=len(emails))
    return {"contact_id": contact.pk, "suppressed": len(emails)}


# -- Catalog ---------------------------------------------------------------------------------------

PRODUCT_FIELDS = ("name", "url", "image_url", "price", "currency", "stock", "category", "tags", "attributes")


def upsert_products(workspace, items, actor=None):
    """Create or update products by sku; every price change is kept in the price history.

    `items` are validated dicts (sku plus any PRODUCT_FIELDS). Returns {"created", "updated"}.
    """
    now = timezone.now()
    with transaction.atomic():
        existing = {
            product.sku: product
            for product in Product.objects.select_for_update().filter(
                workspace=workspace, sku__in=[item["sku"] for item in items]
            )
        }
        created, updated, changes = [], [], []
        for item in items:
            product = existing.get(item["sku"])
            if product is None:
                product = Product(workspace=workspace, sku=item["sku"], updated_at=now)
                for key in PRODUCT_FIELDS:
                    if key in item:
                        setattr(product, key, item[key])
                existing[item["sku"]] = product
                created.append(product)
                continue
            old_price = product.price
            dirty = False
            for key in PRODUCT_FIELDS:
                if key in item and getattr(product, key) != item[key]:
                    setattr(product, key, item[key])
                    dirty = True
            if dirty and product.pk:
                product.updated_at = now
                updated.append(product)
                if "price" in item and Decimal(old_price) != Decimal(item["price"]):
                    changes.append(
                        PriceChange(
                            workspace=workspace,
                            product=product,
                            old_price=old_price,
                            new_price=item["price"],
                            changed_at=now,
                        )
                    )
        Product.objects.bulk_create(created)
        for product in created:
            changes.append(
                PriceChange(
                    workspace=workspace, product=product, old_price=None, new_price=product.price, changed_at=now
                )
            )
        if updated:
            Product.objects.bulk_update(updated, [*PRODUCT_FIELDS, "updated_at"])
        PriceChange.objects.bulk_create(changes)
        if actor is not None:
            record_audit(workspace, actor, "products.upserted", "", created=len(created), updated=len(updated))
    return {"created": len(created), "updated": len({p.pk for p in updated})}


def update_product(product, actor, changes):
    item = {"sku": product.sku, **changes}
    upsert_products(product.workspace, [item], actor=actor)
    product.refresh_from_db()
    return product


# -- CSV imports -----------------------------------------------------------------------------------

MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_IMPORT_ROWS = 100_000
PROGRESS_EVERY = 200


def start_import(workspace, actor, kind, filename, content):
    if kind not in ImportJob.Kind.values:
        raise DomainError(
            "Choose what to import: contacts or products.", code="invalid_kind", fields={"kind": ["Unknown kind."]}
        )
    if len(content.encode()) > MAX_IMPORT_BYTES:
        raise DomainError(
            "The file is larger than 20 MB; split it.", code="file_too_large", fields={"file": ["Too large."]}
        )
    with transaction.atomic():
        job = ImportJob.objects.create(
            workspace=workspace, kind=kind, filename=filename[:255], content=content, created_by=actor
        )
        record_audit(workspace, actor, "import.started", filename[:200], kind=kind)
        transaction.on_commit(lambda: _enqueue_import(job.pk))
    return job


def _enqueue_import(job_id):
    from django_q.tasks import async_task

    async_task("journeys.customer_tasks.run_import", job_id, task_name=f"import-{job_id}")


class FatalImportError(Exception):
    pass


def run_import(job_id):
    """Check every row (progress stored as it goes), then save all good rows in one transaction.

    Rows with errors are skipped and reported; a fatal error (unreadable file, missing column,
    a failure while saving) imports nothing. Idempotent: the job is claimed by a conditional UPDATE.
    """
    now = timezone.now()
    claimed = ImportJob.objects.filter(
        Q(status=ImportJob.Status.QUEUED)
        | Q(status=ImportJob.Status.RUNNING, started_at__lt=now - timedelta(minutes=15)),
        pk=job_id,
    ).update(status=ImportJob.Status.RUNNING, phase="checking", started_at=now, rows_done=0)
    if not claimed:
        return None
    job = ImportJob.objects.select_related("workspace").get(pk=job_id)
    try:
        reader = csv.DictReader(io.StringIO(job.content.lstrip("\ufeff")))
        if not reader.fieldnames:
            raise FatalImportError("The file is empty or is not a CSV file.")
        columns = [name.strip() for name in reader.fieldnames]
        check = _check_product_row if job.kind == ImportJob.Kind.PRODUCTS else _check_contact_row
        _check_columns(job.kind, columns)
        rows = list(reader)
        if len(rows) > MAX_IMPORT_ROWS:
            raise FatalImportError(f"The file has {len(rows)} rows; at most {MAX_IMPORT_ROWS} can be imported at once.")
        ImportJob.objects.filter(pk=job_id).update(rows_total=len(rows))
        good, errors = [], []
        for number, raw in enumerate(rows, start=2):  # row 1 is the header
            row = {
                (key or "").strip(): (value or "").strip() if isinstance(value, str) else ""
                for key, value in raw.items()
            }
            problems, clean = check(row)
            if problems:
                errors += [{"row": number, "field": field, "error": message} for field, message in problems]
            else:
                good.append((number, clean))
            if (number - 1) % PROGRESS_EVERY == 0:
                ImportJob.objects.filter(pk=job_id).update(rows_done=number - 1)
        ImportJob.objects.filter(pk=job_id).update(rows_done=len(rows), phase="saving", row_errors=errors[:1000])
        with transaction.atomic():
            if job.kind == ImportJob.Kind.PRODUCTS:
                result = _save_products(job, good)
            else:
                result = _save_contacts(job, good)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.DONE,
            phase="",
            created_count=result["created"],
            updated_count=result["updated"],
            finished_at=timezone.now(),
            content="",
        )
    except FatalImportError as error:
        _fail_import(job_id, str(error))
    except Exception as error:
        log.exception("import %s failed", job_id)
        _fail_import(job_id, f"The import failed and nothing was imported: {type(error).__name__}: {error}")
    return ImportJob.objects.get(pk=job_id)


def _fail_import(job_id, message):
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.FAILED,
        phase="",
        error=message[:2000],
        finished_at=timezone.now(),
        created_count=0,
        updated_count=0,
        content="",
    )


def _check_columns(kind, columns):
    if kind == ImportJob.Kind.PRODUCTS:
        missing = [name for name in ("sku", "name", "price") if name not in columns]
        if missing:
            raise FatalImportError(f"The file has no {', '.join(missing)} column; products need sku, name and price.")
    elif "email" not in columns and "user_id" not in columns:
        raise FatalImportError("The file has neither an email nor a user_id column; contacts need one of them.")


def _check_product_row(row):
    problems, clean = [], {}
    sku = row.get("sku", "")
    if not sku:
        problems.append(("sku", "sku is empty."))
    elif len(sku) > 100:
        problems.append(("sku", "sku is longer than 100 characters."))
    clean["sku"] = sku
    if not row.get("name"):
        problems.append(("name", "name is empty."))
    clean["name"] = row.get("name", "")[:500]
    price = commerce.money(row.get("price"))
    if price is None or price < 0:
        problems.append(("price", "price is not a number."))
    clean["price"] = price
    if row.get("currency"):
        if len(row["currency"]) != 3 or not row["currency"].isalpha():
            problems.append(("currency", "currency is not a 3-letter code."))
        clean["currency"] = row["currency"].upper()
    if row.get("stock"):
        try:
            clean["stock"] = int(row["stock"])
        except ValueError:
            problems.append(("stock", "stock is not a whole number."))
    for key in ("url", "image_url"):
        if row.get(key):
            if not row[key].startswith(("http://", "https://")):
                problems.append((key, f"{key} is not an http(s) URL."))
            clean[key] = row[key]
    if row.get("category"):
        clean["category"] = row["category"][:200]
    if row.get("tags"):
        clean["tags"] = [
            tag.strip() for tag in row["tags"].replace(";", ",").replace("|", ",").split(",") if tag.strip()
        ]
    known = {"sku", "name", "price", "currency", "stock", "url", "image_url", "category", "tags"}
    attributes = {key: value for key, value in row.items() if key and key not in known and value != ""}
    if attributes:
        clean["attributes"] = attributes
    return problems, clean


CONTACT_COLUMNS = {"email", "user_id", "timezone", "locale", "country", "city"}


def _check_contact_row(row):
    problems, clean = [], {}
    email = row.get("email", "")
    user_id = row.get("user_id", "")
    if not email and not user_id:
        problems.append(("email", "the row has neither an email nor a user_id."))
    if email:
        clean["email"] = identity.email_address(email)
        if clean["email"] is None:
            problems.append(("email", "email is not a valid address."))
    if user_id:
        if len(user_id) > 255:
            problems.append(("user_id", "user_id is longer than 255 characters."))
        clean["user_id"] = user_id
    if row.get("timezone"):
        clean["timezone"] = identity.timezone_name(row["timezone"])
        if clean["timezone"] is None:
            problems.append(("timezone", "timezone is not an IANA time zone such as Europe/Berlin."))
    if row.get("locale"):
        clean["locale"] = identity.locale_tag(row["locale"])
        if clean["locale"] is None:
            problems.append(("locale", "locale is not a language tag such as de-DE."))
    if row.get("country"):
        clean["country"] = identity.country_code(row["country"])
        if clean["country"] is None:
            problems.append(("country", "country is not a country name or ISO code."))
    if row.get("city"):
        clean["city"] = row["city"][:120]
    traits = {}
    for key, value in row.items():
        if not key or key in CONTACT_COLUMNS or value == "":
            continue
        if key.startswith("consent."):
            if value.lower() not in ("true", "false", "yes", "no", "1", "0"):
                problems.append((key, f"{key} must be true or false."))
            clean.setdefault("consent", {})[key[len("consent.") :]] = value.lower() in ("true", "yes", "1")
            continue
        traits[key] = value
    if email and clean.get("email"):
        traits["email"] = clean["email"]
    clean["traits"] = traits
    return problems, clean


def _save_products(job, good):
    by_sku = {}
    for _number, item in good:
        by_sku[item["sku"]] = item  # a sku repeated in the file: the last row wins
    result = {"created": 0, "updated": 0}
    items = list(by_sku.values())
    for start in range(0, len(items), 500):
        chunk = upsert_products(job.workspace, items[start : start + 500])
        result["created"] += chunk["created"]
        result["updated"] += chunk["updated"]
    record_audit(job.workspace, job.created_by, "import.finished", job.filename[:200], kind=job.kind, **result)
    return result


def _save_contacts(job, good):
    at = iso(timezone.now())
    workspace_id = job.workspace_id
    result = {"created": 0, "updated": 0}
    for _number, row in good:
        contact = None
        if row.get("user_id"):
            contact = identity.contact_for(workspace_id, row["user_id"], email=row.get("email"))
        else:
            contact = (
                Contact.objects.filter(workspace_id=workspace_id, email__iexact=row["email"], merged_into=None)
                .order_by("id")
                .first()
            )
            if contact is None:
                contact = Contact.objects.create(workspace_id=workspace_id)
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        fresh = not contact.field_timestamps and not contact.traits and not contact.email
        updates = {f"traits.{key}": value for key, value in row["traits"].items()}
        updates.update({key: row[key] for key in ("email", "timezone", "locale", "country", "city") if row.get(key)})
        identity.apply_profile(contact, updates, at)
        if row.get("consent"):
            contact.consent = {**contact.consent, **row["consent"]}
        contact.updated_at = timezone.now()
        contact.save()
        result["created" if fresh else "updated"] += 1
    record_audit(job.workspace, job.created_by, "import.finished", job.filename[:200], kind=job.kind, **result)
    return result
