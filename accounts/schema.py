from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.auth.TokenAuthentication"
    name = "PersonalToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A personal API token (wl_…)."}


# -- The error answers, documented once ------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API (accounts.errors): every 4xx answer has it."""

    error = serializers.CharField(help_text="What went wrong, in a sentence for a person.")
    code = serializers.CharField(help_text="What went wrong, for a program: invalid, not_found, conflict, …")
    fields = serializers.DictField(
        child=serializers.JSONField(),
        help_text="Per field (`limit`, `definition`, `products`), its messages; empty when no field is to blame.",
    )


ERRORS = {
    400: "The request is invalid: `fields` names what is wrong.",
    401: "Not logged in, or the API token is invalid or revoked.",
    403: "Your role does not allow this (or the CSRF token of a session is missing).",
    404: "There is no such object in your workspace.",
    409: "The request conflicts with the object's current state.",
    410: "The link was used, revoked or has expired.",
    415: "The body is not JSON (nor a form, where the operation takes one).",
    429: "Too many attempts; try again later.",
}


def error_responses(*codes):
    """`@extend_schema(responses={200: X, **error_responses(409)})`: the error shape for these codes.

    400, 401 and 403 (404 where the path names an object, 415 where there is a body) are added to
    every operation by AutoSchema below; views name only the others they answer.
    """
    return {code: OpenApiResponse(ErrorSerializer, description=ERRORS[code]) for code in codes}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, plus the error answers any operation may give, in the error shape."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = [400, 401, 403] + ([404] if "{" in self.path else [])
        codes += [415] if self.method in ("POST", "PUT", "PATCH") else []
        for code, response in error_responses(*codes).items():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(response, str(code), direction=direction)
        return responses
