"""The one place that wires the apps together."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from editor.frame import preview_frame

from . import views

api_patterns = [
    path("", include("accounts.urls")),
    path("", include("journeys.customers.urls")),  # contacts, events, catalog, imports
    path("", include("journeys.urls")),  # journeys, versions, enrollments, simulation
    path("", include("delivery.urls")),  # templates, outbox, sending settings
    path("", include("editor.urls")),  # the builder's server side
]

urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: the docs run under the app's CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("api/", include(api_patterns)),
    re_path(r"^api/", views.api_not_found),  # in the API's error shape, not an HTML page
    path("v1/", include("journeys.customers.ingest_urls")),  # Segment-compatible tracking API
    path("", include("delivery.public_urls")),  # tracking, unsubscribe, view in browser (under /t/)
    path("healthz", views.health),
    path("preview/frame", preview_frame),  # the live preview's sandboxed frame document
    re_path(r"^(?!api/|v1/|static/|t/).*$", views.spa),
]
