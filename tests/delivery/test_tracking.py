"""Signed click redirects, the open pixel, one-click unsubscribe (RFC 8058), the preference center
and view in browser."""

import base64
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from delivery import actions
from delivery.models import Message, MessageEvent
from journeys import clock
from journeys.models import Product

from .conftest import cart, make_contact, make_products, make_template


@pytest.fixture
def sent(workspace, site):
    make_products(workspace)
    contact = make_contact(workspace, cart=cart(("SKU-1001", 1, 49.99, "Trail Running Shoe")))
    _, version = make_template(workspace)
    message = actions.enqueue_message(workspace, version, idempotency_key="m", contact=contact)
    assert actions.send_message(message.pk) == Message.Status.SENT
    message.refresh_from_db()
    return message


def click_urls(message):
    import re

    return re.findall(r'href="https://wayline\.example(/t/c/[^"]+)"', message.html)


def test_a_click_redirects_to_the_messages_link_and_counts(sent, client):
    path = click_urls(sent)[0].replace("&amp;", "&")
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example/"
    sent.refresh_from_db()
    assert sent.click_count == 1 and sent.clicked_at is not None
    assert MessageEvent.objects.get(message=sent, kind="click").url == "https://shop.example/"


def test_a_changed_url_or_signature_is_refused_and_there_is_no_open_redirect(sent, client):
    path = click_urls(sent)[0].replace("&amp;", "&")
    base, query = path.split("?")
    params = dict(part.split("=", 1) for part in query.split("&"))
    evil = base64.urlsafe_b64encode(b"https://evil.example/").decode().rstrip("=")
    assert client.get(f"{base}?u={evil}&s={params['s']}").status_code == 400
    assert client.get(f"{base}?u={params['u']}&s={params['s'][:-2]}xx").status_code == 400
    assert client.get(f"{base}?u={params['u']}").status_code == 400
    other_token = "/t/c/" + "A" * 24
    assert client.get(f"{other_token}?u={params['u']}&s={params['s']}").status_code == 400
    javascript = base64.urlsafe_b64encode(b"javascript:alert(1)").decode().rstrip("=")
    assert client.get(f"{base}?u={javascript}&s={params['s']}").status_code == 400
    sent.refresh_from_db()
    assert sent.click_count == 0


def test_the_open_pixel_is_a_gif_and_counts_opens_at_most_once_a_minute(sent, client):
    first = timezone.now()
    with clock.frozen(first):
        response = client.get(f"/t/o/{sent.token}.gif")
        assert response.status_code == 200 and response["Content-Type"] == "image/gif"
        assert response.content.startswith(b"GIF89a")
        for _ in range(4):  # the mail client shows the email again and again within a second
            clock.advance(timedelta(milliseconds=200))
            assert client.get(f"/t/o/{sent.token}.gif").status_code == 200
    sent.refresh_from_db()
    assert sent.open_count == 1 and sent.opened_at == first

    with clock.frozen(first + timedelta(seconds=61)):
        client.get(f"/t/o/{sent.token}.gif")
    sent.refresh_from_db()
    assert sent.open_count == 2 and sent.opened_at == first  # the first open keeps its time
    assert MessageEvent.objects.filter(message=sent, kind="open").count() == 2
    assert client.get("/t/o/unknown.gif").status_code == 200  # never an error image


def test_a_get_on_the_unsubscribe_url_never_unsubscribes(sent, client):
    response = client.get(f"/t/u/{sent.token}")
    assert response.status_code == 200
    assert b'<form method="post"' in response.content and b"Unsubscribe" in response.content
    sent.contact.refresh_from_db()
    assert sent.contact.consent.get("marketing") is not False


def test_one_click_unsubscribe_works_without_cookies_or_csrf_token(sent):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        f"/t/u/{sent.token}", "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers or "csrftoken" not in response.headers.get("Set-Cookie", "")
    sent.contact.refresh_from_db()
    assert sent.contact.consent["marketing"] is False
    sent.refresh_from_db()
    assert sent.unsubscribed_at is not None
    # and the next marketing email to them is not sent
    again = actions.enqueue_message(sent.workspace, sent.template_version, idempotency_key="m2", contact=sent.contact)
    assert actions.send_message(again.pk) == Message.Status.SUPPRESSED


def test_the_preference_center_sets_topics_and_unsubscribes_from_all(sent, client):
    actions.update_sending_settings(
        sent.workspace,
        None,
        {"topics": [{"key": "marketing", "name": "Offers"}, {"key": "newsletter", "name": "Newsletter"}]},
    )
    page = client.get(f"/t/p/{sent.token}")
    assert page.status_code == 200 and b"Newsletter" in page.content and b"Offers" in page.content
    client.post(f"/t/p/{sent.token}", {"topic_newsletter": "on"})
    sent.contact.refresh_from_db()
    assert sent.contact.consent == {"all": True, "marketing": False, "newsletter": True}
    client.post(f"/t/p/{sent.token}", {"all": "unsubscribe"})
    sent.contact.refresh_from_db()
    assert sent.contact.consent["all"] is False


def test_view_in_browser_renders_again_with_todays_price_and_stock(sent, client):
    Product.objects.filter(sku="SKU-1001").update(price=Decimal("29.99"), stock=1)
    response = client.get(f"/t/v/{sent.token}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "$29.99" in html and "Only 1 left in stock" in html
    assert "$39.99" in sent.html and "$39.99" not in html
    assert f"/t/o/{sent.token}.gif" not in html  # viewing is not an open
    assert f"https://wayline.example/t/c/{sent.token}?u=" in html
    assert client.get("/t/v/nope").status_code == 404


def policy_of(response):
    return dict(directive.partition(" ")[::2] for directive in response["Content-Security-Policy"].split("; "))


def test_view_in_browser_shows_remote_images_and_never_runs_a_script(sent, client):
    policy = policy_of(client.get(f"/t/v/{sent.token}"))
    assert policy["default-src"] == "'none'" and policy["script-src"] == "'none'"
    assert policy["img-src"] == "* data:"  # the marketer's images, from anywhere
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'" and policy["form-action"] == "'none'"


def test_the_preference_center_and_unsubscribe_pages_have_the_apps_policy(sent, client):
    for page in (f"/t/p/{sent.token}", f"/t/u/{sent.token}"):
        policy = policy_of(client.get(page))
        assert policy["script-src"] == "'self'" and policy["object-src"] == "'none'"
        assert policy["form-action"] == "'self'" and policy["frame-ancestors"] == "'self'"


@pytest.mark.parametrize("key", [b"k", bytes(range(32)), bytes(range(64)), bytes(range(200))])
def test_a_link_is_signed_with_hmac_sha256_of_the_token_and_the_url(key):
    """Links already in mailboxes must keep working: the signature is HMAC-SHA256 as RFC 2104 and
    Python's hmac module compute it, however it is computed."""
    import hmac

    from delivery.tracking import LinkTracker, decode_target, sign, verify

    for url in ("https://shop.example/p/SKU-1?a=1&b=ü", "https://x.test/"):
        expected = base64.urlsafe_b64encode(hmac.new(key, f"tok\n{url}".encode(), "sha256").digest()[:18]).decode()
        assert sign(key, "tok", url) == expected
        assert verify(key, "tok", url, expected)
        tracked = LinkTracker(key, "https://wayline.example", "tok").link(url.replace("&", "&amp;"))
        query = dict(part.split("=", 1) for part in tracked.split("?", 1)[1].split("&amp;"))
        assert decode_target(query["u"]) == url and query["s"] == expected
