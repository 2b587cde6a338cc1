"""The web shell: guards, rendering, success messages. Who is asking (and the security
headers) is portal/identity.py; CSRF is portal/csrf.py."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from pathlib import Path
from typing import Any

import jinja2
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from markupsafe import Markup

from portal import i18n
from portal.actor import Actor
from portal.clock import CHINA
from portal.csrf import SAFE_METHODS, anon_csrf_cookie, anon_csrf_token, csrf_expected
from portal.settings import Settings

SESSION_COOKIE = "portal_session"
LANG_COOKIE = "portal_lang"
FLASH_COOKIE = "portal_flash"
# Read your own writes with a read replica (replica.on_replica): the primary's WAL position after
# this browser's last write. Unsigned on purpose: a forged value only sends its own reads to the
# primary (too high) or shows its own writes late (too low); nobody else's data is involved.
LSN_COOKIE = "portal_lsn"
LSN_SECONDS = 24 * 3600
FLASH_SECONDS = 120  # a success message waits this long for the page that shows it
# What the read-only auditor may still do: their own session, language, inbox and API tokens.
# None of these touches business data.
PERSONAL_ACTIONS = re.compile(r"^/(logout|lang|tokens(/\d+/revoke)?|inbox/\d+/read)$")
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def current_actor(request: Request | ASGIConnection) -> Actor:
    actor = request.scope.get("state", {}).get("actor")
    if actor is None:
        raise NotAuthorizedException("Please sign in.")
    return actor


# --- guards -------------------------------------------------------------------------------------

# Guards are coroutines: Litestar runs a plain-function guard in a worker thread, a thread
# hop per guard on every request for a check that takes microseconds.

def _signed_in(connection: ASGIConnection) -> Actor:
    actor = connection.scope.get("state", {}).get("actor")
    if actor is None:
        raise NotAuthorizedException("Please sign in.")
    if actor.read_only and connection.scope.get("method") not in SAFE_METHODS \
            and not PERSONAL_ACTIONS.match(connection.scope["path"]):
        raise PermissionDeniedException("Your role may read but not change anything.")
    return actor


async def login_required(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Every non-public route carries this guard (the route inventory test checks it)."""
    _signed_in(connection)


def roles_required(*roles: str):
    async def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        if not _signed_in(connection).has(*roles):
            raise PermissionDeniedException("Your role may not open this page.")

    guard.__name__ = f"roles_required({','.join(roles)})"
    guard.roles = roles  # type: ignore[attr-defined]
    return guard


async def public(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Marks a route as deliberately public (it must also be on the allowlist)."""


# --- rendering ------------------------------------------------------------------------------------

def _template_gettext(message: str, **variables: Any) -> Markup:
    """`_()` in templates, as jinja2.ext.i18n's new-style gettext does it (the translation is
    safe, its %-variables are escaped) without its two context calls per use: a list page says
    `_()` a hundred and fifty times, and they were a third of its rendering."""
    text = Markup(i18n.translated(i18n.current_locale.get(), message))
    return text % variables if "%" in text else text


def make_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda m: i18n.gettext(m), lambda s, p, n: i18n.ngettext(s, p, n), newstyle=True
    )
    env.globals["_"] = _template_gettext
    # `tr` translates a message computed in Python (errors, verdict reasons): unlike `_`, it
    # does no %-formatting, so a message like "less than 80% new" is safe.
    env.globals.update(money=i18n.money, local_name=i18n.local_name, html_lang=i18n.html_lang,
                       tr=lambda message: i18n.gettext(message), china=CHINA)
    return env


def flash_region(message: str = "", oob: bool = False) -> Markup:
    """The one status region of every page (base.html) where success messages appear; with
    `oob` the same element as an htmx out-of-band swap that fills the page's region."""
    swap = ' hx-swap-oob="innerHTML"' if oob else ""
    inner = Markup('<p class="flash-message">{}</p>').format(message) if message else ""
    return Markup('<div id="flash" class="flash" role="status" aria-live="polite"{}>{}</div>'
                  ).format(Markup(swap), inner)


ENV = make_environment()
ENV.globals["flash_region"] = flash_region
# Form macros as globals, so a block rendered alone (an htmx fragment) still has them.
_FORM_MACROS = ENV.get_template("_partials/_forms.html").module
ENV.globals.update(error=_FORM_MACROS.error, csrf=_FORM_MACROS.csrf)  # type: ignore[attr-defined]


def see_other(url: str, cookies: list[Cookie] | None = None) -> Response:
    """The answer to a plain POST that worked: go and GET the result."""
    return Response(content="", status_code=303, headers={"Location": url}, cookies=cookies)


# --- success messages (issue 9 §4) ----------------------------------------------------------------
# After an action works the next page says so, once. The message travels in a short-lived cookie
# signed under the secret key and bound to the session (a flash cannot be forged or carried into
# another session); the next full page shows it in base.html's status region and deletes it. An
# htmx answer carries it instead as an out-of-band swap into the same region.

def _flash_mac(settings: Settings, session_key: str, payload: str) -> str:
    return hmac.new(settings.secret_key.encode(), f"flash:{session_key}:{payload}".encode(),
                    hashlib.sha256).hexdigest()[:32]


def _session_key(request: Request) -> str:
    session = request.scope.get("state", {}).get("session")
    return getattr(session, "csrf_token", "") or ""


def flash_cookie(request: Request, message: str, max_age: int | None = FLASH_SECONDS) -> Cookie:
    """The cookie carrying `message` (already in the reader's language) to the next page;
    `message=""` with `max_age=0` deletes it."""
    settings: Settings = request.app.state.settings
    value = ""
    if message:
        payload = base64.urlsafe_b64encode(json.dumps(
            {"m": message[:500], "t": int(time.time()) + FLASH_SECONDS}).encode()).decode()
        value = f"{payload}.{_flash_mac(settings, _session_key(request), payload)}"
    return Cookie(key=FLASH_COOKIE, value=value, httponly=True, samesite="lax",
                  secure=settings.secure_cookies, path="/", max_age=max_age)


def read_flash(request: Request) -> str | None:
    """The waiting message, if its cookie is genuine, of this session and not stale."""
    raw = request.scope.get("state", {}).get("cookies", {}).get(FLASH_COOKIE)
    if not raw or "." not in raw:
        return None
    payload, mac = raw.rsplit(".", 1)
    expected = _flash_mac(request.app.state.settings, _session_key(request), payload)
    if not hmac.compare_digest(mac.encode(), expected.encode()):  # any text, never a 500
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except ValueError:
        return None
    if not isinstance(data, dict) or int(data.get("t", 0)) < time.time():
        return None
    return str(data.get("m", "")) or None


def done(request: Request, message: str, location: str | None = None, *,
         fragment: Response | None = None, **params: Any) -> Response:
    """The answer to an action that worked, with its success message in the reader's language:
    a 303 to `location` whose page shows the message, or, for htmx, `fragment` with the message
    swapped out of band into the page's status region."""
    text = i18n.gettext(message, **params)
    if fragment is not None:
        return with_flash(fragment, text)
    if location is None:
        raise ValueError("done() needs a location or a fragment")
    return see_other(location, cookies=[flash_cookie(request, text)])


def with_flash(response: Response, text: str) -> Response:
    """An htmx fragment with `text` swapped into the status region (out of band)."""
    body = response.content if isinstance(response.content, str) else ""
    response.content = body + str(flash_region(text, oob=True))
    return response


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def request_path(scope: Any) -> str:
    """The request's path as `request.url.path` gives it, without building the URL."""
    return scope.get("root_path", "") + scope["path"]


def _context(request: Request, context: dict[str, Any],
             issue_anon_csrf: bool) -> tuple[dict[str, Any], Cookie | None]:
    state = request.scope.get("state", {})
    session = state.get("session")
    cookie = None
    token = csrf_expected(request)
    if session is None and not token and issue_anon_csrf:
        # Only the sign-in page issues the signed-out token: if every anonymous response did,
        # a parallel request (a favicon, say) could replace the cookie under the open form.
        nonce = secrets.token_urlsafe(32)
        state["new_anon_csrf"] = nonce
        settings: Settings = request.app.state.settings
        token = anon_csrf_token(settings, nonce)
        cookie = anon_csrf_cookie(settings, nonce)
    base = {
        "request": request, "actor": state.get("actor"), "csrf_token": token or "",
        "locale": state.get("locale", i18n.DEFAULT_LOCALE), "errors": {}, "form": {},
        "request_id": state.get("request_id", ""), "path": request_path(request.scope),
    }
    base.update(context)
    return base, cookie


def render(request: Request, template: str, *, status_code: int = 200, block: str | None = None,
           headers: dict[str, str] | None = None, issue_anon_csrf: bool = False,
           **context: Any) -> Response:
    """Render a page, or one named block of it (an htmx fragment)."""
    ctx, cookie = _context(request, context, issue_anon_csrf)
    cookies = [cookie] if cookie else []
    tmpl = ENV.get_template(template)
    if block:
        html = "".join(tmpl.blocks[block](tmpl.new_context(ctx)))
    else:
        # A full page shows the success message waiting for it, once (issue 9 §4).
        ctx.setdefault("flash", read_flash(request))
        if FLASH_COOKIE in request.scope.get("state", {}).get("cookies", {}):
            cookies.append(flash_cookie(request, "", max_age=0))
        html = tmpl.render(ctx)
    return Response(content=html, media_type="text/html", status_code=status_code,
                    cookies=cookies or None, headers=headers)
