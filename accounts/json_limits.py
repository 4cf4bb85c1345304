"""How deeply a JSON document nests, read from its bytes without parsing them.

json.loads recurses once per level of objects and arrays and raises RecursionError near 1,000
(a 500 from any endpoint that parses a body). The REST API's parser (accounts/parsers.py) and the
tracking API (journeys/customers/ingest.py) check this first. Pure: no Django.
"""

import re
from itertools import accumulate

MAX_DEPTH = 64  # levels of objects and arrays, the document itself included

# Escapes are dropped, then every byte but brackets and quotes, then what lies between quotes:
# what remains are the brackets outside strings, in order.
_ESCAPE = re.compile(rb"\\.", re.S)
_NOT_BRACKET_OR_QUOTE = bytes(byte for byte in range(256) if byte not in b'[]{}"')
_LEVEL = [0] * 256
_LEVEL[ord("[")] = _LEVEL[ord("{")] = 1
_LEVEL[ord("]")] = _LEVEL[ord("}")] = -1


def json_depth(raw, limit=MAX_DEPTH):
    """How deeply the JSON in `raw` (UTF-8 bytes) nests objects and arrays; an upper bound when it
    is not valid JSON, and 0 when it cannot be deeper than `limit`. About half the time json.loads
    takes on a 500 KB batch; next to nothing on a small body."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return 0
    if b"\\" in raw:
        raw = _ESCAPE.sub(b"", raw)
    brackets = raw.translate(None, _NOT_BRACKET_OR_QUOTE)
    if b'"' in brackets:
        brackets = b"".join(brackets.split(b'"')[::2])
    return max(accumulate(map(_LEVEL.__getitem__, brackets)), default=0)
