"""Two weeks of the demo's cart-abandonment journey, so its report has something to show.

Run once, when the journey has no enrollment yet, by editor/demo.py after it publishes. It goes
through the real parts at past times (the domain clock frozen day by day): checkouts over the
Segment-shaped ingestion path, the engine's worker, delivery's sends into the sandbox mailbox,
opens and clicks as the tracking endpoints record them, and orders (with revenue) that convert.
Deterministic (one seeded generator).
"""

import random
from datetime import timedelta

from delivery import actions as delivery
from delivery.models import Message
from journeys import clock, report, worker
from journeys.customers import events, ingest
from journeys.models import Contact, Enrollment, Journey

DAYS = 14
PER_DAY = 3


def seed(workspace):
    journey = Journey.objects.filter(workspace=workspace, library_key="cart-abandonment").first()
    if journey is None or journey.live_version_id is None or Enrollment.objects.filter(journey=journey).exists():
        return 0
    rng = random.Random(20261202)
    contacts = list(
        Contact.objects.filter(workspace=workspace, merged_into__isnull=True, email__gt="")
        .exclude(user_id="")
        .order_by("id")[: DAYS * PER_DAY]
    )
    start = clock.now().replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=DAYS)
    for index, contact in enumerate(contacts):
        at = start + timedelta(days=index // PER_DAY, hours=rng.randint(0, 8), minutes=rng.randint(0, 59))
        _one_checkout(workspace, contact, index, at, rng)
    report.fold_all()
    return len(contacts)


def _track(workspace, contact, index, seq, event, at, properties):
    call = {
        "type": "track",
        "messageId": f"demo-history-{index:03d}-{seq}",
        "userId": contact.user_id,
        "event": event,
        "properties": properties,
        "timestamp": at.isoformat(),
    }
    rows, errors = ingest.parse_batch({"batch": [call]}, at)
    if errors:
        raise ValueError(f"demo history call rejected: {errors}")
    events.store_events(workspace.id, rows)
    events.process_now(workspace.id)


def _work():
    worker.advance_due()
    delivery.sweep()


def _one_checkout(workspace, contact, index, at, rng):
    """Add to cart, check out, and, after the journey's reminder, maybe open, click and buy."""
    product = {"product_id": f"DEMO-H{index}", "sku": "SKU-1001", "name": "Trail Running Shoe", "price": 89.0}
    with clock.frozen(at):
        _track(workspace, contact, index, 0, "Product Added", at, {**product, "quantity": 1, "currency": "EUR"})
        _track(workspace, contact, index, 1, "Checkout Started", at, {"currency": "EUR"})
        _work()
    reminder_at = at + timedelta(hours=1, minutes=1)
    with clock.frozen(reminder_at):
        _work()
    message = Message.objects.filter(journey_id__isnull=False, contact=contact, node_id="reminder").first()
    if message is None or message.status != Message.Status.SENT:
        return
    seen_at = reminder_at + timedelta(minutes=rng.randint(5, 300))
    with clock.frozen(seen_at):
        if rng.random() < 0.2:  # Apple Mail's privacy proxy: a machine open
            delivery.record_open(message, user_agent="Mozilla/5.0")
        if rng.random() < 0.55:
            delivery.record_open(message, user_agent="Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15")
            if rng.random() < 0.5 and message.links:
                delivery.record_click(message, message.links[0])
                if rng.random() < 0.6:
                    bought = seen_at + timedelta(minutes=rng.randint(2, 90))
                    with clock.frozen(bought):
                        total = round(89.0 + rng.choice([0, 14.99, 29.0]), 2)
                        properties = {"order_id": f"DEMO-H{index}", "revenue": total, "currency": "EUR"}
                        _track(workspace, contact, index, 2, "Order Completed", bought, properties)
    with clock.frozen(at + timedelta(days=1, hours=1, minutes=2)):
        _work()
