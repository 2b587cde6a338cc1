"""The OpenAPI document tells the truth (issue 10 §6), corrected in one place as it is served.

Litestar describes errors as `{status_code, detail}` and only for a 400; the portal answers
every error with `{error, status, request_id, fields?}` (portal/failures.py) and an operation
can answer 400, 401, 403, 404 and 422, a change also 409, a body 413 and 415. Integers carry the
bounds the validation edge enforces (portal/validation.py `int_bounds`).
"""
from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.openapi import ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin

from portal.failures import GENERIC
from portal.validation import JSON_MAX_DEPTH, int_bounds


def _prop(kind: str, description: str, **more: Any) -> dict:
    return {"type": kind, "description": description, **more}


# Developer documentation, in English (not collected for translation: no dict literals here).
ERROR_SCHEMA: dict[str, Any] = _prop(
    "object", "Every error the portal answers, in the reader's language.",
    required=["error", "status", "request_id"],
    properties=dict(
        error=_prop("string", "What went wrong, for a person to read."),
        status=_prop("integer", "The HTTP status, repeated."),
        request_id=_prop("string", "Quote it to support (X-Request-Id)."),
        fields=_prop("object", "Per field (e.g. `lines[0].quantity`): what to correct.",
                     additionalProperties=_prop("string", "The field's message.")),
    ))
_REF = {"$ref": "#/components/schemas/Error"}
_EXTRA = dict([
    (400, f"Malformed request: invalid JSON, or JSON nested deeper than {JSON_MAX_DEPTH} levels."),
    (404, "Not found, not visible to you, or an id out of range."),
    (413, "The body is larger than this operation accepts."),
    (415, "The body is not JSON (send Content-Type: application/json)."),
    (503, "The payment service is not configured or did not answer."),
    (422, "A field is missing, of the wrong JSON type, out of range or holds control "
          "characters (see `fields`), or a business rule refuses the action."),
])
_DONE = "x-portal-errors"

# Handlers that call Stripe declare `responses=PAYMENT_RESPONSES`: Stripe not configured, or
# not answering, is a 503 with the usual error body.
PAYMENT_RESPONSES = {503: ResponseSpec(data_container=None, description=_EXTRA[503])}
# Operations that answer a file instead of JSON: path -> media types.
FILES = {
    "/api/v1/statements/{statement_id}/download": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "text/csv"),
    "/api/v1/attachments/{attachment_id}": ("image/jpeg", "application/pdf"),
}


def _error_response(status: int) -> dict:
    description = _EXTRA.get(status, GENERIC.get(status, ""))
    return {"description": description, "content": {"application/json": {"schema": _REF}}}


def statuses_for(method: str, operation: dict) -> list[int]:
    """Every error status an API operation can answer."""
    statuses = [400, 401, 403, 404, 422]
    if method != "get":
        statuses.append(409)
    if "requestBody" in operation:
        statuses.append(413)
        content = operation["requestBody"].get("content", {})
        if "application/json" in content:
            statuses.append(415)
    return sorted(statuses)


def _bound(schema: dict, name: str) -> None:
    """Publish the integer range of property/parameter `name` (also inside `T | null`)."""
    for option in [schema, *schema.get("oneOf", []), *schema.get("anyOf", [])]:
        if option.get("type") == "integer":
            option["minimum"], option["maximum"] = int_bounds(name)
        elif option.get("type") == "array" and isinstance(option.get("items"), dict):
            _bound(option["items"], name)


def describe_errors(doc: dict) -> dict:
    """Correct `doc` in place (idempotent) and return it."""
    if doc.get(_DONE):
        return doc
    doc.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    # the pages (HTML, cookies and CSRF) and the Stripe webhook are not this API
    doc["paths"] = {path: item for path, item in doc.get("paths", {}).items()
                    if path.startswith("/api/")}
    for path_item in doc["paths"].values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            declared = [int(s) for s in responses if s.startswith("5")]  # PAYMENT_RESPONSES
            for status in [s for s in responses if s.startswith(("4", "5"))]:
                del responses[status]  # Litestar's {status_code, detail} description
            for status in statuses_for(method, operation) + declared:
                responses[str(status)] = _error_response(status)
            for parameter in operation.get("parameters", []):
                _bound(parameter.get("schema", {}), parameter["name"])
    for path, media_types in FILES.items():
        ok = doc["paths"].get(path, {}).get("get", {}).get("responses", {}).get("200")
        if ok is not None:
            ok["content"] = {media: {"schema": {"type": "string", "format": "binary"}}
                             for media in media_types}
    for schema in doc["components"]["schemas"].values():
        for name, prop in (schema.get("properties") or {}).items():
            _bound(prop, name)
    doc[_DONE] = True
    return doc


class TruthfulJsonRenderPlugin(JsonRenderPlugin):
    """Serves /api/v1/schema/openapi.json with the corrections above."""

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, describe_errors(openapi_schema))
