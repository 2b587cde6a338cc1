"""Pages of the shell: sign in/out, language, inbox, API tokens, record history."""
from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath

from portal import audit, auth, i18n, notify, people
from portal.actor import Actor
from portal.errors import NotFound, ValidationFailed
from portal.forms import read_form, text
from portal.network import get_organisation
from portal.proxies import client_ip
from portal.redirects import safe_next
from portal.tables import Product, ProductCategory, SparePart, User

CATALOG_TYPES: dict[str, type[ProductCategory | Product | SparePart]] = {
    "product_category": ProductCategory, "product": Product, "spare_part": SparePart}
from portal.csrf import anon_csrf_cookie
from portal.web import (
    LANG_COOKIE,
    SESSION_COOKIE,
    current_actor,
    is_htmx,
    login_required,
    public,
    render,
)


async def signed_in(request: Request, actor: Actor, next_url: str) -> Response:
    """A new session (never the old id: session fixation) and on to where the user was going."""
    settings = request.app.state.settings
    old = request.scope["state"]["cookies"].get(SESSION_COOKIE)
    if old:
        await auth.end_session(old)
    session = await auth.start_session(actor)
    cookie = Cookie(key=SESSION_COOKIE, value=session.token, httponly=True, samesite="lax",
                    secure=settings.secure_cookies, path="/",
                    max_age=settings.session_absolute_seconds)
    return Response(content="", status_code=303, headers={"Location": next_url},
                    cookies=[cookie, anon_csrf_cookie(settings, max_age=0)])


class AuthController(Controller):
    guards = [public]

    @get("/login")
    async def login_page(self, request: Request) -> Response:
        if request.scope["state"].get("actor"):
            return Response(content="", status_code=303, headers={"Location": "/"})
        return render(request, "portal/login.html", issue_anon_csrf=True,
                      next=safe_next(request.query_params.get("next")))

    @post("/login", status_code=303)
    async def login(self, request: Request) -> Response:
        form = await read_form(request)
        username, next_url = text(form, "username", 64), safe_next(text(form, "next", 200))
        ip = client_ip(request)  # the socket peer, or X-Forwarded-For from a trusted proxy
        try:
            actor = await auth.authenticate(request.app.state.settings, username=username,
                                            password=str(form.get("password") or "")[:200], ip=ip)
        except ValidationFailed as exc:
            return render(request, "portal/login.html", status_code=422, next=next_url,
                          issue_anon_csrf=True,
                          form={"username": username}, login_error=exc.errors["username"])
        return await signed_in(request, actor, next_url)

    @post("/lang", status_code=303)
    async def switch_language(self, request: Request) -> Response:
        form = await read_form(request)
        locale = text(form, "locale", 8)
        if locale not in ("zh_CN", "en"):
            raise ValidationFailed({"locale": "Choose a language."})
        actor = request.scope["state"].get("actor")
        if actor:
            await people.set_locale(actor=actor, locale=locale)
        back = safe_next(text(form, "next", 200))
        cookie = Cookie(key=LANG_COOKIE, value=locale, samesite="lax", path="/",
                        secure=request.app.state.settings.secure_cookies, max_age=365 * 86400)
        if is_htmx(request):
            return Response(content="", status_code=200, headers={"HX-Redirect": back},
                            cookies=[cookie])
        return Response(content="", status_code=303, headers={"Location": back}, cookies=[cookie])


class SessionController(Controller):
    guards = [login_required]

    @post("/logout", status_code=303)
    async def logout(self, request: Request) -> Response:
        token = request.scope["state"]["cookies"].get(SESSION_COOKIE)
        if token:
            await auth.end_session(token)
        return Response(content="", status_code=303, headers={"Location": "/login"},
                        cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")])

    @get("/inbox")
    async def inbox(self, request: Request) -> Response:
        actor = current_actor(request)
        return render(request, "portal/inbox.html", items=await notify.inbox(actor=actor))

    @post("/inbox/{notification_id:int}/read", status_code=303)
    async def mark_read(self, request: Request, notification_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        await notify.mark_read(actor=actor, notification_id=notification_id)
        if is_htmx(request):
            return render(request, "portal/inbox.html", block="inbox",
                          items=await notify.inbox(actor=actor))
        return Response(content="", status_code=303, headers={"Location": "/inbox"})

    @get("/tokens")
    async def tokens(self, request: Request) -> Response:
        actor = current_actor(request)
        return render(request, "portal/tokens.html", tokens=await auth.list_api_tokens(actor=actor))

    @post("/tokens")
    async def create_token(self, request: Request) -> Response:
        actor = current_actor(request)
        form = await read_form(request)
        try:
            token = await auth.create_api_token(actor=actor, name=text(form, "name", 100))
        except ValidationFailed as exc:
            return render(request, "portal/tokens.html", status_code=422, errors=exc.errors,
                          tokens=await auth.list_api_tokens(actor=actor))
        return render(request, "portal/tokens.html", status_code=201, new_token=token,
                      tokens=await auth.list_api_tokens(actor=actor))

    @post("/tokens/{token_id:int}/revoke", status_code=303)
    async def revoke_token(self, request: Request, token_id: FromPath[int]) -> Response:
        await auth.revoke_api_token(actor=current_actor(request), token_id=token_id)
        return Response(content="", status_code=303, headers={"Location": "/tokens"})

    @get("/history/organisation/{org_id:int}")
    async def organisation_history(self, request: Request, org_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        org = await get_organisation(actor=actor, org_id=org_id)
        entries = await audit.history(actor=actor, object_type="organisation", object_id=org_id,
                                      organisation_path=org["path"])
        return render(request, "portal/history.html", title=i18n.local_name(org), entries=entries)

    @get("/history/catalog/{object_type:str}/{object_id:int}")
    async def catalog_history(self, request: Request, object_type: FromPath[str], object_id: FromPath[int]) -> Response:
        """The catalogue is shared by the whole network, so everyone signed in may read its
        history (R17, R20)."""
        if object_type not in CATALOG_TYPES:
            raise NotFound("Not found.")
        table = CATALOG_TYPES[object_type]
        row = await table.select().where(table.id == object_id).first()
        if row is None:
            raise NotFound("Not found.")
        entries = await audit.history(actor=current_actor(request), object_type=object_type,
                                      object_id=object_id, organisation_path="")
        return render(request, "portal/history.html", title=row.get("model") or row.get("code"),
                      entries=entries)

    @get("/history/user/{user_id:int}")
    async def user_history(self, request: Request, user_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        row = await User.select(User.username, User.organisation.path.as_alias("path")).where(
            User.id == user_id).first()
        if row is None:
            raise NotFound("Not found.")
        entries = await audit.history(actor=actor, object_type="user", object_id=user_id,
                                      organisation_path=row["path"])
        return render(request, "portal/history.html", title=row["username"], entries=entries)



