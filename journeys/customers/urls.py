"""Customer data under /api/: contacts, events, catalog, imports, segments (see journeys.customer_api)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import api, segments_api

router = SimpleRouter(trailing_slash=False)
router.register("contacts", api.ContactViewSet, basename="contact")
router.register("products", api.ProductViewSet, basename="product")
router.register("imports", api.ImportJobViewSet, basename="import")
router.register("segments", segments_api.SegmentViewSet, basename="segment")

urlpatterns = [
    path("events/recent", api.RecentEventsView.as_view()),
    path("events/names", api.EventNamesView.as_view()),
    path("events/properties", api.EventPropertiesView.as_view()),
    path("", include(router.urls)),
]
