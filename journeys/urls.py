from rest_framework.routers import SimpleRouter

from . import api, broadcasts_api, predictions_api

router = SimpleRouter(trailing_slash=False)
router.register("journeys", api.JourneyViewSet, basename="journey")
router.register("broadcasts", broadcasts_api.BroadcastViewSet, basename="broadcast")
router.register("predictions", predictions_api.PredictionViewSet, basename="prediction")

urlpatterns = [*router.urls]
