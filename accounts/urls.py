from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter(trailing_slash=False)
router.register("members", api.MemberViewSet, basename="member")
router.register("invitations", api.InvitationViewSet, basename="invitation")
router.register("write-keys", api.WriteKeyViewSet, basename="write-key")
router.register("tokens", api.ApiTokenViewSet, basename="token")
router.register("audit", api.AuditViewSet, basename="audit")

urlpatterns = [
    path("auth/session", api.SessionView.as_view()),
    path("auth/login", api.LoginView.as_view()),
    path("auth/logout", api.LogoutView.as_view()),
    path("auth/switch-workspace", api.SwitchWorkspaceView.as_view()),
    path("auth/password-reset", api.PasswordResetView.as_view()),
    path("auth/password-reset/confirm", api.PasswordResetConfirmView.as_view()),
    path("public/invitations/<str:token>", api.InvitationPublicView.as_view()),
    path("public/invitations/<str:token>/accept", api.AcceptInvitationView.as_view()),
    *router.urls,
]
