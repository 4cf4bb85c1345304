"""The one place that answers "which workspace, which member" and scopes every query by it."""

from django.http import Http404

from .models import Membership

SESSION_KEY = "workspace_id"


def current_membership(request):
    """The active membership of the requesting user in the workspace they are working in, or None.

    A token carries its membership; a session carries the chosen workspace (the first active one
    when none is chosen).
    """
    cached = getattr(request, "_wayline_membership", None)
    if cached is not None:
        return cached if cached.is_active else None
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    memberships = Membership.objects.select_related("workspace").filter(user=user, is_active=True)
    chosen = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    membership = None
    if chosen:
        membership = memberships.filter(workspace_id=chosen).first()
    if membership is None:
        membership = memberships.order_by("joined_at", "id").first()
    request._wayline_membership = membership
    return membership


def scoped(model_or_queryset, workspace):
    """Every workspace-data query starts here: the queryset restricted to one workspace."""
    queryset = model_or_queryset if hasattr(model_or_queryset, "model") else model_or_queryset.objects.all()
    return queryset.filter(workspace=workspace)


def get_scoped_or_404(model_or_queryset, workspace, **lookup):
    obj = scoped(model_or_queryset, workspace).filter(**lookup).first()
    if obj is None:
        raise Http404
    return obj


class WorkspaceScopedMixin:
    """For DRF views: the queryset is always the requesting member's workspace's, and new objects
    belong to it. Objects of other workspaces are simply not found (404)."""

    def get_queryset(self):
        return scoped(super().get_queryset(), self.request.workspace)

    def perform_create(self, serializer):
        serializer.save(workspace=self.request.workspace)
