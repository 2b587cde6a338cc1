"""One error hierarchy. Services raise these; the web layer maps them to status codes.

Messages are msgids translated at render time, with `params` for interpolation, so a dealer
reads the reason in their own language.
"""
from __future__ import annotations


class PortalError(Exception):
    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, **params: object):
        super().__init__(message)
        self.message = message
        self.field = field
        self.params = params


class NotFound(PortalError):
    status_code = 404


class Forbidden(PortalError):
    status_code = 403


class Conflict(PortalError):
    status_code = 409


class RuleViolation(PortalError):
    """A business rule (R-id in the message's source) refuses the action."""

    status_code = 422


class ValidationFailed(PortalError):
    """Bad input: one or more fields, each with its own message."""

    status_code = 422

    def __init__(self, errors: dict[str, str], *, field: str | None = None, **params: object):
        super().__init__("Please correct the highlighted fields.", field=field, **params)
        self.errors = errors


class Throttled(PortalError):
    status_code = 429
