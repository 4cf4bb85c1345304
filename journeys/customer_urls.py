"""Customer data under /api/: contacts, events, catalog, imports (see journeys.customer_api)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import customer_api

router = SimpleRouter(trailing_slash=False)
router.register("contacts", customer_api.ContactViewSet, basename="contact")
router.register("products", customer_api.ProductViewSet, basename="product")
router.register("imports", customer_api.ImportJobViewSet, basename="import")

urlpatterns = [
    path("events/recent", customer_api.RecentEventsView.as_view()),
    path("events/names", customer_api.EventNamesView.as_view()),
    path("events/properties", customer_api.EventPropertiesView.as_view()),
    path("", include(router.urls)),
]
