"""The public repair-point locator (R38) and the page where a point's public entry is kept.

Public by design (on tests/portal/test_guards.py's allowlist): /find-repair (choose a province
and city, or share a location), its JSON twin /find-repair/points.json and the printable poster
/find-repair/poster. They carry no session-dependent content (the layout is rendered without the
navigation), so they may be cached: `Cache-Control: public, max-age=300`. Lookups are counted
per client IP (oversight/locator.py); past the limit the answer is 429."""
from __future__ import annotations

import functools
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody

from dealers.registration_form import qr_svg
from oversight import locator
from oversight.inputs import PublishPointIn
from portal import i18n
from portal.actions import act
from portal.api import api_token_required
from portal.proxies import client_ip
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor, login_required, public, render

CACHE = {"Cache-Control": "public, max-age=300", "Vary": "Accept-Language, Cookie"}
THROTTLED = "Too many look-ups from your connection. Please wait a while and try again."


def _query(request: Request) -> tuple[str | None, str | None, float | None, float | None]:
    params = request.query_params
    province = (params.get("province") or "").strip()[:16] or None
    city = (params.get("city") or "").strip()[:60] or None
    lat = lng = None
    try:
        lat = float(params.get("lat") or "nan")
        lng = float(params.get("lng") or "nan")
    except ValueError:
        lat = lng = None
    if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180):
        lat = lng = None
    return province, city, lat, lng


async def _lookup(request: Request) -> tuple[list[dict] | None, dict]:
    """(the public entries, or None when throttled; the query as given)."""
    province, city, lat, lng = _query(request)
    asked = {"province": province or "", "city": city or "", "near": lat is not None}
    if province is None and lat is None:
        return [], asked
    if not await locator.admit_lookup(client_ip(request)):
        return None, asked
    rows = await locator.search(province=province, city=city, latitude=lat, longitude=lng)
    locale = i18n.current_locale.get()
    return [locator.public_entry(row, locale) for row in rows], asked


def _page(request: Request, template: str, status_code: int = 200, **context) -> Response:
    return render(request, template, status_code=status_code, actor=None,
                  headers=CACHE if status_code == 200 else None, **context)


class LocatorController(Controller):
    """R38: public, no account."""

    path = "/find-repair"
    guards = [public]

    @get("/")
    async def find(self, request: Request) -> Response:
        points, asked = await _lookup(request)
        return _page(request, "oversight/find.html", status_code=429 if points is None else 200,
                     points=points or [], asked=asked, throttled=points is None,
                     provinces=await locator.provinces())

    @get("/points.json")
    async def points_json(self, request: Request) -> Response:
        points, _ = await _lookup(request)
        if points is None:
            return Response(content={"error": i18n.gettext(THROTTLED)}, status_code=429)
        return Response(content={"points": points}, headers=CACHE)

    @get("/poster")
    async def poster(self, request: Request) -> Response:
        """A printable poster for a store: the points of a province (and city) and a QR code to
        the locator page for them."""
        points, asked = await _lookup(request)
        base = str(request.base_url).rstrip("/")
        settings = request.app.state.settings
        if settings.base_url_configured:
            base = settings.base_url.rstrip("/")
        query = {k: v for k, v in (("province", asked["province"]), ("city", asked["city"])) if v}
        url = f"{base}/find-repair" + (f"?{urlencode(query)}" if query else "")
        return _page(request, "oversight/poster.html", status_code=429 if points is None else 200,
                     points=points or [], asked=asked, url=url, qr=qr_svg(url),
                     provinces=await locator.provinces())


# --- keeping a point's public entry -----------------------------------------------------------

async def entry_page(request: Request, point_id: int, *, status_code: int = 200,
                     errors: dict | None = None, form: dict | None = None) -> Response:
    actor = current_actor(request)
    point = await locator.point_for(actor, point_id)
    shown = form or {k: ("" if point[k] is None else str(point[k])) for k in (
        "city", "city_en", "address", "address_en", "hours", "phone", "latitude", "longitude")}
    return render(request, "oversight/public_entry.html", status_code=status_code, point=point,
                  may_publish=locator.may_publish(actor, point), errors=errors or {},
                  form=shown)


class PublicEntryController(Controller):
    path = "/repair-points"
    guards = [login_required]

    @get("/{point_id:int}/public-entry")
    async def entry(self, request: Request, point_id: FromPath[int]) -> Response:
        """R38: what the locator shows of this point, and whether it is shown now."""
        return await entry_page(request, point_id)

    @post("/{point_id:int}/public-entry")
    async def set_entry(self, request: Request, point_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        await locator.point_for(actor, point_id)  # 404 before anything
        return await act(request, PublishPointIn,
                         lambda data: locator.publish(actor=actor, point_id=point_id, data=data),
                         page=functools.partial(entry_page, request, point_id),
                         success="Public entry saved.",
                         location=f"/repair-points/{point_id}/public-entry")


class PublicEntryApi(Controller):
    path = "/api/v1/repair-points"
    guards = [api_token_required]
    tags = ["repair points"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/{point_id:int}/public-entry")
    async def entry(self, request: Request, point_id: FromPath[int]) -> dict:
        return await _entry_out(request, point_id)

    @post("/{point_id:int}/public-entry", status_code=200)
    async def set_entry(self, request: Request, point_id: FromPath[int],
                        data: JSONBody[PublishPointIn]) -> dict:
        await locator.publish(actor=current_actor(request), point_id=point_id, data=data)
        return await _entry_out(request, point_id)


async def _entry_out(request: Request, point_id: int) -> dict:
    point = await locator.point_for(current_actor(request), point_id)
    return {k: point[k] for k in ("id", "city", "city_en", "address", "address_en", "hours",
                                  "phone", "latitude", "longitude", "published")}

