from rest_framework import permissions

from .access import current_membership


class IsWorkspaceMember(permissions.BasePermission):
    """The request comes from an active member, with the capability the view asks for.

    A view names its capability per action in `capabilities` ({"create": "edit", ...}); otherwise
    safe methods need `read_capability` ("read") and the others `write_capability` ("edit").
    """

    message = "Your role does not allow this."

    def has_permission(self, request, view):
        membership = current_membership(request)
        if membership is None:
            return False
        request.membership = membership
        request.workspace = membership.workspace
        return membership.can(required_capability(request, view))


def required_capability(request, view):
    action = getattr(view, "action", None)
    per_action = getattr(view, "capabilities", {})
    if action in per_action:
        return per_action[action]
    if request.method in permissions.SAFE_METHODS:
        return getattr(view, "read_capability", "read")
    return getattr(view, "write_capability", "edit")
