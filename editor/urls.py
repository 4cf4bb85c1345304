from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter(trailing_slash=False)
router.register("personas", api.PersonaViewSet, basename="persona")

urlpatterns = [
    path("qa/settings", api.QASettingsView.as_view()),
    path("qa/journeys/<int:journey_id>/approval", api.JourneyApprovalView.as_view()),
    path("qa/journeys/<int:journey_id>/approval/withdraw", api.JourneyApprovalWithdrawView.as_view()),
    path("qa/journeys/<int:journey_id>/gallery", api.GalleryView.as_view()),
    path("qa/journeys/<int:journey_id>/simulate", api.SimulateView.as_view()),
    path("qa/test-send", api.TestSendView.as_view()),
    *router.urls,
]
