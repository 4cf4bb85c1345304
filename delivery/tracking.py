"""Signed tracking links. Pure: a key and a base URL in, URLs and verdicts out.

A click URL is `<base>/t/c/<message token>?u=<target>&s=<signature>` (the target base64url-encoded),
the signature an HMAC of the token and the target: it only redirects to a link of that message, and
a changed URL or signature is refused. Our own links (unsubscribe, preferences, view in browser:
already under /t/) are left alone, and so are mailto:, tel: and anchors.
"""

import base64
import functools
import hashlib
import hmac
import html as htmllib
from urllib.parse import urlsplit

PIXEL_GIF = base64.b64decode(b"R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def click_key(secret):
    return hashlib.sha256(b"wayline.click\x00" + secret.encode()).digest()


def live_image_key(secret):
    """The key of live image URLs (delivery/live_images.py): not the click key, so that no
    signature made for one kind of URL is valid for the other."""
    return hashlib.sha256(b"wayline.live-image\x00" + secret.encode()).digest()


@functools.lru_cache(maxsize=16)
def _pads(key):
    """HMAC-SHA256's inner and outer hashes with `key` hashed in (RFC 2104), started once per key:
    signing a link then costs two short hashes, not HMAC's four (a quarter of the time)."""
    block = (key if len(key) <= 64 else hashlib.sha256(key).digest()).ljust(64, b"\0")
    return hashlib.sha256(bytes(b ^ 0x36 for b in block)), hashlib.sha256(bytes(b ^ 0x5C for b in block))


def signer(key, token):
    """sign(key, token, url) as a function of `url`, with the token hashed in once."""
    inner, outer = _pads(key)
    start = inner.copy()
    start.update(f"{token}\n".encode())

    def sign_url(url):
        message = start.copy()
        message.update(url.encode())
        digest = outer.copy()
        digest.update(message.digest())
        return base64.urlsafe_b64encode(digest.digest()[:18]).decode()

    return sign_url


def sign(key, token, url):
    """The HMAC-SHA256 of the token and the URL, 18 bytes of it in base64url."""
    return signer(key, token)(url)


def verify(key, token, url, signature):
    return hmac.compare_digest(sign(key, token, url), signature or "")


def decode_target(encoded):
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def is_safe_target(url):
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and "\\" not in url


def encode_target(url):
    return base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


@functools.lru_cache(maxsize=4096)
def _target(raw):
    """A link as written in the HTML -> (its URL, whether it may be tracked, its encoding for `u=`).
    The same for every message of a template: worked out once per process."""
    url = htmllib.unescape(raw) if "&" in raw else raw
    return url, is_safe_target(url), encode_target(url)


class LinkTracker:
    """Rewrites the links of one message and adds its open pixel."""

    def __init__(self, key, base_url, token, pixel=True):
        self.key = key
        self.pixel = pixel
        self.base = base_url.rstrip("/")
        self.own = self.base + "/t/"
        self.token = token
        self.prefix = f"{self.base}/t/c/{token}?u="
        self._sign = signer(key, token)
        self._tracked, self._urls = {}, {}

    def click_url(self, url, encoded=None):
        return f"{self.prefix}{encoded or encode_target(url)}&s={self._sign(url)}"

    def pixel_url(self):
        return f"{self.base}/t/o/{self.token}.gif"

    def link(self, raw):
        """The signed click URL of one link as it stands in the HTML (entity-escaped); our own
        links and anything but http(s) are left as they are."""
        tracked = self._tracked.get(raw)
        if tracked is None:
            url, safe, encoded = _target(raw)
            if not safe or url.startswith(self.own):
                tracked = raw
            else:
                tracked = self.click_url(url, encoded).replace("&", "&amp;")
                self._urls.setdefault(url, None)
            self._tracked[raw] = tracked
        return tracked

    def links(self):
        """The URLs this message's tracked links go to, in order of appearance."""
        return tuple(self._urls)

    def add_pixel(self, html):
        if not self.pixel:
            return html
        pixel = (
            f'<img src="{self.pixel_url()}" width="1" height="1" alt="" '
            'style="display:block;height:1px;width:1px;border:0;" />'
        )
        end = html.rfind("</body>")
        return html[:end] + pixel + html[end:] if end >= 0 else html + pixel
