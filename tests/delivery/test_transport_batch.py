"""A batch handed to the transport: one outcome per email, the rest of the batch goes on whatever
one email meets, the SMTP connection is kept between batches and reopened after a drop, and
nothing the server accepted is reported as failed or sent again. A real SMTP server (aiosmtpd)
answers as each test needs."""

import asyncio
import time

import dkim
import pytest
import requests
from aiosmtpd.controller import Controller
from anymail.exceptions import AnymailAPIError
from anymail.message import AnymailRecipientStatus
from django.core import mail

from delivery import domains, transports
from delivery.models import SendingSettings
from delivery.transports import FAILED, IN_DOUBT, RETRY, SENT
from tests.conftest import free_port

from .conftest import Mailbox


class FaultyMailbox(Mailbox):
    """A mailbox that counts connections (EHLO) and QUITs, and can misbehave:
    `close_after`: close the connection once, right after accepting that many emails;
    `drop_before_reply`: for these recipients, take the whole email, then drop the connection
    without answering; `down_after`: stop listening and drop the connection after that many;
    `refuse_sender`: the answer to every MAIL FROM."""

    def __init__(self):
        super().__init__()
        self.connections = 0
        self.quits = 0
        self.close_after = None
        self.down_after = None
        self.drop_before_reply = set()
        self.refuse_sender = None
        self.controller = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        if self.refuse_sender:
            return self.refuse_sender
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope):  # noqa: N802
        self.quits += 1
        return "221 Bye"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        reply = await super().handle_DATA(server, session, envelope)
        accepted = len(self.messages)
        if set(envelope.rcpt_tos) & self.drop_before_reply:
            server.transport.close()  # the email arrived whole; its answer never leaves
            return reply
        if self.down_after == accepted:
            self.controller.server.close()  # no new connections from now on
            asyncio.get_running_loop().call_soon(server.transport.close)
        elif self.close_after == accepted:
            self.close_after = None
            asyncio.get_running_loop().call_soon(server.transport.close)  # after the 250 is written
        return reply

    def recipients(self):
        return [received["to"][0] for received in self.messages]


@pytest.fixture
def server():
    mailbox = FaultyMailbox()
    mailbox.controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    mailbox.controller.start()
    mailbox.port = mailbox.controller.port
    transports.POOL.close_all()
    yield mailbox
    transports.POOL.close_all()
    mailbox.controller.stop()


def smtp_settings(server, **fields):
    return SendingSettings(
        transport="smtp",
        smtp_host="127.0.0.1",
        smtp_port=server.port,
        smtp_use_tls=False,
        from_email="news@shop.example",
        **fields,
    )


def emails(*recipients):
    return [
        transports.build_email(
            subject=f"Hello {address}",
            html=f"<p>Hello {address}</p>",
            text=f"Hello {address}",
            from_email="Shop <news@shop.example>",
            to=address,
            headers={},
        )
        for address in recipients
    ]


def test_it_gives_each_email_its_own_outcome_and_the_rest_of_the_batch_goes_on(server):
    server.refuse = {"gone@example.com": (550, "No such user"), "busy@example.com": (451, "Try again later")}

    outcomes = transports.send_batch(
        emails("ada@example.com", "gone@example.com", "busy@example.com", "bob@example.com"), smtp_settings(server)
    )

    assert [o.status for o in outcomes] == [SENT, FAILED, RETRY, SENT]
    assert server.recipients() == ["ada@example.com", "bob@example.com"]
    assert outcomes[0].message_id == server.messages[0]["email"]["Message-ID"]
    assert outcomes[3].message_id == server.messages[1]["email"]["Message-ID"]
    assert outcomes[1].suppress and "550 No such user" in outcomes[1].reason
    assert not outcomes[2].suppress and "451 Try again later" in outcomes[2].reason
    assert server.connections == 1


def test_it_keeps_one_connection_open_across_batches_and_single_sends(server):
    sending = smtp_settings(server)

    first = transports.send_batch(emails("a@example.com", "b@example.com"), sending)
    second = transports.send_batch(emails("c@example.com", "d@example.com"), sending)
    message_id = transports.send(emails("e@example.com")[0], sending)

    assert [o.status for o in first + second] == [SENT] * 4
    assert server.recipients() == ["a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"]
    assert message_id == server.messages[-1]["email"]["Message-ID"]
    assert server.connections == 1
    assert server.quits == 0


def test_a_connection_the_server_closes_mid_batch_is_reopened_and_each_email_arrives_once(server):
    server.close_after = 2

    outcomes = transports.send_batch(
        emails("a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"),
        smtp_settings(server),
    )

    assert [o.status for o in outcomes] == [SENT] * 5
    assert server.recipients() == ["a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"]
    assert server.connections == 2


def test_a_drop_after_the_email_was_handed_over_is_in_doubt_and_never_resent(server):
    server.drop_before_reply = {"b@example.com"}

    outcomes = transports.send_batch(emails("a@example.com", "b@example.com", "c@example.com"), smtp_settings(server))

    assert [o.status for o in outcomes] == [SENT, IN_DOUBT, SENT]
    assert "may have been accepted" in outcomes[1].reason
    assert outcomes[1].error.in_doubt and not outcomes[1].error.permanent
    assert server.recipients() == ["a@example.com", "b@example.com", "c@example.com"]
    assert server.connections == 2


def test_a_server_that_goes_down_mid_batch_fails_only_what_it_had_not_accepted(server):
    server.down_after = 2

    outcomes = transports.send_batch(
        emails("a@example.com", "b@example.com", "c@example.com", "d@example.com"), smtp_settings(server)
    )

    assert [o.status for o in outcomes] == [SENT, SENT, RETRY, RETRY]
    assert server.recipients() == ["a@example.com", "b@example.com"]
    assert "Could not connect to the SMTP server" in outcomes[3].reason
    assert not any(o.suppress for o in outcomes)


def test_a_server_that_is_down_makes_the_whole_batch_a_temporary_failure(server):
    sending = smtp_settings(server)
    sending.smtp_port = free_port()  # nobody listens there

    outcomes = transports.send_batch(emails("a@example.com", "b@example.com"), sending)

    assert [o.status for o in outcomes] == [RETRY, RETRY]
    assert all("Could not connect to the SMTP server" in o.reason for o in outcomes)
    with pytest.raises(transports.DeliveryError) as raised:
        transports.send(emails("c@example.com")[0], sending)
    assert not raised.value.permanent and not raised.value.suppress


def test_send_raises_a_permanent_error_that_suppresses_for_a_refused_recipient(server):
    server.refuse = {"gone@example.com": (550, "No such user")}

    with pytest.raises(transports.DeliveryError) as raised:
        transports.send(emails("gone@example.com")[0], smtp_settings(server))

    assert raised.value.permanent and raised.value.suppress
    assert server.messages == []


def test_a_refused_sender_fails_the_email_without_suppressing_the_recipient(server):
    server.refuse_sender = "553 Sender not allowed"

    outcomes = transports.send_batch(emails("a@example.com", "b@example.com"), smtp_settings(server))

    assert [o.status for o in outcomes] == [FAILED, FAILED]
    assert not any(o.suppress for o in outcomes)
    assert "553 Sender not allowed" in outcomes[0].reason
    assert server.messages == [] and server.connections == 1


def test_several_connections_share_a_batch_when_the_settings_allow_and_stay_open(server):
    sending = smtp_settings(server, smtp_connections=3)
    recipients = [f"r{i}@example.com" for i in range(9)]

    first = transports.send_batch(emails(*recipients), sending)
    second = transports.send_batch(emails(*recipients[:3]), sending)

    assert [o.status for o in first + second] == [SENT] * 12
    by_id = {received["email"]["Message-ID"]: received["to"][0] for received in server.messages}
    assert [by_id[o.message_id] for o in first] == recipients  # each outcome is its own email's
    assert sorted(server.recipients()) == sorted(recipients + recipients[:3])
    assert server.connections == 3


def test_idle_connections_are_closed_and_the_next_batch_opens_a_new_one(server):
    sending = smtp_settings(server)
    transports.send_batch(emails("a@example.com"), sending)

    assert transports.POOL.close_idle(now=time.monotonic() + transports.IDLE_SECONDS - 5) == 0
    assert transports.POOL.close_idle(now=time.monotonic() + transports.IDLE_SECONDS + 1) == 1
    assert server.quits == 1
    transports.send_batch(emails("b@example.com"), sending)

    assert server.recipients() == ["a@example.com", "b@example.com"]
    assert server.connections == 2


def test_every_email_of_a_batch_is_dkim_signed_over_the_kept_connection(server):
    key = domains.generate_dkim_key(1024)
    sending = smtp_settings(server, dkim_selector="wl", dkim_private_key=key)
    record = domains.dkim_record(key).encode()

    def dns(name, timeout=5):
        return record if name == b"wl._domainkey.shop.example." else None

    outcomes = transports.send_batch(emails("a@example.com", "b@example.com"), sending)

    assert [o.status for o in outcomes] == [SENT, SENT]
    assert all(received["raw"].startswith(b"DKIM-Signature:") for received in server.messages)
    assert all(dkim.verify(received["raw"], dnsfunc=dns) for received in server.messages)
    assert server.connections == 1


def test_a_provider_gets_the_batch_in_one_call_and_each_email_its_own_outcome(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    batch = emails("a@example.com", "gone@example.com", "down@example.com", "b@example.com")
    batch[1].anymail_test_response = {
        "recipient_status": {"gone@example.com": AnymailRecipientStatus(message_id=None, status="rejected")}
    }
    unavailable = requests.Response()
    unavailable.status_code, unavailable.reason, unavailable._content = 503, "Service Unavailable", b"down"
    batch[2].anymail_test_response = AnymailAPIError("Service unavailable", status_code=503, response=unavailable)

    outcomes = transports.send_batch(batch, None)

    assert [o.status for o in outcomes] == [SENT, FAILED, RETRY, SENT]
    assert outcomes[1].suppress and not outcomes[2].suppress
    assert "Service unavailable" in outcomes[2].reason
    # each email reached the provider exactly once; the sent ones carry the provider's id
    assert [m.to[0] for m in mail.outbox] == ["a@example.com", "gone@example.com", "down@example.com", "b@example.com"]
    assert outcomes[0].message_id == "0" and outcomes[3].message_id == "3"
