"""The live preview's frame document: /preview/frame, the page each variant's sandboxed iframe loads
once and then morphs into every new rendering it is sent (frontend/src/preview/frame/main.ts).

The page is the built script inlined, under the email policy of view in browser with one change:
that script, by its hash, may run; nothing else may (no other script, no event-handler attribute,
no `javascript:` URL). The iframe's `sandbox="allow-scripts"` (no same-origin) keeps it in an
opaque origin, away from the app's cookies and pages. Nothing here is secret or per member: the
renderings arrive by postMessage from the preview pane.
"""

import base64
import hashlib
from functools import lru_cache

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from delivery.public_views import email_policy

SCRIPT = "preview-frame.js"


@lru_cache(maxsize=4)
def _page(mtime_ns):
    script = (settings.FRONTEND_DIST / SCRIPT).read_text()
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    html = f'<!doctype html><html><head><meta charset="utf-8"><script>{script}</script></head><body></body></html>'
    return html, email_policy(f"'sha256-{digest}'")


@require_GET
@xframe_options_sameorigin
def preview_frame(request):
    path = settings.FRONTEND_DIST / SCRIPT
    if not path.exists():
        return HttpResponse(
            "The front end is not built yet. Run `make demo` (or `make frontend`).",
            status=503,
            content_type="text/plain",
        )
    html, policy = _page(path.stat().st_mtime_ns)
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = policy
    response["Cache-Control"] = "no-cache"
    return response
