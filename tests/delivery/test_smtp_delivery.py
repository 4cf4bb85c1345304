"""Emails sent through a real SMTP server (aiosmtpd), received and parsed."""

from decimal import Decimal

import dkim

from delivery import actions, domains
from delivery.models import Message

from .conftest import cart, make_contact, make_products, make_template


def send(workspace, version, contact, key="k1", context=None):
    message = actions.enqueue_message(
        workspace, version, idempotency_key=key, contact=contact, journey_context=context or {}
    )
    assert message.status == Message.Status.QUEUED, message.reason
    assert actions.send_message(message.pk) == Message.Status.SENT
    message.refresh_from_db()
    return message


def parts(received):
    mail = received["email"]
    return mail, mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()


def test_it_sends_a_multipart_email_with_both_parts_and_unsubscribe_headers(workspace, smtp, site):
    make_products(workspace)
    contact = make_contact(workspace, cart=cart(("SKU-1001", 1, 49.99, "Trail Running Shoe")))
    _, version = make_template(workspace)

    message = send(workspace, version, contact)

    assert len(smtp.messages) == 1
    received = smtp.messages[0]
    assert received["to"] == ["ada@example.com"]
    mail, text, html = parts(received)
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
    assert mail["Subject"] == "Ada, your cart is waiting"
    assert mail["List-Unsubscribe"] == (
        f"<https://wayline.example/t/u/{message.token}>, "
        f"<mailto:unsubscribe@wayline.local?subject=unsubscribe%20{message.token}>"
    )
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Message-ID"]
    assert "Hi Ada, you left something behind" in html
    assert "Hi Ada, you left something behind" in text
    # the cart with today's price next to the price when added, and the stock
    assert "$49.99" in html and "$39.99" in html and "the price dropped!" in html
    assert "Only 3 left in stock" in text
    # links are signed redirects; the open pixel is there; the text part's links are tracked too
    assert f"https://wayline.example/t/c/{message.token}?u=" in html
    assert f"https://wayline.example/t/o/{message.token}.gif" in html
    assert "https://shop.example/p/SKU-1001" not in text
    assert f"https://wayline.example/t/c/{message.token}?u=" in text
    assert message.sent_at is not None


def test_it_personalizes_for_contacts_in_different_countries_carts_and_timezones(workspace, smtp, site):
    make_products(workspace)
    _, version = make_template(workspace)
    berlin = make_contact(
        workspace,
        "jonas@example.de",
        traits={"first_name": "Jonas"},
        country="DE",
        city="Berlin",
        timezone="Europe/Berlin",
        locale="de_DE",
        cart=cart(("SKU-2002", 2, 14.99, "Merino Socks (3 pack)"), currency="EUR"),
    )
    chicago = make_contact(
        workspace,
        "maya@example.com",
        traits={"first_name": "Maya"},
        country="US",
        city="Chicago",
        timezone="America/Chicago",
        locale="en_US",
        cart=cart(("SKU-1001", 1, 39.99, "Trail Running Shoe"), ("SKU-3003", 3, 9.99, "Water Bottle 750 ml")),
    )
    send(workspace, version, berlin, key="de")
    send(workspace, version, chicago, key="us")

    by_recipient = {m["to"][0]: parts(m) for m in smtp.messages}
    mail, text, html = by_recipient["jonas@example.de"]
    assert mail["Subject"] == "Jonas, your cart is waiting"
    assert "Kostenloser Versand nach Deutschland" in html
    assert "Berlin store" not in html
    assert "29,98 €" in text  # 2 x 14.99 in euros, German number format
    assert "Merino Socks (3 pack)" in text and "× 2" in text
    # recommendations: same category as the cart first, in stock only (the vest is sold out)
    assert "Trail Running Shoe" in text and "Reflective Vest" not in text

    mail, text, html = by_recipient["maya@example.com"]
    assert mail["Subject"] == "Maya, your cart is waiting"
    assert "Pick it up today at our Chicago store." in text
    assert "Kostenloser Versand" not in html
    assert "You have 2 items worth $69.96 in your cart." in text  # 39.99 + 3 x 9.99
    assert "Only 3 left in stock" in text  # the shoe's live stock


def test_dates_are_shown_in_the_contacts_timezone_and_locale(workspace, smtp, site):
    mjml = (
        "<mjml><mj-body><mj-section><mj-column><mj-text>"
        'Ends {{ event.ends_at | date: "%Y-%m-%d %H:%M" }} / {{ event.ends_at | date: "long" }}'
        "</mj-text></mj-column></mj-section></mj-body></mjml>"
    )
    _, version = make_template(workspace, slug="sale", mjml=mjml, subject="Sale")
    tokyo = make_contact(workspace, "ken@example.jp", timezone="Asia/Tokyo", locale="ja_JP")
    paris = make_contact(workspace, "lea@example.fr", timezone="Europe/Paris", locale="fr_FR")
    trigger = {"trigger": {"name": "Sale Started", "properties": {"ends_at": "2026-12-05T23:30:00Z"}}}
    send(workspace, version, tokyo, key="jp", context=trigger)
    send(workspace, version, paris, key="fr", context=trigger)
    texts = {m["to"][0]: parts(m)[1] for m in smtp.messages}
    assert "Ends 2026-12-06 08:30 / 2026年12月6日" in texts["ken@example.jp"]
    assert "Ends 2026-12-06 00:30 / 6 décembre 2026" in texts["lea@example.fr"]


def test_it_dkim_signs_smtp_mail_when_the_workspace_has_a_key(workspace, smtp, site):
    key = domains.generate_dkim_key(1024)
    actions.update_sending_settings(
        workspace, None, {"from_email": "news@shop.example", "dkim_selector": "wl", "dkim_private_key": key}
    )
    _, version = make_template(workspace)
    send(workspace, version, make_contact(workspace))

    raw = smtp.messages[0]["raw"]
    assert raw.startswith(b"DKIM-Signature:")
    record = domains.dkim_record(key).encode()

    def dns(name, timeout=5):
        return record if name == b"wl._domainkey.shop.example." else None

    assert dkim.verify(raw, dnsfunc=dns)


def test_a_temporary_smtp_error_is_retried_with_backoff_and_a_permanent_one_suppresses(workspace, smtp, site):
    from journeys import customers

    _, version = make_template(workspace)
    busy = make_contact(workspace, "busy@example.com")
    gone = make_contact(workspace, "gone@example.com")
    smtp.refuse = {"busy@example.com": (451, "Try again later"), "gone@example.com": (550, "No such user")}

    first = actions.enqueue_message(workspace, version, idempotency_key="busy", contact=busy)
    assert actions.send_message(first.pk) == Message.Status.QUEUED
    first.refresh_from_db()
    assert first.attempts == 1 and first.next_attempt_at > first.updated_at - first.updated_at.resolution
    assert "451" in first.reason
    # not due yet: a second kick does nothing
    assert actions.send_message(first.pk) is None
    smtp.refuse = {"gone@example.com": (550, "No such user")}
    assert actions.send_message(first.pk, now=first.next_attempt_at) == Message.Status.SENT

    second = actions.enqueue_message(workspace, version, idempotency_key="gone", contact=gone)
    assert actions.send_message(second.pk) == Message.Status.FAILED
    second.refresh_from_db()
    assert "550" in second.reason
    assert customers.is_suppressed(workspace, "gone@example.com")
    assert [m["to"] for m in smtp.messages] == [["busy@example.com"]]
    assert Decimal(1)  # keep the import honest
