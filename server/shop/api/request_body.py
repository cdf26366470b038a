"""What a request body must be before the contract (or any parser) reads it: a documented media
type, UTF-8, JSON without NaN, lone surrogates or nesting deep enough to exhaust a recursive
parser. Checked on the raw bytes, decoded exactly as DRF's parser will decode them."""

import codecs
import json

from django.utils.http import parse_header_parameters

from shop.core.error_codes import ApiErrorCode

from .contract_requests import Problem

# No body of the contract nests deeper than 3 levels; anything past this is refused before a
# recursive parser or validator (openapi-core, jsonschema, DRF) can run out of stack on it.
MAX_JSON_DEPTH = 32


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _nested_deeper_than(value: object, limit: int) -> bool:
    """True when `value` has containers nested more than `limit` levels; iterative, no recursion."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _json_problem(body: bytes) -> str | None:
    """Returns why the body is not acceptable JSON, or None. Catches what would otherwise crash
    deeper down or be read differently there: anything but UTF-8 (a BOM, UTF-16), NaN/Infinity,
    lone surrogates the database cannot store, nesting deep enough to exhaust a recursive parser."""
    try:
        # Decoded exactly as DRF's parser will decode it (strict UTF-8, a BOM is an error), so
        # the contract validates the same characters the view sees.
        parsed = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeError are ValueErrors
        return f"The body is not valid UTF-8 JSON: {exc}"
    # At most one container per bracket: only bodies with many brackets need the walk.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _nested_deeper_than(parsed, MAX_JSON_DEPTH):
        return f"The body nests arrays or objects deeper than {MAX_JSON_DEPTH} levels."
    return None


def _charset_is_utf8(content_type: str) -> bool:
    """JSON is UTF-8 (RFC 8259 §8.1): a declared charset must name UTF-8, or the parser behind
    the contract would decode other characters than the ones validated here."""
    charset = parse_header_parameters(content_type)[1].get("charset")
    if charset is None:
        return True
    try:
        return codecs.lookup(charset).name == "utf-8"
    except LookupError:
        return False


def body_problem(body: bytes, content_type: str, media_types: tuple[str, ...]) -> Problem | None:
    if media_type(content_type) not in media_types:
        return Problem(
            status=415,
            code=ApiErrorCode.UNSUPPORTED_MEDIA_TYPE,
            detail=f"Send the body as {', '.join(media_types)}.",
        )
    if not _charset_is_utf8(content_type):
        return Problem(
            status=415,
            code=ApiErrorCode.UNSUPPORTED_MEDIA_TYPE,
            detail="Send the body encoded as UTF-8 (charset=utf-8, or no charset parameter).",
        )
    reason = _json_problem(body) if body else None
    return Problem(status=400, code=ApiErrorCode.PARSE_ERROR, detail=reason) if reason else None
