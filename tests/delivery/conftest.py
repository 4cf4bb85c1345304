"""Fixtures of the delivery tests: a real SMTP server (aiosmtpd) on a free port, contacts, templates."""

import email
import email.policy
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from delivery import actions
from journeys.models import Contact, Product
from tests.conftest import free_port

# Copies of shared/bench/cart_abandonment.mjml and cart_context.json (the reference of issue 4).
SHARED = Path(__file__).resolve().parent / "reference"
REFERENCE_MJML = (SHARED / "cart_abandonment.mjml").read_text()
REFERENCE_SUBJECT = '{{ contact.first_name | default: "Hi" }}, your cart is waiting'


class Mailbox:
    """What the SMTP server received, parsed."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()
        self.refuse = {}  # address -> (code, text) to answer RCPT TO with

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            code, text = self.refuse[address]
            return f"{code} {text}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.messages.append(
                {
                    "from": envelope.mail_from,
                    "to": list(envelope.rcpt_tos),
                    "raw": envelope.content,
                    "email": email.message_from_bytes(envelope.content, policy=email.policy.default),
                }
            )
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings):
    """A real SMTP server on localhost; Django's SMTP backend points at it."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = False
    mailbox.port = port
    yield mailbox
    controller.stop()


@pytest.fixture
def site(settings):
    settings.SITE_URL = "https://wayline.example"
    return settings.SITE_URL


def make_contact(workspace, email_address="ada@example.com", **fields):
    defaults = {
        "user_id": email_address.split("@")[0],
        "traits": {"first_name": "Ada"},
        "country": "GB",
        "city": "London",
        "timezone": "Europe/London",
        "locale": "en_GB",
    }
    defaults.update(fields)
    return Contact.objects.create(workspace=workspace, email=email_address, **defaults)


def make_products(workspace):
    rows = [
        ("SKU-1001", "Trail Running Shoe", "39.99", 3, "running"),
        ("SKU-2002", "Merino Socks (3 pack)", "14.99", 120, "running"),
        ("SKU-3003", "Water Bottle 750 ml", "9.99", 40, "outdoor"),
        ("SKU-4004", "Running Cap", "19.99", 10, "running"),
        ("SKU-5005", "Energy Gel (12)", "24.99", 50, "nutrition"),
        ("SKU-6006", "Reflective Vest", "29.99", 0, "running"),
    ]
    return {
        sku: Product.objects.create(
            workspace=workspace,
            sku=sku,
            name=name,
            price=Decimal(price),
            currency="EUR" if False else "USD",
            stock=stock,
            category=category,
            url=f"https://shop.example/p/{sku}",
            image_url=f"https://shop.example/i/{sku}.jpg",
        )
        for sku, name, price, stock, category in rows
    }


def cart(*lines, currency="USD"):
    """lines: (sku, quantity, price when added)."""
    return {
        "items": [
            {
                "sku": sku,
                "quantity": qty,
                "price": price,
                "name": name,
                "url": f"https://shop.example/p/{sku}",
                "image_url": f"https://shop.example/i/{sku}.jpg",
            }
            for sku, qty, price, name in lines
        ],
        "currency": currency,
    }


def make_template(workspace, slug="cart-reminder", mjml=REFERENCE_MJML, subject=REFERENCE_SUBJECT, **fields):
    template, version = actions.save_template(
        workspace, None, slug=slug, name=slug.replace("-", " ").title(), mjml=mjml, subject=subject, **fields
    )
    return template, version


def simple_mjml(body):
    return f"<mjml><mj-body><mj-section><mj-column><mj-text>{body}</mj-text></mj-column></mj-section></mj-body></mjml>"
