"""The worker: batches claimed with a lease, nothing lost, nothing sent twice."""

from datetime import timedelta

from journeys import clock, hooks, worker
from journeys.models import Enrollment, StepLog

from .conftest import definition, enrollment_of, make_contact, publish, run_worker, track

MAIL = definition(("mail", "email", {"template": "welcome"}), edges=[("trigger", "mail")])


def enter(workspace, n):
    journey = publish(workspace, MAIL)
    contacts = [make_contact(workspace) for _ in range(n)]
    for contact in contacts:
        track(contact, "Signed Up")
    return journey, contacts


def test_two_workers_claim_disjoint_batches(workspace, fake_email):
    enter(workspace, 10)
    first_token, first = worker.claim_due(limit=6)
    second_token, second = worker.claim_due(limit=6)
    assert len(first) == 6 and len(second) == 4 and not set(first) & set(second)
    assert worker.claim_due(limit=6)[1] == []  # all leased
    worker.advance_claimed(first, first_token)
    worker.advance_claimed(second, second_token)
    assert len(fake_email.messages) == 10 and len(fake_email.calls) == 10


def test_a_dead_workers_batch_is_taken_again_when_its_lease_ends(workspace, fake_email, settings):
    settings.JOURNEYS_LEASE_SECONDS = 30
    journey, contacts = enter(workspace, 3)
    start = clock.now()
    with clock.frozen(start):
        dead_token, dead = worker.claim_due()  # ... and the worker dies here
        assert run_worker() == 0
    with clock.frozen(start + timedelta(seconds=31)):
        assert run_worker() == 3
    assert all(enrollment_of(journey, c).status == Enrollment.Status.COMPLETED for c in contacts)
    assert len(fake_email.calls) == 3
    # the dead worker coming back to life late finds nothing of its claim left
    assert worker.advance_claimed(dead, dead_token) == 0
    assert len(fake_email.calls) == 3


def test_a_step_run_twice_sends_once(workspace, fake_email, settings):
    """A worker that sent, then lost its transaction (killed before commit), is redone: the email
    hook is asked again for the same (enrollment, node, visit) and returns the same message."""
    journey, (contact,) = enter(workspace, 1)
    token, ids = worker.claim_due()
    original = worker.write_enrollments

    def crash(enrollments):
        raise RuntimeError("killed before commit")

    worker.write_enrollments = crash
    try:
        try:
            worker._advance_batch(ids, token, isolate=False)
        except RuntimeError:
            pass
    finally:
        worker.write_enrollments = original
    assert enrollment_of(journey, contact).status == Enrollment.Status.ACTIVE
    with clock.frozen(clock.now() + timedelta(minutes=5)):
        run_worker()
    enrollment = enrollment_of(journey, contact)
    assert enrollment.status == Enrollment.Status.COMPLETED
    assert len(fake_email.calls) == 2 and len(fake_email.messages) == 1
    assert StepLog.objects.filter(enrollment=enrollment, outcome="sent").count() == 1


def test_one_failing_enrollment_does_not_hold_up_the_batch(workspace, fake_email, monkeypatch):
    journey, contacts = enter(workspace, 3)
    bad = enrollment_of(journey, contacts[1]).pk

    def flaky(**kwargs):
        if kwargs["enrollment"].pk == bad:
            raise ValueError("template exploded")
        return fake_email(**kwargs)

    def flaky_batch(requests):  # the batch fails as a whole; the worker then runs it one by one
        return [flaky(**{k: r[k] for k in ("enrollment", "node_id", "visit", "config", "now")}) for r in requests]

    monkeypatch.setitem(hooks._hooks, "email.send", flaky)
    monkeypatch.setitem(hooks._hooks, "email.send_batch", flaky_batch)
    run_worker()
    statuses = {c.pk: enrollment_of(journey, c).status for c in contacts}
    assert statuses[contacts[1].pk] == Enrollment.Status.FAILED
    assert statuses[contacts[0].pk] == statuses[contacts[2].pk] == Enrollment.Status.COMPLETED
    failed = StepLog.objects.get(enrollment_id=bad, outcome="failed")
    assert failed.detail["error"] == "ValueError: template exploded"


def test_a_goal_reached_while_claimed_wins(workspace, fake_email):
    journey = publish(workspace, {**MAIL, "exit_on": [{"event": "Order Completed"}]})
    contact = make_contact(workspace)
    track(contact, "Signed Up")
    token, ids = worker.claim_due()
    track(contact, "Order Completed", {"revenue": 10})
    worker.advance_claimed(ids, token)
    enrollment = enrollment_of(journey, contact)
    assert enrollment.status == Enrollment.Status.EXITED and fake_email.calls == []


def test_many_due_enrollments_are_advanced_in_batches(workspace, fake_email, settings):
    settings.JOURNEYS_BATCH_SIZE = 7
    journey, contacts = enter(workspace, 20)
    assert worker.advance_due() == 7
    assert run_worker() == 13
    assert Enrollment.objects.filter(journey=journey, status="completed").count() == 20


def test_a_long_path_continues_in_the_next_run(workspace, fake_email, monkeypatch):
    monkeypatch.setattr("journeys.engine.step.MAX_STEPS_PER_RUN", 2)
    chain = definition(
        ("a", "update_contact", {"set": {"traits.a": "1"}}),
        ("b", "update_contact", {"set": {"traits.b": "2"}}),
        ("c", "update_contact", {"set": {"traits.c": "3"}}),
        ("d", "email", {"template": "welcome"}),
        edges=[("trigger", "a"), ("a", "b"), ("b", "c"), ("c", "d")],
    )
    journey = publish(workspace, chain)
    contact = make_contact(workspace)
    track(contact, "Signed Up")
    worker.advance_due()
    enrollment = enrollment_of(journey, contact)
    assert (enrollment.status, enrollment.current_node, enrollment.wake_at is not None) == ("active", "b", True)
    run_worker()
    enrollment = enrollment_of(journey, contact)
    contact.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED
    assert contact.traits == {"a": "1", "b": "2", "c": "3"}
    assert list(enrollment.steps.values_list("node", "entered")) == [
        ("a", True),
        ("b", True),
        ("c", True),
        ("d", True),
    ]
