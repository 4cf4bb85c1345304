"""Public pages under /t/: the open pixel, signed click redirects, live images, unsubscribe (a GET
page that never unsubscribes, and the RFC 8058 one-click POST that works without cookies), the
preference center and view in browser. The message token in the URL is the only credential."""

import logging

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from journeys import clock

from . import actions, live_images
from .models import DEFAULT_TOPICS, SendingSettings
from .tracking import PIXEL_GIF, click_key, decode_target, is_safe_target, verify

log = logging.getLogger(__name__)


def _message(token):
    message = actions.message_by_token(token)
    if message is None:
        raise Http404
    return message


@never_cache
def open_pixel(request, token):
    message = actions.message_by_token(token)
    if message is not None:
        actions.record_open(message, user_agent=request.headers.get("User-Agent", ""))
    return HttpResponse(PIXEL_GIF, content_type="image/gif")


@never_cache
def click(request, token):
    """Redirect to a link of this message, and only that: the signature binds token and URL."""
    url = decode_target(request.GET.get("u", ""))
    signature = request.GET.get("s", "")
    if not url or not is_safe_target(url) or not verify(click_key(settings.SECRET_KEY), token, url, signature):
        return HttpResponseBadRequest("This link is not valid.", content_type="text/plain")
    message = actions.message_by_token(token)
    if message is None:
        raise Http404
    actions.record_click(message, url)
    return HttpResponseRedirect(url)


@require_GET
@never_cache  # drawn at each open (our own cache keeps that to once a minute)
def live_image(request, token, kind):
    """A live image of a message (delivery/live_images.py), drawn now. A URL we did not sign, or
    that has expired, is a bare 404; anything else that goes wrong is the transparent pixel."""
    try:
        now = clock.now()
        checked = live_images.checked_request(token, kind, request.GET, now)
        if checked is None:
            return HttpResponse(status=404)
        message = actions.message_by_token(token)
        if message is None:
            return HttpResponse(status=404)
        sku, options = checked
        find = live_images.product_finder(message.workspace_id)
        png = live_images.live_png(message.workspace_id, kind, sku, options, now, find)
    except Exception:  # noqa: BLE001 - an image in an email never answers an error
        log.exception("live image failed")
        png = live_images.PIXEL_PNG
    return HttpResponse(png, content_type="image/png")


def _topics(message):
    sending = SendingSettings.objects.filter(workspace=message.workspace).first()
    topics = (sending.topics if sending and sending.topics else None) or DEFAULT_TOPICS
    consent = (message.contact.consent if message.contact else None) or {}
    everything = consent.get("all") is not False
    return [
        {**topic, "subscribed": everything and consent.get(topic["key"]) is not False} for topic in topics
    ], everything


@csrf_exempt  # RFC 8058: mail clients POST without cookies; the token is the credential
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    message = _message(token)
    if request.method == "POST":
        actions.unsubscribe(message, topic=request.POST.get("topic") or None)
        return render(request, "delivery/unsubscribed.html", {"message": message, "token": token})
    # A GET (link scanners, previews) never unsubscribes: it shows a button that POSTs.
    return render(request, "delivery/unsubscribe.html", {"message": message, "token": token})


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def preferences(request, token):
    message = _message(token)
    saved = False
    if request.method == "POST":
        topics, _ = _topics(message)
        if request.POST.get("all") == "unsubscribe":
            choices = {"all": False}
        else:
            choices = {"all": True, **{t["key"]: request.POST.get(f"topic_{t['key']}") == "on" for t in topics}}
        actions.set_preferences(message, choices)
        message.refresh_from_db()
        saved = True
    topics, everything = _topics(message)
    return render(
        request,
        "delivery/preferences.html",
        {"message": message, "token": token, "topics": topics, "everything": everything, "saved": saved},
    )


def email_policy(script_src="'none'"):
    """The Content-Security-Policy of a page that shows an email: marketer HTML with inline styles,
    web fonts and images from anywhere; never a plugin, a form, a frame or a base URL, and no script
    but `script_src` (none for view in browser; the live preview frame's own, by hash)."""
    return "; ".join(
        [
            "default-src 'none'",
            "img-src * data:",
            "style-src * 'unsafe-inline'",
            "font-src * data:",
            f"script-src {script_src}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'self'",
        ]
    )


EMAIL_POLICY = email_policy()


@never_cache
@xframe_options_sameorigin
def view_in_browser(request, token):
    message = _message(token)
    try:
        html = actions.view_in_browser(message).html
    except Exception:  # noqa: BLE001 - show the email as it was sent rather than an error page
        html = message.html
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = EMAIL_POLICY
    return response
