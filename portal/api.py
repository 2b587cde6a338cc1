"""JSON API /api/v1 (token auth): me, network, catalogue. Same services, same rules, same
messages as the pages. Responses are dataclasses so the OpenAPI schema describes them."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath, FromQuery, JSONBody

from portal import catalog, network
from portal.inputs import OrganisationIn, WarrantyIn
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor


async def api_token_required(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """API guard: a bearer token (cookies are not accepted here, so no CSRF is needed)."""
    actor = connection.scope.get("state", {}).get("actor")
    if actor is None:
        raise NotAuthorizedException("A valid API token is required.")
    if actor.read_only and connection.scope.get("method") not in ("GET", "HEAD", "OPTIONS"):
        raise PermissionDeniedException("Your role may read but not change anything.")


@dataclass
class Me:
    id: int
    username: str
    display_name: str
    organisation_id: int
    organisation_kind: str
    roles: list[str]
    locale: str


@dataclass
class OrganisationOut:
    id: int
    name: str
    name_en: str
    kind: str
    parent_id: int | None
    region_code: str | None
    active: bool


@dataclass
class CategoryOut:
    id: int
    code: str
    name_zh: str
    name_en: str
    warranty_months: int
    is_cfl: bool


@dataclass
class ProductOut:
    id: int
    model: str
    spec: str
    name_zh: str
    name_en: str
    category_code: str
    warranty_months: int


@dataclass
class SparePartOut:
    id: int
    code: str
    name_zh: str
    name_en: str
    unit_price_fen: int


def _org(row: dict) -> OrganisationOut:
    return OrganisationOut(id=row["id"], name=row["name"], name_en=row["name_en"],
                           kind=row["kind"], parent_id=row["parent"],
                           region_code=row["region_code"], active=row["active"])


class PortalApi(Controller):
    path = "/api/v1"
    guards = [api_token_required]
    tags = ["portal"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/me")
    async def me(self, request: Request) -> Me:
        a = current_actor(request)
        return Me(id=a.user_id, username=a.username, display_name=a.display_name,
                  organisation_id=a.organisation_id, organisation_kind=a.organisation_kind,
                  roles=sorted(a.roles), locale=a.locale)

    @get("/organisations")
    async def organisations(self, request: Request, kind: FromQuery[str | None] = None,
                            after: FromQuery[int | None] = None) -> list[OrganisationOut]:
        rows = await network.list_organisations(actor=current_actor(request), kind=kind,
                                                after_id=after)
        return [_org(r) for r in rows]

    @get("/organisations/{org_id:int}")
    async def organisation(self, request: Request, org_id: FromPath[int]) -> OrganisationOut:
        return _org(await network.get_organisation(actor=current_actor(request), org_id=org_id))

    @post("/organisations", status_code=201)
    async def create_organisation(self, request: Request, data: JSONBody[OrganisationIn]) -> OrganisationOut:
        actor = current_actor(request)
        org_id = await network.create_organisation(actor=actor, **asdict(data))
        return _org(await network.get_organisation(actor=actor, org_id=org_id))

    @get("/catalog/categories")
    async def categories(self) -> list[CategoryOut]:
        return [CategoryOut(**{k: r[k] for k in CategoryOut.__dataclass_fields__})
                for r in await catalog.list_categories()]

    @post("/catalog/categories/{category_id:int}/warranty", status_code=200)
    async def set_warranty(self, request: Request, category_id: FromPath[int], data: JSONBody[WarrantyIn]) -> dict:
        await catalog.set_warranty(actor=current_actor(request), category_id=category_id,
                                   warranty_months=data.warranty_months, reason=data.reason)
        return {"ok": True}

    @get("/catalog/products")
    async def products(self, after: FromQuery[int | None] = None) -> list[ProductOut]:
        return [ProductOut(**{k: r[k] for k in ProductOut.__dataclass_fields__})
                for r in await catalog.list_products(after_id=after)]

    @get("/catalog/spare-parts")
    async def spare_parts(self) -> list[SparePartOut]:
        return [SparePartOut(**{k: r[k] for k in SparePartOut.__dataclass_fields__})
                for r in await catalog.list_spare_parts()]
