from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter(trailing_slash=False)
router.register("templates", api.TemplateViewSet, basename="template")
router.register("blocks", api.BlockViewSet, basename="block")
router.register("coupon-pools", api.CouponPoolViewSet, basename="coupon-pool")
router.register("outbox", api.OutboxViewSet, basename="outbox")
router.register("sandbox", api.SandboxViewSet, basename="sandbox")

urlpatterns = [
    path("sending-settings", api.SendingSettingsView.as_view()),
    path("sending-settings/dkim-key", api.DkimKeyView.as_view()),
    path("sending-settings/domain-check", api.DomainCheckView.as_view()),
    *router.urls,
]
