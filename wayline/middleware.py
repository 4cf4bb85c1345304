"""A Content-Security-Policy on every HTML page that does not set its own.

What the pages need: the React app's scripts and styles are same-origin files built by Vite (no
inline script); websockets go back to the same host. Email previews are `srcdoc` iframes with
`sandbox=""`, and a srcdoc document inherits this policy: marketer HTML there has inline styles,
web fonts (MJML links Google Fonts) and images from anywhere. So images, styles and fonts may come
from anywhere (styles inline too), while scripts come only from this origin. Pages that show a whole
email on their own (view in browser) set a stricter policy of their own: no script at all; the live
preview's frames (editor/frame.py) the same with their one script allowed by hash.
"""

from django.core.exceptions import DisallowedHost
from django.utils.deprecation import MiddlewareMixin

HEADER = "Content-Security-Policy"


def app_policy(request):
    sockets = ""
    try:
        host = request.get_host()
    except DisallowedHost:
        host = None
    if host:
        # 'self' covers ws(s):// to the same host in CSP level 3; older browsers need it spelled out.
        sockets = f" ws://{host} wss://{host}"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src * 'unsafe-inline'",
            "img-src * data: blob:",
            "font-src * data:",
            f"connect-src 'self'{sockets}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        ]
    )


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    def process_response(self, request, response):
        if HEADER not in response and response.get("Content-Type", "").startswith("text/html"):
            response[HEADER] = app_policy(request)
        return response
