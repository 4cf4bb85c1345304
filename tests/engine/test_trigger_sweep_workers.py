"""The periodic trigger sweep on real worker processes (`manage.py qcluster`), with more candidates
than one page of the sweep: every contact due enters, and the worker logs no failure.

It used to crash on the embedded default: the sweep iterated an open cursor over the candidates
while each entry's commit enqueued a kick, and django-q2's ORM broker closes the connection such
a cursor reads from (`sqlite3.ProgrammingError: Cannot operate on a closed database`)."""

from datetime import timedelta

import pytest

from journeys import clock, drafts, publishing, tasks
from journeys.models import Contact, Enrollment

from .cluster import Cluster, SMTPServer, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

CANDIDATES = 120
PAGE = 25  # the sweep reads this many contacts at once: the candidates fill almost five pages

INACTIVE = {
    "trigger": {"type": "inactivity", "duration": "P30D"},
    "entry": {"re_entry": "after_exit"},
    "nodes": [{"id": "later", "type": "delay", "config": {"duration": "P7D"}}],
    "edges": [{"from": "trigger", "to": "later"}],
}


@pytest.fixture
def smtp():
    server = SMTPServer()
    yield server
    server.stop()


def test_the_inactivity_sweep_enters_every_candidate_on_real_workers(workspace, smtp, settings):
    settings.JOURNEYS_KICKS = "on"
    tasks.ensure_schedule()
    journey = drafts.create_journey(workspace, None, "Come back", definition=INACTIVE)
    publishing.publish_journey(journey, None)
    long_ago = clock.now() - timedelta(days=40)
    Contact.objects.bulk_create(
        Contact(workspace=workspace, user_id=f"sleepy-{n}", email=f"sleepy{n}@example.com", last_activity_at=long_ago)
        for n in range(CANDIDATES)
    )
    Contact.objects.create(workspace=workspace, user_id="active", last_activity_at=clock.now())

    cluster = Cluster(smtp.port, workers=2, JOURNEYS_SWEEP_CHUNK=PAGE, JOURNEYS_TRIGGER_SWEEP_SECONDS=1).start()
    try:
        wait_for(
            lambda: Enrollment.objects.filter(journey=journey, status=Enrollment.Status.WAITING).count() >= CANDIDATES,
            timeout=120,
            message=f"{CANDIDATES} contacts entering the inactivity journey and waiting in its delay",
        )
        output = cluster.output()
    finally:
        cluster.stop()
    entered = Enrollment.objects.filter(journey=journey)
    assert entered.count() == CANDIDATES
    assert not entered.filter(contact__user_id="active").exists()
    assert set(entered.values_list("status", flat=True)) == {Enrollment.Status.WAITING}
    assert "Traceback" not in output and "sweep" not in output, output
