import logging
import os

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wayline.settings")
# Static files (the built front end under /static/) are served by Django's async-safe static
# handler in front of the app; a reverse proxy may serve var/static instead at scale.
django_asgi_app = ASGIStaticFilesHandler(get_asgi_application())

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from journeys.customers.ingest_api import with_ingestion  # noqa: E402  (the /v1/ tracking API, see there)

from .routing import websocket_urlpatterns  # noqa: E402

if not settings.REDIS_URL and not settings.DEBUG:
    logging.getLogger("wayline").warning(
        "\n" + "!" * 78 + "\n"
        "REDIS_URL is not set: live features (preview, presence, live counts) work only within\n"
        "this one web process. Set REDIS_URL to run several web processes.\n" + "!" * 78
    )

application = ProtocolTypeRouter(
    {
        "http": with_ingestion(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
