"""Network pages: everyone sees their part of the tree; the HQ admin edits it."""
from __future__ import annotations

import functools
from dataclasses import asdict

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from portal import network
from portal.actions import act
from portal.forms import query_int
from portal.inputs import OrganisationEditIn, OrganisationIn
from portal.tables import User
from portal.web import current_actor, done, is_htmx, login_required, render, roles_required


class NetworkController(Controller):
    path = "/network"
    guards = [login_required]

    @get("/")
    async def list_page(self, request: Request) -> Response:
        actor = current_actor(request)
        kind = request.query_params.get("kind") or None
        if kind not in (None, *network.ALLOWED_PARENTS, "hq"):
            kind = None
        q = (request.query_params.get("q") or "")[:60] or None
        rows = await network.list_organisations(actor=actor, kind=kind, q=q,
                                                after_id=query_int(request, "after"))
        next_after = rows[-1]["id"] if len(rows) == network.PAGE_SIZE else None
        return render(request, "portal/network.html", block="rows" if is_htmx(request) else None,
                      rows=rows, kind=kind or "", q=q or "", next_after=next_after)

    @get("/{org_id:int}")
    async def detail(self, request: Request, org_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        org = await network.get_organisation(actor=actor, org_id=org_id)
        kids = await network.children(actor=actor, org_id=org_id)
        people = await User.select(User.id, User.username, User.display_name, User.roles,
                                   User.active).where(User.organisation == org_id).order_by(User.id)
        return render(request, "portal/organisation.html", org=org, children=kids, people=people)


class OrganisationAdminController(Controller):
    path = "/admin/organisations"
    guards = [roles_required("hq_admin")]

    @get("/new")
    async def new_form(self, request: Request) -> Response:
        return await organisation_form(request, form={
            "parent_id": request.query_params.get("parent", "")})

    @post("/new")
    async def create(self, request: Request) -> Response:
        actor = current_actor(request)
        return await act(request, OrganisationIn,
                         lambda data: network.create_organisation(actor=actor, **asdict(data)),
                         page=functools.partial(organisation_form, request),
                         respond=lambda org_id, data: done(
                             request, "Organisation %(name)s created.", f"/network/{org_id}",
                             name=data.name))

    @get("/{org_id:int}/edit")
    async def edit_form(self, request: Request, org_id: FromPath[int]) -> Response:
        org = await network.get_organisation(actor=current_actor(request), org_id=org_id)
        form = {"name": org["name"], "name_en": org["name_en"],
                "region_id": str(org["region_id"] or ""), "active": org["active"]}
        return await organisation_form(request, org=org, form=form)

    @post("/{org_id:int}/edit")
    async def update(self, request: Request, org_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        org = await network.get_organisation(actor=actor, org_id=org_id)
        return await act(request, OrganisationEditIn,
                         lambda data: network.update_organisation(actor=actor, org_id=org_id,
                                                                  **asdict(data)),
                         page=functools.partial(organisation_form, request, org=org),
                         respond=lambda _, data: done(request, "Organisation %(name)s saved.",
                                                      f"/network/{org_id}", name=data.name))


async def organisation_form(request: Request, *, org: dict | None = None, status_code: int = 200,
                            form: dict | None = None, errors: dict | None = None) -> Response:
    return render(request, "admin/organisation_form.html", status_code=status_code, org=org,
                  regions=await network.list_regions(), form=form or {}, errors=errors or {})

