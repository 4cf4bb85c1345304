"""How every list of the API is paged: `?limit=&offset=`, at most MAX_LIMIT rows a page.

DRF's LimitOffsetPagination has no maximum (`?limit=99999999999999999999` reached the database
and failed there with a 500) and silently ignores what it cannot read. Here a limit above the
maximum is clamped to it; a limit or offset that is not a whole number (or a limit below 1) is a
400 naming the parameter.
"""

from rest_framework.pagination import LimitOffsetPagination

from .errors import DomainError

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
_HUGE = 10**18  # stands for any offset with more digits than a database integer holds


class Pagination(LimitOffsetPagination):
    default_limit = DEFAULT_LIMIT
    max_limit = MAX_LIMIT

    def get_limit(self, request):
        limit = _whole_number(request, self.limit_query_param, minimum=1)
        return self.default_limit if limit is None else min(limit, self.max_limit)

    def get_offset(self, request):
        # A huge offset is past the last row: DRF answers an empty page without querying it.
        return _whole_number(request, self.offset_query_param, minimum=0) or 0

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_limit, "default": self.default_limit})
                parameter["description"] = f"Number of results to return per page (at most {self.max_limit})."
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"].update({"minimum": 0, "default": 0})
        return parameters


def _whole_number(request, name, minimum):
    """The query parameter as an int (None when absent or empty); a 400 naming it otherwise."""
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise DomainError(
            f"{name} must be a whole number of at least {minimum}.",
            fields={name: [f"A whole number of at least {minimum}, not “{raw[:20]}”."]},
        )
    value = int(raw) if len(raw) <= 18 else _HUGE
    if value < minimum:
        raise DomainError(f"{name} must be at least {minimum}.", fields={name: [f"At least {minimum}."]})
    return value
