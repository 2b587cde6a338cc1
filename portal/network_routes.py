"""Network pages: everyone sees their part of the tree; the HQ admin edits it."""
from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from portal import network
from portal.errors import ValidationFailed
from portal.forms import integer, query_int, read_form, text
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
        return render(request, "admin/organisation_form.html", org=None,
                      regions=await network.list_regions(),
                      form={"parent": request.query_params.get("parent", "")})

    @post("/new")
    async def create(self, request: Request) -> Response:
        actor = current_actor(request)
        form = await read_form(request)
        errors: dict[str, str] = {}
        parent_id = integer(form, "parent", errors)
        region_id = integer(form, "region", errors, required=False)
        try:
            if errors:
                raise ValidationFailed(errors)
            org_id = await network.create_organisation(
                actor=actor, name=text(form, "name", 200), name_en=text(form, "name_en", 200),
                kind=text(form, "kind", 20), parent_id=parent_id, region_id=region_id)
        except ValidationFailed as exc:
            return render(request, "admin/organisation_form.html", status_code=422, org=None,
                          regions=await network.list_regions(), form=dict(form), errors=exc.errors)
        return done(request, "Organisation %(name)s created.", f"/network/{org_id}",
                    name=text(form, "name", 200))

    @get("/{org_id:int}/edit")
    async def edit_form(self, request: Request, org_id: FromPath[int]) -> Response:
        org = await network.get_organisation(actor=current_actor(request), org_id=org_id)
        form = {"name": org["name"], "name_en": org["name_en"],
                "region": str(org["region_id"] or ""), "active": org["active"]}
        return render(request, "admin/organisation_form.html", org=org, form=form,
                      regions=await network.list_regions())

    @post("/{org_id:int}/edit")
    async def update(self, request: Request, org_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        org = await network.get_organisation(actor=actor, org_id=org_id)
        form = await read_form(request)
        errors: dict[str, str] = {}
        region_id = integer(form, "region", errors, required=False)
        try:
            if errors:
                raise ValidationFailed(errors)
            await network.update_organisation(
                actor=actor, org_id=org_id, name=text(form, "name", 200),
                name_en=text(form, "name_en", 200), region_id=region_id,
                active=form.get("active") == "on", reason=text(form, "reason"))
        except ValidationFailed as exc:
            return render(request, "admin/organisation_form.html", status_code=422, org=org,
                          regions=await network.list_regions(), form=dict(form), errors=exc.errors)
        return done(request, "Organisation %(name)s saved.", f"/network/{org_id}",
                    name=text(form, "name", 200))
