"""Live images (issue 13, "content at open time"): `{% live_image "price" sku: "SKU-1" %}` in a
template (journeys/liquid.py) becomes an <img> whose picture is drawn when the email is opened,
with the product's price or stock at that moment, or the time left until a date.

The image's URL is `<site>/t/i/<message token>/<kind>.png?sku=…&fg=…&bg=…&e=…&s=…`: the message's
opaque token, what to draw, an expiry and a signature (tracking.sign over all of it, with a key of
its own). Nothing about the contact: the workspace and so the catalog are found from the token,
server-side. A picture is the same for every contact, so it is cached for a minute by workspace,
kind, sku, colours and minute, never by contact.

Drawing is bounded: a fixed canvas (LIVE_IMAGE_SIZE), a short text (MAX_TEXT characters), a font
size shrunk in a few steps until the text fits. Whatever goes wrong (no such product, a drawing
error) answers a transparent pixel, never an error.
"""

import base64
import datetime as dt
import functools
import hashlib
import io
import logging
import os
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from PIL import Image, ImageDraw, ImageFont

from journeys.customers.context import LiveProducts
from journeys.liquid import (
    LIVE_IMAGE_KINDS,
    LIVE_IMAGE_SIZE,
    PLACEHOLDER_URL,
    _format_money,
    countdown_until,
    hex_color,
)

from .rendering import HTML, MARK, TEXT
from .tracking import live_image_key, sign, verify

log = logging.getLogger(__name__)

URL_DAYS = 180  # how long the URLs of a sent email draw their image; after that, 404
CACHE_SECONDS = 60
MAX_TEXT = 32  # characters drawn; longer texts are cut with "…"
MAX_PARAM = 120  # characters of any one query value we look at
LOCALE = "en_US"  # prices as the shop shows them: the URL carries nothing about the contact
FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_SIZES = (72, 60, 48, 40, 32, 26)  # tried in turn until the text fits
PADDING = 24

PIXEL_PNG = base64.b64decode(PLACEHOLDER_URL.split(",", 1)[1])  # transparent, 1x1


# -- the signed URL --------------------------------------------------------------------------------


def _canonical(kind, sku, color, background, until, expires):
    return "\n".join(("live", kind, sku, color, background, until, str(expires)))


def image_url(token, kind, sku, options, expires, base_url=None):
    """The signed URL of one live image of the message with `token` (valid until `expires`, Unix
    seconds). `options` as journeys.liquid.live_image_options makes them."""
    color, background, until = options["color"], options["background"], options.get("until", "")
    signature = sign(
        live_image_key(settings.SECRET_KEY), token, _canonical(kind, sku, color, background, until, expires)
    )
    params = {"sku": sku, "until": until, "fg": color, "bg": background, "e": expires, "s": signature}
    query = urlencode({name: value for name, value in params.items() if value != ""})
    return f"{(base_url or settings.SITE_URL).rstrip('/')}/t/i/{token}/{kind}.png?{query}"


def url_maker(token, now, base_url=None):
    """The `_live_image_url` of a message's render data: its images' URLs, signed for its token."""
    expires = int((now + dt.timedelta(days=URL_DAYS)).timestamp())

    def make(kind, sku, options):
        return image_url(token, kind, sku, options, expires, base_url)

    return make


def checked_request(token, kind, query, now):
    """(sku, options) of a request for a live image if its URL is one we signed and it has not
    expired; None otherwise. `query`: the request's GET parameters."""
    values = {name: query.get(name, "") for name in ("sku", "until", "fg", "bg", "e", "s")}
    if kind not in LIVE_IMAGE_KINDS or any(len(value) > MAX_PARAM for value in values.values()):
        return None
    if not values["e"].isdigit() or int(values["e"]) < now.timestamp():
        return None
    canonical = _canonical(kind, values["sku"], values["fg"], values["bg"], values["until"], values["e"])
    if not verify(live_image_key(settings.SECRET_KEY), token, canonical, values["s"]):
        return None
    color, background = hex_color(values["fg"]), hex_color(values["bg"])
    if color is None or background is None or (kind == "countdown" and countdown_until(values["until"]) is None):
        return None  # signed by us, so never: but nothing unchecked reaches the drawing
    options = {"color": color, "background": background}
    if kind == "countdown":
        options["until"] = values["until"]
    return values["sku"], options


# -- what is drawn ---------------------------------------------------------------------------------


def _cut(text):
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _countdown(until, now):
    left = int((until - now).total_seconds())
    if left <= 0:
        return "Ended"
    days, rest = divmod(left // 60, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return f"{days}d {hours:02d}h {minutes:02d}m" if days else f"{hours:02d}h {minutes:02d}m"


def text_for(kind, product, options, now):
    """The text a live image shows now; None when there is nothing to show (no such product).
    `product`: journeys.customers.context.product_data's dict, or None."""
    if kind == "countdown":
        until = countdown_until(options.get("until"))
        return None if until is None else _cut(_countdown(until, now))
    if product is None:
        return None
    if kind == "price":
        amount = _format_money(product.get("price"), product.get("currency") or "USD", LOCALE)
        return _cut(amount) if amount else None
    if kind == "stock":
        stock = product.get("stock")
        if stock is None:
            return "In stock"
        return "Sold out" if stock <= 0 else _cut(f"Only {stock} left" if stock <= 10 else f"{stock} in stock")
    return None


@functools.lru_cache(maxsize=len(FONT_SIZES))
def _font(size):
    for path in FONTS:
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _rgb(hex6):
    return tuple(int(hex6[i : i + 2], 16) for i in (0, 2, 4))


def render_image(kind, product, options, now):
    """The PNG of a live image now: the text of `text_for`, centred on a LIVE_IMAGE_SIZE canvas in
    the given colours. Transparent 1x1 when there is nothing to show."""
    text = text_for(kind, product, options, now)
    if not text:
        return PIXEL_PNG
    width, height = LIVE_IMAGE_SIZE
    image = Image.new("RGB", (width, height), _rgb(options["background"]))
    draw = ImageDraw.Draw(image)
    for size in FONT_SIZES:
        font = _font(size)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        if right - left <= width - 2 * PADDING and bottom - top <= height - 2 * PADDING:
            break
    x = (width - (right - left)) / 2 - left
    y = (height - (bottom - top)) / 2 - top
    draw.text((x, y), text, font=font, fill=_rgb(options["color"]))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _cache_key(workspace_id, kind, sku, options, now):
    minute = int(now.timestamp()) // 60
    parts = (str(workspace_id), kind, sku, options["color"], options["background"], options.get("until", ""))
    return "live-image:" + hashlib.sha256("\n".join(parts).encode()).hexdigest() + f":{minute}"


def live_png(workspace_id, kind, sku, options, now, find_product):
    """The PNG of a live image of one workspace now, drawn at most once a minute (the same for
    every contact). `find_product(sku)` -> product_data dict or None. Never raises for a product
    or a drawing that fails: that is the transparent pixel (cached too, so a broken product is not
    looked up on every open)."""
    key = _cache_key(workspace_id, kind, sku, options, now)
    png = cache.get(key)
    if png is None:
        try:
            product = None if kind == "countdown" else find_product(sku)
            png = render_image(kind, product, options, now)
        except Exception:  # noqa: BLE001 - an open never fails: the pixel instead
            log.exception("live image %s %r could not be drawn", kind, sku)
            png = PIXEL_PNG
        cache.set(key, png, CACHE_SECONDS)
    return png


def product_finder(workspace_id):
    """sku -> the workspace's product (product_data, today's price and stock) or None."""
    products = LiveProducts(workspace_id)

    def find(sku):
        try:
            return products[sku]
        except KeyError:
            return None

    return find


def preview_maker(workspace_id, now, samples=None):
    """The `_live_image_url` of previews (no message, no token): the picture itself as a data:
    URL, so that the editor shows what an open would show now. Never fails a preview. `samples`
    (sku -> product data of a sample context, as a starter's thumbnail has): drawn, uncached, for a
    sku the workspace has no product of."""
    find = product_finder(workspace_id)
    samples = samples or {}

    def make(kind, sku, options):
        try:
            if sku in samples and kind != "countdown" and find(sku) is None:
                png = render_image(kind, samples[sku], options, now)
            else:
                png = live_png(workspace_id, kind, sku, options, now, find)
        except Exception:  # noqa: BLE001 - a preview shows the placeholder rather than an error
            log.exception("live image preview failed")
            return PLACEHOLDER_URL
        return "data:image/png;base64," + base64.b64encode(png).decode()

    return make


def html_only(markup):
    """Markup the email's HTML shows and its text part leaves out (rendering.mark_text's markers:
    the tag stands where text is, and text goes on after it)."""
    return f"{MARK}{HTML}{markup}{MARK}{TEXT}"
