"""Live images (issue 13): `{% live_image %}` puts a signed image URL in a sent email; opening it
draws the product's price or stock, or a countdown, at that moment."""

import html as htmllib
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from PIL import Image

from delivery import actions, live_images, rendering
from delivery.models import Message
from journeys import clock
from journeys.customers.catalog import upsert_products

from .conftest import make_contact, make_template, simple_mjml

TAG = '{% live_image "price" sku: "SKU-1" color: "#ffffff" background: "#112233" %}'


def set_price(workspace, price):
    upsert_products(workspace, [{"sku": "SKU-1", "name": "Lamp", "price": Decimal(price), "currency": "USD"}])


def send(workspace, mjml, slug="live"):
    contact = make_contact(workspace)
    _, version = make_template(workspace, slug=slug, mjml=mjml, subject="Hi")
    message = actions.enqueue_message(workspace, version, idempotency_key=slug, contact=contact)
    assert actions.send_message(message.pk) == Message.Status.SENT
    message.refresh_from_db()
    return message


def image_urls(message):
    return [
        htmllib.unescape(url) for url in re.findall(r'<img src="(https://wayline\.example/t/i/[^"]+)"', message.html)
    ]


def path_of(url):
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def png(response):
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    return Image.open(io.BytesIO(response.content))


@pytest.fixture
def sent(workspace, site):
    set_price(workspace, "20.00")
    return send(workspace, simple_mjml(f"Now only {TAG} while it lasts"))


def test_it_draws_the_price_of_the_moment_the_email_is_opened(sent, workspace, client):
    [url] = image_urls(sent)
    start = timezone.now()
    with clock.frozen(start):
        first = client.get(path_of(url))
        image = png(first)
        assert image.size == (600, 150) and image.getpixel((2, 2))[:3] == (0x11, 0x22, 0x33)
        product = live_images.product_finder(workspace.pk)("SKU-1")
        assert live_images.text_for("price", product, {}, start) == "$20.00"

        set_price(workspace, "15.00")
        assert client.get(path_of(url)).content == first.content  # drawn once a minute, not per open

    with clock.frozen(start + timedelta(seconds=61)):
        second = client.get(path_of(url))
        png(second)
        product = live_images.product_finder(workspace.pk)("SKU-1")
        assert live_images.text_for("price", product, {}, start) == "$15.00"
    assert second.content != first.content
    assert "no-cache" in second["Cache-Control"]


def test_the_image_is_in_the_html_only_and_the_text_part_reads_on(sent):
    assert len(image_urls(sent)) == 1
    assert "<img" not in sent.text and "live_image" not in sent.text
    assert "Now only" in sent.text and "while it lasts" in sent.text


def test_a_changed_or_expired_url_is_a_bare_404(sent, client):
    [url] = image_urls(sent)
    path = path_of(url)
    signature = parse_qs(urlsplit(url).query)["s"][0]
    tampered = [
        path.replace(f"s={signature}", f"s={signature[:-2]}xx"),
        path.replace("sku=SKU-1", "sku=SKU-2"),
        path.replace("bg=112233", "bg=000000"),
        path.replace("/price.png", "/stock.png"),
        path.replace(sent.token, "A" * 24),
        path.split("&s=")[0],
    ]
    for changed in tampered:
        response = client.get(changed)
        assert response.status_code == 404, changed
        assert response.content == b""
    with clock.frozen(timezone.now() + timedelta(days=live_images.URL_DAYS + 1)):
        response = client.get(path)
    assert response.status_code == 404 and response.content == b""
    assert client.post(path).status_code == 405


def test_an_unknown_product_or_a_failed_drawing_is_a_transparent_pixel(sent, client, monkeypatch):
    options = {"color": "1a1a1a", "background": "ffffff"}
    expires = int((timezone.now() + timedelta(days=1)).timestamp())
    unknown = live_images.image_url(sent.token, "price", "NO-SUCH-SKU", options, expires)
    pixel = png(client.get(path_of(unknown)))
    assert pixel.size == (1, 1) and pixel.convert("RGBA").getpixel((0, 0))[3] == 0

    def broken(*args, **kwargs):
        raise RuntimeError("the font is gone")

    monkeypatch.setattr(live_images, "render_image", broken)
    [url] = image_urls(sent)
    pixel = png(client.get(path_of(url)))
    assert pixel.size == (1, 1)


def test_the_url_says_nothing_about_the_contact(sent):
    [url] = image_urls(sent)
    contact = sent.contact
    parts = urlsplit(url)
    assert parts.path == f"/t/i/{sent.token}/price.png"
    assert set(parse_qs(parts.query)) == {"sku", "fg", "bg", "e", "s"}
    assert contact.email not in url and contact.user_id not in url
    assert str(contact.pk) not in re.split(r"[/?&=.]", url)


def test_stock_and_a_countdown(workspace, site, client):
    upsert_products(workspace, [{"sku": "SKU-9", "name": "Mug", "price": Decimal("5"), "stock": 3}])
    message = send(
        workspace,
        simple_mjml('{% live_image "stock" sku: "SKU-9" %}{% live_image "countdown" until: "2026-12-24T00:00:00Z" %}'),
    )
    stock_url, countdown_url = image_urls(message)
    assert "sku=" not in countdown_url
    with clock.frozen(datetime(2026, 12, 22, 22, 30, tzinfo=UTC)):
        assert png(client.get(path_of(stock_url))).size == (600, 150)
        assert png(client.get(path_of(countdown_url))).size == (600, 150)
    product = live_images.product_finder(workspace.pk)("SKU-9")
    at = datetime(2026, 12, 22, 22, 30, tzinfo=UTC)
    assert live_images.text_for("stock", product, {}, at) == "Only 3 left"
    assert live_images.text_for("countdown", None, {"until": "2026-12-24T00:00:00Z"}, at) == "1d 01h 30m"
    assert live_images.text_for("countdown", None, {"until": "2026-12-24T00:00:00Z"}, at + timedelta(days=2)) == (
        "Ended"
    )


def test_the_canvas_has_one_size_and_a_long_text_is_cut():
    product = {"price": Decimal("9999999999.99"), "currency": "USD"}  # Product.price's largest
    options = {"color": "1a1a1a", "background": "ffffff"}
    assert live_images.text_for("price", product, options, timezone.now()) == "$9,999,999,999.99"
    image = Image.open(io.BytesIO(live_images.render_image("price", product, options, timezone.now())))
    assert image.size == (600, 150)
    cut = live_images._cut("x" * 100)
    assert len(cut) == live_images.MAX_TEXT and cut.endswith("…")


def test_a_preview_shows_the_picture_inline_and_never_fails(workspace):
    set_price(workspace, "20.00")
    contact = make_contact(workspace)
    _, version = make_template(workspace, slug="live", mjml=simple_mjml(TAG), subject="Hi")
    rendered = actions.preview(workspace, version, contact=contact)
    assert '<img src="data:image/png;base64,' in rendered.html
    _, version = make_template(
        workspace, slug="gone", mjml=simple_mjml('{% live_image "price" sku: "GONE" %}'), subject="Hi"
    )
    assert "data:image/png;base64," in actions.preview(workspace, version, contact=contact).html


@pytest.mark.parametrize(
    ("tag", "says"),
    [
        ('{% live_image "prize" sku: "SKU-1" %}', "the kind must be one of price, stock, countdown"),
        ('{% live_image "price" %}', "needs sku"),
        ('{% live_image "price" sku: "" %}', "needs sku"),
        ('{% live_image "countdown" %}', "a countdown needs until"),
        ('{% live_image "countdown" until: "soon" %}', "a countdown needs until"),
        ('{% live_image "price" sku: "SKU-1" color: "red" %}', "color must be a hex colour"),
        ('{% live_image "price" sku: "SKU-1" size: 3 %}', "no option “size”"),
        ("{% live_image %}", "needs a kind first"),
    ],
)
def test_bad_tag_input_is_a_template_error_with_its_place(tag, says):
    problems, _ = rendering.validate_template(simple_mjml(f"Hello\n {tag}"), "Hi")
    [problem] = [p for p in problems if p.kind == "syntax"]
    assert says in problem.message
    assert problem.part == "mjml" and (problem.line, problem.column) == (2, 5)  # at the tag's name


def test_a_subject_cannot_hold_an_image():
    with pytest.raises(rendering.TemplateError, match="live_image belongs in the email's body"):
        rendering.compile_template(simple_mjml("Hi"), '{% live_image "price" sku: "SKU-1" %}')
