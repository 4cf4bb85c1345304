"""The one place that wires the apps together."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

api_patterns = [
    path("", include("accounts.urls")),
]

urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/", include(api_patterns)),
    path("healthz", views.health),
    re_path(r"^(?!api/|v1/|static/|t/).*$", views.spa),
]
