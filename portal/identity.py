"""Who is asking, per request: the session cookie for pages, a bearer token for /api/v1 (which
never reads cookies, so it needs no CSRF token); the reader's language; the security headers
every answer carries; and, with a read replica, the position of this browser's own last write
(read your writes)."""
from __future__ import annotations

import os
from typing import Any

from litestar._parsers import parse_cookie_string

from portal import audit, auth, db, i18n, replica
from portal.actor import Actor
from portal.settings import Settings
from portal.web import (
    CSP,
    LANG_COOKIE,
    LSN_COOKIE,
    LSN_SECONDS,
    SESSION_COOKIE,
)


def _cookies(scope: dict) -> dict[str, str]:
    """Read as Litestar reads `request.cookies` (its parser remembers the last 1,024 headers,
    so a returning browser's costs a lookup); a copy, as handlers may add to it."""
    found: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            found.update(parse_cookie_string(value.decode("latin-1")))
    return found


def _header(scope: dict, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return value.decode("latin-1")
    return None


class IdentityMiddleware:
    """Sets request id, actor, session and locale; adds security headers to every response."""

    def __init__(self, app: Any, settings: Settings):
        self.app, self.settings = app, settings

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Who is asking and everything the page reads share one connection (issue 17 §2).
        async with db.request_connection():
            await self._serve(scope, receive, send)

    async def _serve(self, scope: dict, receive: Any, send: Any) -> None:
        request_id = os.urandom(8).hex()  # 64 random bits, as uuid4().hex[:16] was
        rid_token = audit.request_id.set(request_id)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        path: str = scope["path"]
        cookies = _cookies(scope)
        actor: Actor | None = None
        session = None
        if path.startswith("/api/"):
            bearer = _header(scope, b"authorization") or ""
            if bearer.lower().startswith("bearer "):
                actor = await auth.actor_for_api_token(bearer[7:].strip())
        elif not path.startswith("/static/"):
            session = await auth.resume_session(self.settings, cookies.get(SESSION_COOKIE, ""))
            actor = session.actor if session else None
        state.update(actor=actor, session=session, cookies=cookies)
        api = path.startswith("/api/")
        # an API client carries no cookie, so its own last write is unknown: it reads the primary
        floor = replica.ReadFloor(known=False) if api else replica.ReadFloor(
            lsn=replica.parse_lsn(cookies.get(LSN_COOKIE)))
        floor_token = replica.read_floor.set(floor)
        accept = _header(scope, b"accept-language")
        if path.startswith("/api/") and accept:
            # An API client says per request which language it wants its messages in.
            locale = i18n.pick_locale(None, None, accept)
        else:
            locale = i18n.pick_locale(actor.locale if actor else None, cookies.get(LANG_COOKIE),
                                      accept)
        state["locale"] = locale
        locale_token = i18n.current_locale.set(locale)
        static = path.startswith("/static/")

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-request-id", request_id.encode()),
                ]
                # A page may widen its own policy (the card form loads Stripe's script).
                if not any(name == b"content-security-policy" for name, _ in headers):
                    headers.append((b"content-security-policy", CSP.encode()))
                # A private file (an attachment) may say it can be kept a while.
                if not static and not any(name == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                if floor.wrote and not api and replica.replica_configured():
                    lsn = await replica.primary_lsn()
                    headers.append((b"set-cookie", (
                        f"{LSN_COOKIE}={lsn}; Path=/; Max-Age={LSN_SECONDS}; HttpOnly; "
                        f"SameSite=Lax{'; Secure' if self.settings.secure_cookies else ''}"
                    ).encode()))
                message["headers"] = headers
                await db.let_go(last=True)  # the page is built: its connection goes back
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            replica.read_floor.reset(floor_token)
            i18n.current_locale.reset(locale_token)
            audit.request_id.reset(rid_token)


def identity_middleware(settings: Settings):
    def factory(app: Any) -> IdentityMiddleware:
        return IdentityMiddleware(app, settings)

    return factory
