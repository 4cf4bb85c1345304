"""How deeply a JSON document nests, read from its bytes without parsing them; and what json.loads
lets through that neither database stores (`unstorable`, `find_unstorable`).

json.loads recurses once per level of objects and arrays and raises RecursionError near 1,000
(a 500 from any endpoint that parses a body). The REST API's parser (accounts/parsers.py) and the
tracking API (journeys/customers/ingest.py) check this first. Pure: no Django.
"""

import json
import math
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


# What json.loads lets through that neither database stores can only come from an escape (\u0000,
# an unpaired \ud800-\udfff) or a number beyond a float (1e999). A body with neither (almost every
# one) needs no look at each of its values.
RISKY_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def unstorable(text):
    """Why a string cannot be stored in a text or JSON column of SQLite and PostgreSQL, or None."""
    if "\x00" in text:
        return "a NUL character (\\u0000)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "an unpaired surrogate (\\ud800-\\udfff)"
    return None


def find_unstorable(value, field=""):
    """(path, why) of the first part of the parsed JSON `value` that cannot be stored as it is —
    json.loads takes 1e999 as infinity, a NUL character and unpaired surrogates, which neither
    database stores — or None."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:
        pass  # an infinite number: found below
    else:
        if "\\u0000" not in text and unstorable(text) is None:
            return None
    stack = [(field, value)]  # not recursive: the depth was bounded, but a loop needs no bound
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if reason := unstorable(key):
                    return path, f"a key of {path[:100] or 'the body'} contains {reason}, which cannot be stored."
                stack.append((f"{path}.{key}" if path else key, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{index}]", child) for index, child in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            return path, f"{path[:100]} is a number too large to store."
        elif isinstance(item, str) and (reason := unstorable(item)):
            return path, f"{path[:100]} contains {reason}, which cannot be stored."
    return None
