"""The one validation edge (issue 10 §4): what every input must satisfy before a handler runs.

- Integers fit the database: ids, counts and codes are PostgreSQL `integer` (int4); amounts in
  fen (`*_fen`) are `bigint`, bounded well inside it so sums cannot overflow. Out of range: a
  path id answers 404, a query value or body field 422 naming it.
- Text carries no control characters (NUL, bell, escape, ...; tab, CR and LF are allowed where
  text may span lines) and no lone surrogates: asyncpg refuses both with a 500 otherwise.
- JSON bodies on /api/ are JSON (`Content-Type: application/json`, else 415), at most
  JSON_MAX_DEPTH levels deep, within the handler's `request_max_body_size` (413), and typed
  strictly: a quantity is a JSON integer, not "1e3", 1.5 or true (422 naming the field).

`forms.text` and the API middleware below call the same `text_problem`; the bounds come from
the same `int_bounds`, which the OpenAPI document (portal/openapi.py) also publishes.
"""
from __future__ import annotations

import dataclasses
import re
import types
import typing
from datetime import date, datetime
from typing import Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.types import ASGIApp, Receive, Scope, Send

from portal.errors import NotFound, PortalError, ValidationFailed

INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1
FEN_MAX = 10**15  # ten trillion yuan: far above any real amount, far below bigint
JSON_MAX_DEPTH = 32
JSON_MAX_BYTES = 256 * 1024  # API controllers' request_max_body_size (JSON bodies)
BULK_JSON_BYTES = 2 * 1024 * 1024  # lines, counts, decisions: up to 2,000 lines of a batch

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_INTEGER = re.compile(r"[+-]?\d{1,40}")
# msgids (a dict, so scripts/catalog.py collects them for translation)
MESSAGES = {
    "control": "Remove control characters (such as NUL) from this text.",
    "not_json": "Send the body as JSON (Content-Type: application/json).",
    "invalid_json": "The request body is not valid JSON.",
    "too_deep": "The JSON body is nested too deeply (at most %(depth)s levels).",
}
CONTROL_MESSAGE = MESSAGES["control"]


class UnsupportedMediaType(PortalError):
    status_code = 415


class TooDeep(PortalError):
    status_code = 400


def int_bounds(name: str) -> tuple[int, int]:
    """The range an integer named `name` must stay within (amounts in fen are bigint)."""
    if name.endswith("_fen"):
        return -FEN_MAX, FEN_MAX
    return INT4_MIN, INT4_MAX


def text_problem(value: str, *, multiline: bool = True) -> str | None:
    """The msgid of what is wrong with `value` as text, or None. Tab, CR and LF are allowed in
    multi-line text only."""
    pattern = _CONTROL if multiline else _CONTROL_OR_BREAK
    return CONTROL_MESSAGE if pattern.search(value) else None


def parse_int(raw: str, name: str) -> tuple[int | None, str | None]:
    """(value, None) for an integer within `int_bounds(name)`, else (None, msgid)."""
    raw = raw.strip()
    if not _INTEGER.fullmatch(raw):
        return None, "Enter a whole number."
    value = int(raw)
    low, high = int_bounds(name)
    if not low <= value <= high:
        return None, "Out of range."
    return value, None


# --- the middleware ------------------------------------------------------------------------------

class InputEdge:
    """Checks path, query and JSON body against the rules above before the handler runs.
    Refusals are rendered here by the portal's own exception handlers (so the identity
    middleware around it still adds the request id, headers and language)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("route_handler") is None or not (
                scope["query_string"] or scope.get("path_params")
                or scope["path"].startswith("/api/")):
            # nothing to check: no query, no path parameter, no JSON body (most pages)
            await self.app(scope, receive, send)
            return
        request: Request = Request(scope, receive)
        try:
            _check_path(scope)
            _check_query(request)
            if scope["path"].startswith("/api/"):
                await _check_json_body(request)
        except Exception as exc:  # noqa: BLE001 - rendered like any other refusal
            from portal.failures import response_for

            response = response_for(request, exc)
            await response.to_asgi_response(None, request)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def input_edge(app: Any) -> InputEdge:
    return InputEdge(app)


def _check_path(scope: Scope) -> None:
    for name, value in (scope.get("path_params") or {}).items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            low, high = int_bounds(name)
            if not low <= value <= high:
                raise NotFound("Not found.")
        elif isinstance(value, str) and text_problem(value):
            raise NotFound("Not found.")


# A handler's signature does not change: worked out at its first request (issue 17, CPU).
_INT_PARAMS: dict[tuple[Any, frozenset[str]], frozenset[str]] = {}


def _int_params(request: Request) -> frozenset[str]:
    """Names of the handler's query parameters typed int (or int | None)."""
    handler = request.scope["route_handler"]
    path_params = frozenset(request.scope.get("path_params") or ())
    key = (handler.fn, path_params)
    found = _INT_PARAMS.get(key)
    if found is None:
        found = _INT_PARAMS[key] = _find_int_params(handler, path_params)
    return found


def _find_int_params(handler: Any, path_params: frozenset[str]) -> frozenset[str]:
    names = set()
    for name, field in handler.parsed_fn_signature.parameters.items():
        if name in ("data", "request") or name in path_params:
            continue
        if _is_int(field.annotation):
            alias = getattr(field.kwarg_definition, "query", None) if field.kwarg_definition else None
            names.add(alias or name)
    return frozenset(names)


def _is_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return len(args) == 1 and args[0] is int
    return False


def _check_query(request: Request) -> None:
    errors: dict[str, str] = {}
    params = request.query_params
    for name in params:
        if text_problem(name):
            errors["query"] = CONTROL_MESSAGE
        elif any(text_problem(value) for value in params.getall(name)):
            errors[name] = CONTROL_MESSAGE
    for name in _int_params(request):
        raw = params.get(name)
        if raw is None or raw == "" or name in errors:
            continue
        _, problem = parse_int(raw, name)
        if problem:
            errors[name] = problem
    if errors:
        raise ValidationFailed(errors)


# --- JSON bodies ---------------------------------------------------------------------------------

def _body_type(request: Request) -> Any:
    """The handler's JSON body type, or None when it takes no JSON body (none, or a form)."""
    field = request.scope["route_handler"].parsed_fn_signature.parameters.get("data")
    if field is None:
        return None
    media_type = getattr(field.kwarg_definition, "media_type", None)
    if media_type in (RequestEncodingType.MULTI_PART, RequestEncodingType.URL_ENCODED):
        return None
    return field.annotation


async def _check_json_body(request: Request) -> None:
    body_type = _body_type(request)
    if body_type is None or request.method in ("GET", "HEAD", "OPTIONS"):
        return
    body = await request.body()  # enforces the handler's request_max_body_size (413)
    if not body.strip():
        return  # an absent body: the handler's own defaults (or Litestar's 400) apply
    media_type, _ = request.content_type
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(MESSAGES["not_json"])
    try:
        raw = msgspec.json.decode(body)
    except RecursionError:
        raise TooDeep(MESSAGES["too_deep"], depth=JSON_MAX_DEPTH) from None
    except msgspec.DecodeError:
        raise PortalError(MESSAGES["invalid_json"]) from None
    if _depth(raw) > JSON_MAX_DEPTH:
        raise TooDeep(MESSAGES["too_deep"], depth=JSON_MAX_DEPTH)
    try:
        typed = msgspec.json.decode(body, type=body_type, strict=True)
    except msgspec.ValidationError as exc:
        raise ValidationFailed(dict([_field_error(str(exc))])) from None
    except (TypeError, NotImplementedError):  # a type msgspec cannot check: Litestar will
        return
    errors: dict[str, str] = {}
    _walk(typed, "", errors)
    if errors:
        raise ValidationFailed(errors)


def _depth(value: Any) -> int:
    """Nesting depth of decoded JSON, iteratively (no recursion on hostile input)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth)
            if depth > JSON_MAX_DEPTH:
                return depth
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


# msgspec's message prefix -> what the sender reads (first match wins)
_TYPE_MESSAGES = {
    "Expected `int": "Enter a whole number.",
    "Expected `bool": "Enter true or false.",
    "Expected `str": "Enter text.",
    "Expected `array": "Enter a list.",
    "Expected `object": "Enter an object.",
    "Invalid RFC3339 encoded date": "Enter a date as YYYY-MM-DD.",
    "Expected `date": "Enter a date as YYYY-MM-DD.",
    "Object missing required field": "Required.",
    "": "This value is not valid.",  # anything else
}


def _field_error(message: str) -> tuple[str, str]:
    """msgspec's 'Expected `int`, got `str` - at `$.lines[0].quantity`' -> field, msgid."""
    where = re.search(r" - at `\$\.?(.*)`$", message)
    field = where.group(1) if where else ""
    missing = re.search(r"missing required field `([^`]+)`", message)
    if missing:
        field = f"{field}.{missing.group(1)}" if field else missing.group(1)
    text = next(msgid for prefix, msgid in _TYPE_MESSAGES.items() if message.startswith(prefix))
    if message.startswith("Expected `int") and (">=" in message or "<=" in message):
        text = "Out of range."
    return field or "body", text


def _walk(value: Any, path: str, errors: dict[str, str]) -> None:
    """Bound every integer (by its field's name) and check every string of a decoded body."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _check_value(getattr(value, f.name), f.name, f"{path}.{f.name}" if path else f.name,
                         errors)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _walk(item, f"{path}[{i}]", errors)


def _check_value(value: Any, name: str, path: str, errors: dict[str, str]) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, (date, datetime)):
        return
    if isinstance(value, int):
        low, high = int_bounds(name)
        if not low <= value <= high:
            errors[path] = "Out of range."
    elif isinstance(value, str):
        if problem := text_problem(value):
            errors[path] = problem
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if dataclasses.is_dataclass(item):
                _walk(item, f"{path}[{i}]", errors)
            else:
                _check_value(item, name, f"{path}[{i}]", errors)
    elif dataclasses.is_dataclass(value):
        _walk(value, path, errors)
