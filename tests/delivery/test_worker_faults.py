"""Real worker processes (`manage.py qcluster`) killed mid-send: an email handed to the SMTP server
is never sent twice; its row is left in doubt for a person to settle."""

import asyncio
import time
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from delivery import actions
from delivery.models import Message
from tests.conftest import free_port
from tests.engine.cluster import Cluster, wait_for

from .conftest import Mailbox, make_contact, make_template, simple_mjml

pytestmark = pytest.mark.django_db(transaction=True)


class SlowMailbox(Mailbox):
    """Takes its time over DATA: long enough to kill the worker while it waits for the answer."""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        await asyncio.sleep(2)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_smtp():
    mailbox = SlowMailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailbox.port = controller.port
    yield mailbox
    controller.stop()


def test_a_worker_killed_after_the_hand_off_never_sends_twice(workspace, slow_smtp):
    _, version = make_template(workspace, "promo", simple_mjml("Hello {{ contact.first_name }}"), "Hello")
    contact = make_contact(workspace)
    cluster = Cluster(slow_smtp.port, workers=1).start()
    try:
        message = actions.enqueue_message(workspace, version, idempotency_key="once", contact=contact)
        wait_for(
            lambda: Message.objects.filter(pk=message.pk, handed_off_at__isnull=False).exists(),
            timeout=60,
            message="the hand-off to the SMTP server",
        )
        cluster.kill()  # SIGKILL, mid-DATA: the server may or may not keep the email
    finally:
        cluster.stop()
    # Whether the server still keeps it is decided when its (2 s) DATA handler ends, if it runs at
    # all: there is no event to wait for, so give it that long.
    time.sleep(2.5)

    # the sweeper (every minute) finds the lease (2 minutes) expired after the hand-off
    actions.sweep(now=timezone.now() + actions.lease() + timedelta(seconds=5))
    message.refresh_from_db()
    assert message.status == Message.Status.IN_DOUBT

    # new workers, new sweeps, new kicks: nothing sends it again
    again = Cluster(slow_smtp.port, workers=1).start()
    try:
        actions.kick(message)
        time.sleep(4)  # nothing must happen: a window, not a condition (the kicks are not recorded)
        actions.sweep(now=timezone.now() + timedelta(minutes=5))
    finally:
        again.stop()
    message.refresh_from_db()
    assert message.status == Message.Status.IN_DOUBT
    assert len(slow_smtp.messages) <= 1


def test_workers_deliver_a_queued_email_once_even_with_two_kicks(workspace, slow_smtp):
    _, version = make_template(workspace, "promo", simple_mjml("Hello {{ contact.first_name }}"), "Hello")
    cluster = Cluster(slow_smtp.port, workers=2).start()
    try:
        message = actions.enqueue_message(workspace, version, idempotency_key="k", contact=make_contact(workspace))
        actions.kick(message)  # a second kick: both workers race for the same row
        wait_for(lambda: Message.objects.get(pk=message.pk).status == "sent", timeout=60, message="sent")
        time.sleep(1)  # the second kick's worker must find nothing to send: a window, not a condition
    finally:
        cluster.stop()
    assert len(slow_smtp.messages) == 1
    assert slow_smtp.messages[0]["email"]["Subject"] == "Hello"
