from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie


@ensure_csrf_cookie
def spa(request, path=""):
    """The browser app: frontend/dist/index.html for every page the React router owns."""
    index = settings.FRONTEND_DIST / "index.html"
    if not index.exists():
        return HttpResponse(
            "The front end is not built yet. Run `make demo` (or `make frontend`).",
            status=503,
            content_type="text/plain",
        )
    return HttpResponse(index.read_text(), content_type="text/html; charset=utf-8")


@csrf_exempt  # answers every method the same: there is nothing here to forge a request to
def api_not_found(request):
    return JsonResponse({"error": "There is no such API endpoint.", "code": "not_found", "fields": {}}, status=404)


def health(request):
    return HttpResponse("ok", content_type="text/plain")
