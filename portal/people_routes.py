"""User administration (HQ admin): accounts, roles, regional managers' offices."""
from __future__ import annotations

import functools
from dataclasses import asdict

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from portal import people
from portal.actions import act
from portal.actor import ALL_ROLES
from portal.errors import NotFound
from portal.forms import query_int
from portal.inputs import UserEditIn, UserIn
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
        return await user_form(request, form={"locale": "zh_CN", "roles": [], "covers": []})

    @post("/new")
    async def create(self, request: Request) -> Response:
        actor = current_actor(request)
        return await act(request, UserIn,
                         lambda data: people.create_user(actor=actor, **new_user(data)),
                         page=functools.partial(user_form, request),
                         respond=lambda user_id, data: done(
                             request, "User %(name)s created.", f"/admin/users/{user_id}",
                             name=data.username.strip().lower()))

    @get("/{user_id:int}")
    async def edit_form(self, request: Request, user_id: FromPath[int]) -> Response:
        row = await _user(user_id)
        covers = [r["organisation"] for r in await ManagerCoverage.select(
            ManagerCoverage.organisation).where(ManagerCoverage.user == user_id)]
        return await user_form(request, user=row, form={**row, "covers": covers})

    @post("/{user_id:int}")
    async def update(self, request: Request, user_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        row = await _user(user_id)
        return await act(request, UserEditIn,
                         lambda data: people.update_user(actor=actor, user_id=user_id,
                                                       **asdict(data)),
                         page=functools.partial(user_form, request, user=row),
                         success="User %(name)s saved.", location=f"/admin/users/{user_id}",
                         name=row["username"])


def new_user(data: UserIn) -> dict:
    """The form's names -> create_user's arguments."""
    values = asdict(data)
    values["organisation_id"] = values.pop("organisation")
    values["covered_office_ids"] = values.pop("covers")
    return values


async def _user(user_id: int) -> dict:
    row = await User.select(User.id, User.username, User.display_name, User.email, User.roles,
                            User.active, User.locale, User.organisation,
                            User.organisation.name.as_alias("org_name"),
                            User.organisation.name_en.as_alias("org_name_en")).where(
        User.id == user_id).first()
    if row is None:
        raise NotFound("Not found.")
    return row


async def user_form(request: Request, *, user: dict | None = None, status_code: int = 200,
                    form: dict | None = None, errors: dict | None = None) -> Response:
    """The account form; after a refusal, what was typed comes back (ticked boxes as lists)."""
    values = dict(form or {})
    for key in ("roles", "covers"):
        ticked = values.get(key, [])
        values[key] = ticked if isinstance(ticked, list) else [ticked]
    values["covers"] = [int(v) for v in values["covers"] if str(v).isdigit()]
    return render(request, "admin/user_form.html", status_code=status_code, user=user,
                  roles=ALL_ROLES, orgs=await _orgs(), offices=await _offices(), form=values,
                  errors=errors or {})
