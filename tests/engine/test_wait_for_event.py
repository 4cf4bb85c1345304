"""A contact waits for an event (same cart as the trigger) or a timeout; the goal ends the journey."""

from datetime import timedelta
from decimal import Decimal

from journeys import clock
from journeys.models import Conversion, Enrollment, StepLog

from .conftest import definition, enrollment_of, make_contact, publish, run_worker, steps, track

CART = definition(
    ("wait", "wait_for_event", {"event": "Order Completed", "timeout": "PT1H", "match": {"property": "cart_id"}}),
    ("check", "branch", {"condition": {"field": "event.properties.total", "op": "gte", "value": 100}}),
    ("big", "email", {"template": "cart-reminder"}),
    ("small", "email", {"template": "welcome"}),
    ("thanks", "exit", {}),
    edges=[
        ("trigger", "wait"),
        ("wait", "timeout", "check"),
        ("wait", "event", "thanks"),
        ("check", "yes", "big"),
        ("check", "no", "small"),
    ],
    trigger={"type": "event", "event": "Checkout Started"},
)


def start(workspace, total=150, cart="c1"):
    journey = publish(workspace, CART)
    contact = make_contact(workspace)
    track(contact, "Checkout Started", {"cart_id": cart, "total": total})
    run_worker()
    return journey, contact, enrollment_of(journey, contact)


def test_the_contact_waits_for_the_event(workspace, fake_email):
    journey, contact, enrollment = start(workspace)
    assert enrollment.status == Enrollment.Status.WAITING
    assert enrollment.awaited_event == "Order Completed"
    assert abs((enrollment.wake_at - enrollment.node_entered_at) - timedelta(hours=1)) < timedelta(seconds=1)
    assert fake_email.calls == []


def test_the_event_for_the_same_cart_ends_the_wait(workspace, fake_email):
    journey, contact, enrollment = start(workspace)
    track(contact, "Order Completed", {"cart_id": "c1"})
    run_worker()
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED and enrollment.exit_reason == "exit_node"
    assert steps(enrollment) == [("wait", "waiting"), ("wait", "event"), ("thanks", "exited")]
    assert fake_email.calls == []


def test_an_event_for_another_cart_is_ignored_and_recorded(workspace, fake_email):
    journey, contact, enrollment = start(workspace)
    track(contact, "Order Completed", {"cart_id": "other"})
    track(contact, "Order Completed", {})
    run_worker()
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.WAITING
    ignored = StepLog.objects.filter(enrollment=enrollment, outcome="event_ignored").order_by("id")
    assert [log.detail["reason"] for log in ignored] == [
        "cart_id 'other' is not the trigger's 'c1'",
        "the event has no “cart_id”",
    ]


def test_the_timeout_fires_and_the_branch_goes_the_right_way(workspace, fake_email):
    journey, contact, big = start(workspace, total=150)
    small_contact = make_contact(workspace)
    track(small_contact, "Checkout Started", {"cart_id": "c9", "total": 20})
    run_worker()
    with clock.frozen(clock.now() + timedelta(hours=1, seconds=1)):
        run_worker()
    small = enrollment_of(journey, small_contact)
    big.refresh_from_db()
    assert fake_email.sent_to(big) == [("big", 1)]
    assert fake_email.sent_to(small) == [("small", 1)]
    assert steps(big) == [("wait", "waiting"), ("wait", "timeout"), ("check", "yes"), ("big", "sent")]


def test_a_goal_event_exits_from_any_node_and_records_the_conversion(workspace, fake_email):
    goal = {**CART, "exit_on": [{"event": "Order Completed", "as_conversion": True}]}
    journey = publish(workspace, goal, name="with goal")
    contact = make_contact(workspace)
    track(contact, "Checkout Started", {"cart_id": "c1"})
    run_worker()
    order = track(contact, "Order Completed", {"cart_id": "zzz", "revenue": "59.90", "currency": "eur"})
    enrollment = enrollment_of(journey, contact)
    assert enrollment.status == Enrollment.Status.EXITED and enrollment.exit_reason == "goal"
    conversion = Conversion.objects.get(enrollment=enrollment)
    assert (conversion.revenue, conversion.currency, conversion.event_id) == (Decimal("59.90"), "EUR", order.pk)
    assert steps(enrollment)[-1] == ("wait", "goal")
    # the same goal event again changes nothing
    from journeys import triggers

    triggers.on_event(order)
    assert Conversion.objects.filter(journey=journey).count() == 1


def test_an_old_event_does_not_end_a_newer_wait(workspace, fake_email):
    journey, contact, enrollment = start(workspace)
    track(contact, "Order Completed", {"cart_id": "c1"}, at=clock.now() - timedelta(days=2))
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.WAITING
    assert (
        StepLog.objects.get(enrollment=enrollment, outcome="event_ignored")
        .detail["reason"]
        .startswith("the event is older")
    )


def test_an_event_arriving_before_the_worker_reached_the_wait_still_ends_it(workspace, fake_email):
    """The contact entered at the trigger, its awaited event came in before any worker moved it to
    the wait node: the wait finds it when the worker gets there."""
    journey = publish(workspace, CART)
    contact = make_contact(workspace)
    track(contact, "Checkout Started", {"cart_id": "c1", "total": 150})
    track(contact, "Order Completed", {"cart_id": "c1"})  # nobody was waiting yet
    run_worker()
    enrollment = enrollment_of(journey, contact)
    assert enrollment.status == Enrollment.Status.COMPLETED
    assert steps(enrollment) == [("wait", "event"), ("thanks", "exited")]
    assert enrollment.context["events"]["wait"]["properties"] == {"cart_id": "c1"}
    assert fake_email.calls == []


def test_an_event_for_another_cart_before_the_wait_does_not_end_it(workspace, fake_email):
    journey = publish(workspace, CART)
    contact = make_contact(workspace)
    track(contact, "Checkout Started", {"cart_id": "c1", "total": 150})
    track(contact, "Order Completed", {"cart_id": "c0"})
    run_worker()
    assert enrollment_of(journey, contact).status == Enrollment.Status.WAITING
