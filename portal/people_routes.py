"""User administration (HQ admin): accounts, roles, regional managers' offices."""
from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from portal import auth
from portal.actor import ALL_ROLES
from portal.errors import NotFound, ValidationFailed
from portal.forms import int_list, integer, query_int, read_form, str_list, text
from portal.tables import ManagerCoverage, Organisation, User
from portal.web import current_actor, done, render, roles_required

PAGE = 50


async def _offices() -> list[dict]:
    return await Organisation.select(Organisation.id, Organisation.name, Organisation.name_en).where(
        Organisation.kind.is_in(["office", "agent"])).order_by(Organisation.name)


async def _orgs() -> list[dict]:
    return await Organisation.select(Organisation.id, Organisation.name, Organisation.name_en,
                                     Organisation.kind).order_by(
        Organisation.path)


class UserAdminController(Controller):
    path = "/admin/users"
    guards = [roles_required("hq_admin")]

    @get("/")
    async def list_page(self, request: Request) -> Response:
        query = User.select(User.id, User.username, User.display_name, User.roles, User.active,
                            User.organisation.name.as_alias("org_name"),
                            User.organisation.name_en.as_alias("org_name_en"))
        after = query_int(request, "after")
        if after:
            query = query.where(User.id > after)
        rows = await query.order_by(User.id).limit(PAGE)
        return render(request, "admin/users.html", rows=rows,
                      next_after=rows[-1]["id"] if len(rows) == PAGE else None)

    @get("/new")
    async def new_form(self, request: Request) -> Response:
        return render(request, "admin/user_form.html", user=None, roles=ALL_ROLES,
                      orgs=await _orgs(), offices=await _offices(),
                      form={"locale": "zh_CN", "roles": [], "covers": []})

    @post("/new")
    async def create(self, request: Request) -> Response:
        actor = current_actor(request)
        form = await read_form(request)
        errors: dict[str, str] = {}
        org_id = integer(form, "organisation", errors)
        try:
            if errors:
                raise ValidationFailed(errors)
            user_id = await auth.create_user(
                actor=actor, username=text(form, "username", 100),
                display_name=text(form, "display_name", 200), email=text(form, "email", 200),
                organisation_id=org_id or 0, roles=str_list(form, "roles"),
                password=str(form.get("password") or "")[:200], locale=text(form, "locale", 8),
                covered_office_ids=int_list(form, "covers"))
        except ValidationFailed as exc:
            values = dict(form)
            values.update(roles=str_list(form, "roles"), covers=int_list(form, "covers"))
            return render(request, "admin/user_form.html", status_code=422, user=None,
                          roles=ALL_ROLES, orgs=await _orgs(), offices=await _offices(),
                          form=values, errors=exc.errors)
        return done(request, "User %(name)s created.", f"/admin/users/{user_id}",
                    name=text(form, "username", 100))

    @get("/{user_id:int}")
    async def edit_form(self, request: Request, user_id: FromPath[int]) -> Response:
        row = await User.select(User.id, User.username, User.display_name, User.email, User.roles,
                                User.active, User.locale, User.organisation,
                                User.organisation.name.as_alias("org_name"),
                            User.organisation.name_en.as_alias("org_name_en")).where(
            User.id == user_id).first()
        if row is None:
            raise NotFound("Not found.")
        covers = [r["organisation"] for r in await ManagerCoverage.select(
            ManagerCoverage.organisation).where(ManagerCoverage.user == user_id)]
        return render(request, "admin/user_form.html", user=row, roles=ALL_ROLES,
                      orgs=await _orgs(), offices=await _offices(), form={**row, "covers": covers})

    @post("/{user_id:int}")
    async def update(self, request: Request, user_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        form = await read_form(request)
        try:
            await auth.update_user(actor=actor, user_id=user_id,
                                   display_name=text(form, "display_name", 200),
                                   email=text(form, "email", 200), roles=str_list(form, "roles"),
                                   active=form.get("active") == "on",
                                   locale=text(form, "locale", 8), reason=text(form, "reason"))
        except ValidationFailed as exc:
            row = await User.select(User.id, User.username, User.organisation,
                                    User.organisation.name.as_alias("org_name"),
                            User.organisation.name_en.as_alias("org_name_en")).where(
                User.id == user_id).first()
            values = {**dict(form), "roles": str_list(form, "roles"), "covers": [],
                      "active": form.get("active") == "on"}
            return render(request, "admin/user_form.html", status_code=422, user=row,
                          roles=ALL_ROLES, orgs=await _orgs(), offices=await _offices(),
                          form=values, errors=exc.errors)
        saved = await User.select(User.username).where(User.id == user_id).first()
        return done(request, "User %(name)s saved.", f"/admin/users/{user_id}",
                    name=saved["username"] if saved else "")



