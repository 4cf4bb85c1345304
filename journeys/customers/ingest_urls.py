"""The Segment-compatible tracking API, mounted under /v1/ by wayline/urls.py.

Each call has its long name and the one-letter name analytics.js posts to (/v1/t, /v1/i, ...);
a trailing slash is accepted. /v1/import is Segment's historical import, shaped like a batch.
"""

from django.urls import re_path

from . import ingest_api

urlpatterns = [
    re_path(r"^(?:identify|i)/?$", ingest_api.identify),
    re_path(r"^(?:track|t)/?$", ingest_api.track),
    re_path(r"^(?:page|p)/?$", ingest_api.page),
    re_path(r"^(?:screen|s)/?$", ingest_api.screen),
    re_path(r"^(?:group|g)/?$", ingest_api.group),
    re_path(r"^(?:alias|a)/?$", ingest_api.alias),
    re_path(r"^(?:batch|b|import)/?$", ingest_api.batch),
]
