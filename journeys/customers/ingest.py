"""Segment HTTP Tracking API calls: authentication, limits, validation, timestamps. Pure.

Bytes, headers and the receiving clock go in; plain dicts shaped like `journeys.Event` rows come
out, or an `IngestError` that the view turns into `{"error", "code", "fields"}` with 400/401.
Nothing here touches the database, so the request path's rules are tested without a server.

Limits and answers follow Segment's documentation of its HTTP API: 32 KB per call; `/v1/batch`
up to 500 KB and 2,500 events, 32 KB per event, the batch's top-level `context` and
`integrations` merged into each item; `userId` or `anonymousId` on every call; `event` on track;
`groupId` on group; `previousId` and `userId` on alias; `messageId` up to 100 characters
(one is assigned when missing).

Beyond what Segment documents, a call must be storable as it is on SQLite and PostgreSQL: JSON
nested at most 64 levels deep (checked on the bytes, before parsing), finite numbers, and no NUL
character or unpaired surrogate in any string. Anything else is a 400 naming the field, never a 500
(Segment's libraries retry a 5xx for ever, holding back the rest of their queue).
"""

import base64
import binascii
import json
import math
import re
import uuid
import zlib
from datetime import UTC, datetime, timedelta

from accounts.json_limits import MAX_DEPTH, RISKY_ESCAPE, find_unstorable, json_depth, unstorable

KB = 1024
MAX_CALL_BYTES = 32 * KB
MAX_BATCH_BYTES = 500 * KB
MAX_EVENT_BYTES = 32 * KB
MAX_BATCH_EVENTS = 2500
MAX_MESSAGE_ID = 100
MAX_ID = 255  # userId, anonymousId, event name, ...

TYPES = ("identify", "track", "page", "screen", "group", "alias")


class IngestError(Exception):
    def __init__(self, message, code="invalid", fields=None, status=400):
        super().__init__(message)
        self.message, self.code, self.fields, self.status = message, code, fields or {}, status

    def as_json(self):
        # "message" too: the Segment and RudderStack libraries log payload["code"] and ["message"].
        return {"error": self.message, "code": self.code, "fields": self.fields, "message": self.message}


# -- The request envelope ------------------------------------------------------------------------


def write_key_from_header(authorization):
    """The write key from `Authorization: Basic base64(key:)`, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, _, _password = decoded.partition(":")
    return key or None


def decode_body(raw, content_encoding, limit):
    """The JSON object of a call, decompressing gzip (as rudder-sdk-python sends) within `limit`."""
    return decode_call(raw, content_encoding, limit)[0]


def decode_call(raw, content_encoding, limit):
    """(the JSON object of a call, whether its values need `check_storable`)."""
    if content_encoding and content_encoding.strip().lower() == "gzip":
        try:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            raw = inflater.decompress(raw, limit + 1)
        except zlib.error:
            raise IngestError("The body is not valid gzip.", code="invalid_body") from None
    elif content_encoding and content_encoding.strip().lower() not in ("identity", ""):
        raise IngestError(f"Content-Encoding {content_encoding!r} is not supported; use gzip.", code="invalid_body")
    if len(raw) > limit:
        raise too_large(limit)
    try:
        encoding = json.detect_encoding(raw)
        if encoding not in ("utf-8", "utf-8-sig"):
            raw = raw.decode(encoding).encode()  # the depth check reads UTF-8
        if json_depth(raw) > MAX_DEPTH:
            raise _too_deep(raw)
        infinite = []
        body = json.loads(raw, parse_constant=_no_constant, parse_float=lambda text: _float(text, infinite))
    except (ValueError, UnicodeError) as error:
        raise IngestError(f"The body is not valid JSON: {error}.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise IngestError("The body must be a JSON object.", code="invalid_json")
    return body, bool(infinite) or (b"\\u" in raw and RISKY_ESCAPE.search(raw) is not None)


def _no_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _float(text, infinite):
    value = float(text)
    if math.isinf(value):
        infinite.append(text)
    return value


_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{},:]', re.S)


def _too_deep(raw):
    """The 400 for a body nested deeper than MAX_DEPTH, naming the field the way the other errors do
    (`properties`, `batch[3].properties`). Walks the tokens, so only for a body already refused."""
    stack, expect_key = [], False  # stack: per open container, [kind, current key or index]
    path = []
    for match in _TOKEN.finditer(raw):
        token = match.group()
        if token in (b"{", b"["):
            if len(stack) >= MAX_DEPTH:
                path = [frame[1] for frame in stack]
                break
            stack.append([token, None if token == b"{" else 0])
            expect_key = token == b"{"
        elif token in (b"}", b"]"):
            if stack:
                stack.pop()
            expect_key = False
        elif token == b",":
            if stack and stack[-1][0] == b"[":
                stack[-1][1] += 1
            expect_key = bool(stack) and stack[-1][0] == b"{"
        elif token == b":":
            expect_key = False
        elif expect_key and stack:
            stack[-1][1] = token[1:-1].decode("utf-8", "replace")
    if len(path) >= 3 and path[0] == "batch" and isinstance(path[1], int):
        field = f"batch[{path[1]}].{path[2]}"
    else:
        field = str(path[0]) if path and path[0] is not None else ""
    message = f"nested deeper than {MAX_DEPTH} levels of objects and arrays."
    return IngestError(
        f"{field or 'The body'} is {message} Nothing of this request was stored.",
        code="too_deep",
        fields={field: [f"{field or 'the body'} is {message}"]} if field else {},
    )


def too_large(limit):
    return IngestError(
        f"The request is larger than {limit // KB} KB, the most this endpoint accepts.",
        code="payload_too_large",
    )


# -- Timestamps ----------------------------------------------------------------------------------

# No event of a contact we can reach happened before (e-commerce began about then; a device whose
# clock was reset says 1970): historical imports such as 1997's orders are kept.
EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=1)  # how far ahead of receivedAt a client's clock may be and still be kept


def parse_time(value, field):
    """An ISO 8601 string (or epoch milliseconds) as an aware UTC datetime; None stays None.

    Raises a field error for what is not a date-time; a date-time that cannot be expressed in UTC
    (`9999-12-31T23:59:59-14:00`) comes back as OUT_OF_RANGE.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _bad_time(field, value)
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise _bad_time(field, value) from None
    if not isinstance(value, str):
        raise _bad_time(field, value)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _bad_time(field, value) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return OUT_OF_RANGE


OUT_OF_RANGE = datetime.max.replace(tzinfo=UTC)  # sorts after any time: never in range


def _bad_time(field, value):
    return _FieldError(field, f"{str(value)[:40]!r} is not an ISO 8601 date-time.")


def in_range(moment, received_at):
    """Whether a client's time may be stored: from 1995 to a day after the call arrived."""
    return moment is not None and EARLIEST <= moment <= received_at + MAX_AHEAD


def corrected_timestamp(original, sent_at, received_at):
    """When the event happened, on the server's clock.

    Segment's rule: timestamp = receivedAt − (sentAt − originalTimestamp), which removes the
    client device's clock skew (however wrong the device's clock, as long as both times come from
    it). Without sentAt the client's own time is taken as is (historical imports); without any
    time, receivedAt. A time in the future is clamped to receivedAt: an event cannot have happened
    after it arrived, and nothing may be scheduled from such a time. A result before 1995, or one
    that cannot be computed (year 1 sent in year 9999), is replaced by receivedAt, as Segment
    replaces a timestamp too far in the past or future with its receivedAt.
    """
    if original is None or original is OUT_OF_RANGE:
        return received_at
    if sent_at is not None and sent_at is not OUT_OF_RANGE:
        try:
            timestamp = received_at - (sent_at - original)
        except OverflowError:
            return received_at
    else:
        timestamp = original
    if timestamp < EARLIEST:
        return received_at
    return min(timestamp, received_at)


# -- Calls ---------------------------------------------------------------------------------------


class _FieldError(Exception):
    def __init__(self, field, message):
        super().__init__(message)
        self.field, self.message = field, message


def _identifier(call, key, required=False):
    value = call.get(key)
    if value is None or value == "":
        if required:
            raise _FieldError(key, f"{key} is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _FieldError(key, f"{key} must be a string.")
    if isinstance(value, float) and not math.isfinite(value):
        raise _FieldError(key, f"{key} must be a string.")
    value = str(value)
    if len(value) > MAX_ID:
        raise _FieldError(key, f"{key} is longer than {MAX_ID} characters.")
    if reason := unstorable(value):
        raise _FieldError(key, f"{key} contains {reason}, which cannot be stored.")
    return value


def check_storable(value, field):
    """Raise a field error unless the parsed JSON `value` can be stored as it is (json_limits)."""
    if (found := find_unstorable(value, field)) is not None:
        raise _FieldError(field, found[1])


def _object(call, key, check=True):
    value = call.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _FieldError(key, f"{key} must be a JSON object.")
    if check:
        check_storable(value, key)
    return value


def merge(base, override):
    """`override` wins; nested objects are merged key by key (batch context into item context)."""
    if not base:
        return override
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


_ROW_KEYS = {
    "type",
    "event",
    "name",
    "userId",
    "anonymousId",
    "properties",
    "traits",
    "context",
    "messageId",
    "timestamp",
    "originalTimestamp",
    "sentAt",
    "receivedAt",
    "writeKey",
}


def parse_call(call, kind, received_at, defaults=None):
    """One call (a single endpoint's body or one batch item) -> an event row as a dict.

    `kind` is the endpoint's type, or None for a batch item (which then must name its `type`).
    `defaults` carries a batch's top-level context, integrations and sentAt.
    Raises _FieldError naming the first invalid field.
    """
    if not isinstance(call, dict):
        raise _FieldError("", "each event must be a JSON object.")
    defaults = defaults or {}
    if kind is None:
        kind = call.get("type")
        if kind not in TYPES:
            raise _FieldError("type", f"type must be one of {', '.join(TYPES)}.")
    user_id = _identifier(call, "userId")
    anonymous_id = _identifier(call, "anonymousId")
    if kind == "alias":
        previous_id = _identifier(call, "previousId", required=True)
        if user_id is None:
            raise _FieldError("userId", "userId is required on alias.")
    elif user_id is None and anonymous_id is None:
        raise _FieldError("userId", "userId or anonymousId is required.")
    name = ""
    if kind == "track":
        name = _identifier(call, "event", required=True)
    elif kind in ("page", "screen"):
        name = _identifier(call, "name") or ""
    elif kind == "group":
        _identifier(call, "groupId", required=True)

    message_id = call.get("messageId")
    if message_id is None or message_id == "":
        message_id = f"wl-{uuid.uuid4()}"
    elif isinstance(message_id, bool) or not isinstance(message_id, str | int):
        raise _FieldError("messageId", "messageId must be a string.")
    else:
        message_id = str(message_id)
        if len(message_id) > MAX_MESSAGE_ID:
            raise _FieldError("messageId", f"messageId is longer than {MAX_MESSAGE_ID} characters.")
        if reason := unstorable(message_id):
            raise _FieldError("messageId", f"messageId contains {reason}, which cannot be stored.")

    check = defaults.get("check_values", True)
    properties = _object(call, "properties", check)
    traits = _object(call, "traits", check)
    context = _object(call, "context", check)
    if defaults.get("context"):
        context = merge(defaults["context"], context)
    if kind == "identify" and not traits and isinstance(context.get("traits"), dict):
        traits = context["traits"]

    original_key = "originalTimestamp" if call.get("originalTimestamp") else "timestamp"
    original = parse_time(call.get(original_key), "timestamp")
    sent_at = parse_time(call.get("sentAt"), "sentAt") or defaults.get("sentAt")
    timestamp = corrected_timestamp(original, sent_at, received_at)

    extra = {key: value for key, value in call.items() if key not in _ROW_KEYS}
    for key, value in extra.items() if check else ():
        if reason := unstorable(key):
            raise _FieldError(key, f"the key {key[:100]!r} contains {reason}, which cannot be stored.")
        check_storable(value, key)
    # The columns hold sane times only; a client's time outside them stays in the payload as sent.
    if original is not None and not in_range(original, received_at):
        original, extra[original_key] = None, call[original_key]
    if sent_at is not None and not in_range(sent_at, received_at):
        sent_at = None
        if call.get("sentAt"):
            extra["sentAt"] = call["sentAt"]
    if kind == "alias":
        extra["previousId"] = previous_id
    integrations = defaults.get("integrations")
    if integrations:
        extra["integrations"] = merge(integrations, extra.get("integrations") or {})

    return {
        "message_id": message_id,
        "type": kind,
        "name": name,
        "user_id": user_id,
        "anonymous_id": anonymous_id,
        "properties": properties,
        "traits": traits,
        "context": context,
        "payload": extra,
        "timestamp": timestamp,
        "original_timestamp": original,
        "sent_at": sent_at,
        "received_at": received_at,
    }


def parse_single(body, kind, received_at, check_values=True):
    """The body of /v1/identify, /v1/track, ... -> [row]. `check_values`: see decode_call."""
    try:
        return [parse_call(body, kind, received_at, {"check_values": check_values})]
    except _FieldError as error:
        raise IngestError(
            error.message[:1].upper() + error.message[1:], fields={error.field: [error.message]}
        ) from None


# What json.dumps(value, separators=(",", ":"), allow_nan=False) gives, without building an encoder
# per call (a third of the cost of measuring each item of a 500-event batch).
_compact_json = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
_compact_size = json.JSONEncoder(separators=(",", ":")).encode  # infinity measured, not refused


def _measure(items):
    """The batch's items as compact ASCII JSON (its length is its size in bytes) and whether that
    shows every value storable: json.loads lets in infinity (refused by allow_nan), NUL characters
    and unpaired surrogates (the encoder writes them as \\u0000 and \\udXXX). A batch that may
    hold one (or a character beyond the BMP, also written \\udXXX) has each value checked."""
    try:
        text = _compact_json(items)
    except ValueError:  # infinity
        return None, False
    return text, "\\u0000" not in text and "\\ud" not in text


def parse_batch(body, received_at, check_values=True):
    """The body of /v1/batch -> (rows, errors). Errors name the item: {"batch[3].userId": [...]}.

    Batch-level problems raise IngestError. Invalid items are left out and reported; the valid
    ones are still stored (a retry of the whole batch stores nothing twice, thanks to messageId).
    """
    items = body.get("batch")
    if not isinstance(items, list):
        raise IngestError("batch must be a list of events.", fields={"batch": ["This field must be a list."]})
    if not items:
        raise IngestError("batch is empty.", fields={"batch": ["Send at least one event."]})
    if len(items) > MAX_BATCH_EVENTS:
        raise IngestError(
            f"A batch holds at most {MAX_BATCH_EVENTS} events; this one has {len(items)}.",
            code="payload_too_large",
            fields={"batch": [f"At most {MAX_BATCH_EVENTS} events."]},
        )
    try:
        defaults = {
            "context": _object(body, "context", check_values),
            "integrations": _object(body, "integrations", check_values),
            "sentAt": parse_time(body.get("sentAt"), "sentAt"),
            "check_values": check_values,
        }
    except _FieldError as error:
        raise IngestError(error.message, fields={error.field: [error.message]}) from None
    rows, errors = [], {}
    whole, storable = _measure(items)
    check_sizes = whole is None or len(whole) > MAX_EVENT_BYTES
    if storable:  # one check of the whole batch stands for the check of each item's values
        defaults["check_values"] = False
    for index, item in enumerate(items):
        try:
            if check_sizes and len(_compact_size(item)) > MAX_EVENT_BYTES:  # ASCII: characters are bytes
                raise _FieldError("", f"the event is larger than {MAX_EVENT_BYTES // KB} KB.")
            rows.append(parse_call(item, None, received_at, defaults))
        except _FieldError as error:
            key = f"batch[{index}].{error.field}" if error.field else f"batch[{index}]"
            errors[key] = [error.message]
    return rows, errors


# -- Suggestions: what the canvas may offer as event names and property keys ---------------------

MAX_SUGGESTED_PROPERTIES = 200


def property_shapes(properties, prefix="", depth=0, into=None):
    """{"total": {"type": "number", "example": 12.5}, "address.city": {...}} for an event's properties."""
    into = {} if into is None else into
    for key, value in properties.items():
        if len(into) >= MAX_SUGGESTED_PROPERTIES:
            break
        path = f"{prefix}{key}"
        if isinstance(value, dict) and depth < 2:
            property_shapes(value, f"{path}.", depth + 1, into)
            continue
        into[path] = {"type": json_type(value), "example": _example(value)}
    return into


def json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _example(value):
    # Only numbers and booleans: a string example could be someone's email or name, and these
    # suggestions outlive the erasure of the contact who sent them.
    if isinstance(value, bool | int | float):
        return value
    return None
