"""The REST API's JSON parser: DRF's, refusing with a 400 what would otherwise end in a 500."""

import io
import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .json_limits import MAX_DEPTH, find_unstorable, json_depth


class JSONObjectParser(JSONParser):
    """A body nested deeper than MAX_DEPTH (json.loads would raise RecursionError), a body that is
    not a JSON object (every view reads named fields of it), or one holding what neither database
    stores (a NUL character, an unpaired surrogate, a number beyond a float; json_limits) is a
    parse error: the same 400 on SQLite and PostgreSQL, whichever field it is in."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read()
        try:
            encoding = json.detect_encoding(raw)
            utf8 = raw if encoding in ("utf-8", "utf-8-sig") else raw.decode(encoding).encode()
        except UnicodeDecodeError:
            raise ParseError("JSON parse error - the body is not valid UTF-8.") from None
        if json_depth(utf8) > MAX_DEPTH:
            raise ParseError(f"JSON parse error - the body nests objects and arrays deeper than {MAX_DEPTH} levels.")
        data = super().parse(io.BytesIO(raw), media_type, parser_context)
        if not isinstance(data, dict):
            raise ParseError("The body must be a JSON object.")
        if (found := find_unstorable(data)) is not None:
            raise ParseError(f"JSON parse error - {found[1]}")
        return data
