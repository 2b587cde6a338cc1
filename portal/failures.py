"""Exceptions to responses: the user's language, a correlation id, never a stack trace
(unless debug is on). Pages get a page, htmx gets a fragment, the API gets JSON."""
from __future__ import annotations

import logging
import traceback
from typing import Any

import asyncpg
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from portal.errors import PortalError, ValidationFailed
from portal.i18n import gettext
from portal.redirects import login_url
from portal.web import is_htmx, render

log = logging.getLogger("portal.errors")

GENERIC = {
    400: "The request could not be understood.",
    401: "Please sign in.",
    403: "You may not open this page.",
    404: "Not found.",
    405: "This action is not available here.",
    409: "Someone else changed this at the same time. Reload and try again.",
    413: "The upload is too large.",
    422: "Please correct the highlighted fields.",
    429: "Too many requests. Please wait and try again.",
    500: "Something went wrong on our side.",
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _respond(request: Request, status: int, message: str,
             errors: dict[str, str] | None = None, debug_text: str = "") -> Response:
    request_id = request.scope.get("state", {}).get("request_id", "")
    if _is_api(request):
        body: dict[str, Any] = {"error": message, "status": status, "request_id": request_id}
        if errors:
            body["fields"] = errors
        if debug_text:
            body["debug"] = debug_text
        return Response(content=body, status_code=status, media_type=MediaType.JSON)
    return render(request, "errors/error.html", status_code=status,
                  block="error" if is_htmx(request) else None, status=status, message=message,
                  field_errors=errors or {}, debug_text=debug_text)


def portal_error(request: Request, exc: PortalError) -> Response:
    message = gettext(exc.message, **exc.params) if exc.params else gettext(exc.message)
    errors = None
    if isinstance(exc, ValidationFailed):
        errors = {k: gettext(v) for k, v in exc.errors.items()}
    elif exc.field:
        errors = {exc.field: message}
    return _respond(request, exc.status_code, message, errors)


def not_authorized(request: Request, exc: NotAuthorizedException) -> Response:
    if _is_api(request):
        return _respond(request, 401, gettext("A valid API token is required."))
    target = "/login"
    if request.method == "GET":  # back to the page and its query, encoded: headers are Latin-1
        target = login_url(request.url.path, request.scope.get("query_string", b""))
    if is_htmx(request):
        return Response(content="", status_code=401, headers={"HX-Redirect": target})
    return Response(content="", status_code=303, headers={"Location": target})


def http_error(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if isinstance(exc, PermissionDeniedException) and exc.detail:
        message = gettext(exc.detail)
    elif isinstance(exc, ValidationException):
        message = gettext("Some of the values sent are not valid.")
    else:
        message = gettext(GENERIC.get(status, GENERIC[400]))
    return _respond(request, status, message)


def unique_violation(request: Request, exc: Exception) -> Response:
    """A race lost on a unique index (two people creating the same thing at once): a 409 with
    a message, wherever the insert was (services may catch it earlier with a better one)."""
    log.info("unique violation answered 409: %s", exc)
    return _respond(request, 409, gettext(
        "This was just recorded by someone else. Reload the page to see it."))


def data_refused(request: Request, exc: Exception) -> Response:
    """Safety net behind portal/validation.py: a value the database refuses (out of range,
    NUL, ...) is the sender's fault, a 422, never a 500. Logged as a warning: each one is an
    input the validation edge should have caught (the API fuzz test fails on it)."""
    log.warning("database refused a value (validation edge gap): %s", exc)
    return _respond(request, 422, gettext("Some of the values sent are not valid."))


def server_error(request: Request, exc: Exception) -> Response:
    request_id = request.scope.get("state", {}).get("request_id", "")
    log.exception("unhandled error, request id %s", request_id, exc_info=exc)
    debug = request.app.debug
    return _respond(request, HTTP_500_INTERNAL_SERVER_ERROR, gettext(GENERIC[500]),
                    debug_text="".join(traceback.format_exception(exc)) if debug else "")


HANDLERS = {
    PortalError: portal_error,
    NotAuthorizedException: not_authorized,
    HTTPException: http_error,
    asyncpg.exceptions.UniqueViolationError: unique_violation,
    asyncpg.exceptions.DataError: data_refused,  # SQLSTATE class 22, raised by the server
    asyncpg.exceptions._base.DataError: data_refused,  # raised by asyncpg encoding an argument
    Exception: server_error,
}


def response_for(request: Request, exc: Exception) -> Response:
    """The response HANDLERS gives `exc` (for code that runs outside Litestar's own exception
    handling, such as the validation middleware)."""
    for cls in type(exc).__mro__:
        if cls in HANDLERS:
            return HANDLERS[cls](request, exc)  # type: ignore[operator]
    return server_error(request, exc)
