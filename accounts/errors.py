"""Domain errors and the one JSON error shape of the API: {"error", "code", "fields"}."""

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.db import DataError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class DomainError(Exception):
    """An action refused for a reason the user can act on. Mapped to HTTP 400 unless told otherwise."""

    status_code = 400

    def __init__(self, message, code="invalid", fields=None, status_code=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.fields = fields or {}
        if status_code:
            self.status_code = status_code


def _flatten(detail):
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return [str(item) for item in detail]
        return [_flatten(item) for item in detail]
    return [str(detail)]


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response({"error": exc.message, "code": exc.code, "fields": exc.fields}, status=exc.status_code)
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent):
        # Django's limits on a body (DATA_UPLOAD_MAX_MEMORY_SIZE, DATA_UPLOAD_MAX_NUMBER_FIELDS).
        return Response({"error": f"The request is too large: {exc}", "code": "too_large", "fields": {}}, status=400)
    if isinstance(exc, SuspiciousOperation):
        return Response({"error": "The request is malformed.", "code": "bad_request", "fields": {}}, status=400)
    if isinstance(exc, DataError) and ("NUL" in str(exc) or "unsupported Unicode escape" in str(exc)):
        # PostgreSQL stores no NUL character in text, nor "\u0000" in jsonb (a JSON key or value of a
        # body, e.g. a journey definition): a query parameter or body value had one. (The
        # serializers' CharFields refuse it themselves, naming the field.)
        message = "Text may not contain the NUL character (\\u0000)."
        return Response({"error": message, "code": "invalid", "fields": {}}, status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail) if isinstance(exc.detail, dict) else {"non_field_errors": _flatten(exc.detail)}
        first = next(iter(fields.items()), None)
        message = "Please correct the highlighted fields."
        if first and isinstance(first[1], list) and first[1] and isinstance(first[1][0], str):
            label = "" if first[0] == "non_field_errors" else f"{first[0]}: "
            message = f"{label}{first[1][0]}"
        response.data = {"error": message, "code": "invalid", "fields": fields}
        response.status_code = status.HTTP_400_BAD_REQUEST
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = getattr(exc, "default_code", "error")
        if isinstance(exc, exceptions.APIException):
            codes = exc.get_codes()
            code = codes if isinstance(codes, str) else code
        response.data = {"error": str(detail), "code": code, "fields": {}}
    return response
