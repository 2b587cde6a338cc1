"""CSRF: every unsafe page request carries a token (API requests carry a bearer token instead and
never read cookies). Signed in, the token lives in the server-side session; signed out (sign-in,
language), it is an HMAC of a nonce in a cookie that cannot be planted, and the request must
come from the portal's own origin (login CSRF, issue 10)."""
from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from litestar import Request
from litestar.datastructures import Cookie

from portal import auth
from portal.errors import Forbidden
from portal.settings import Settings

# The signed-out CSRF nonce. With Secure cookies it carries the `__Host-` prefix: browsers accept
# such a cookie only from this very host over https, so a sibling subdomain or a plain-http
# man in the middle cannot plant one (login CSRF). Plain http (./dev up) keeps the bare name.
ANON_CSRF_COOKIE = "portal_csrf"
ANON_CSRF_COOKIE_SECURE = "__Host-portal_csrf"
STRIPE_WEBHOOK = "/webhooks/stripe"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def anon_csrf_cookie_name(settings: Settings) -> str:
    return ANON_CSRF_COOKIE_SECURE if settings.secure_cookies else ANON_CSRF_COOKIE


def anon_csrf_token(settings: Settings, nonce: str) -> str:
    """The signed-out form token: an HMAC of the cookie's random nonce under the secret key, so
    a cookie and token pair cannot be made up (random, or signed with another key)."""
    return hmac.new(settings.secret_key.encode(), b"anon-csrf:" + nonce.encode(),
                    hashlib.sha256).hexdigest()


def anon_csrf_cookie(settings: Settings, nonce: str = "", max_age: int | None = None) -> Cookie:
    """The nonce cookie; `nonce=""` with `max_age=0` deletes it (a `__Host-` deletion must be
    Secure and Path=/ too, or the browser ignores it)."""
    return Cookie(key=anon_csrf_cookie_name(settings), value=nonce, httponly=True,
                  samesite="lax", secure=settings.secure_cookies, path="/", max_age=max_age)


def csrf_expected(request: Request) -> str | None:
    state = request.scope.get("state", {})
    session = state.get("session")
    if session is not None:
        return session.csrf_token
    settings: Settings = request.app.state.settings
    nonce = state.get("cookies", {}).get(anon_csrf_cookie_name(settings)) or state.get(
        "new_anon_csrf")
    return anon_csrf_token(settings, nonce) if nonce else None


def same_origin(request: Request, settings: Settings) -> bool:
    """Origin (or Referer when Origin is absent) names this portal: its Host, or the origin of
    PORTAL_BASE_URL (for a proxy that rewrites Host); https only when cookies are Secure.
    Browsers send Origin on every cross-site POST; a request with neither header is not from a
    browser page and still needs the token."""
    claimed = request.headers.get("origin")
    if claimed is None:
        claimed = request.headers.get("referer")
        if claimed is None:
            return True
    try:
        parts = urlsplit(claimed)
    except ValueError:
        return False
    schemes = ("https",) if settings.secure_cookies else ("https", "http")
    own = {request.headers.get("host", "").lower(), urlsplit(settings.base_url).netloc.lower()}
    return parts.scheme in schemes and bool(parts.netloc) and parts.netloc.lower() in own


async def csrf_protect(request: Request) -> None:
    """before_request hook: every unsafe page request carries the session's own token.

    The token lives in the server-side session, so a token from another session never matches.
    Signed-out forms (login, language) carry the HMAC of a nonce kept in a cookie that cannot be
    planted, and must come from the portal's own origin (login CSRF, issue 10)."""
    if request.method in SAFE_METHODS or request.url.path.startswith("/api/") \
            or request.url.path == STRIPE_WEBHOOK:  # signed by Stripe instead
        return None
    signed_out = request.scope.get("state", {}).get("session") is None
    if signed_out and not same_origin(request, request.app.state.settings):
        raise Forbidden("Your form expired or came from elsewhere. Reload the page and try again.")
    expected_token = csrf_expected(request)
    given = request.headers.get("x-csrftoken")
    if not given:
        content_type = request.headers.get("content-type", "")
        if "form" in content_type:
            given = (await request.form()).get("_csrf")
    if not expected_token or not auth.csrf_matches(expected_token, given):
        raise Forbidden("Your form expired or came from elsewhere. Reload the page and try again.")
    return None
