from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter(trailing_slash=False)
router.register("journeys", api.JourneyViewSet, basename="journey")

urlpatterns = [*router.urls]
