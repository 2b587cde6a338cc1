"""The return registration form (产品返厂登记表): printable A4, zh or en, with a QR code that opens
the batch's receiving page at HQ (R10, R12). It travels with the goods."""
from __future__ import annotations

import segno
from litestar import Controller, Request, Response, get
from litestar.params import FromPath

from dealers import batches, queries
from portal import i18n
from portal.db import raw_fetch
from portal.errors import Conflict
from portal.web import current_actor, login_required, render

PRINTABLE = ("approved", "dispatched", "received", "dispositioned", "closed")


def receiving_url(base_url: str, number: str) -> str:
    return f"{base_url.rstrip('/')}/receiving?number={number}"


def qr_svg(url: str) -> str:
    """An inline SVG (no script, no external image: fits the CSP and prints sharp)."""
    return segno.make(url, error="m").svg_inline(scale=3, title=url)


async def form_data(*, actor, batch_id: int) -> dict:
    batch = await batches.get_batch(actor=actor, batch_id=batch_id)
    if batch["status"] not in PRINTABLE:
        raise Conflict("The registration form exists once customer service has approved the batch.")
    people = {r["id"]: r["display_name"] for r in await raw_fetch(
        "SELECT id, display_name FROM portal_user WHERE id = ANY($1::int[])",
        [i for i in (batch["submitted_by"], batch["signed_by"], batch["approved_by"]) if i])}
    return {"batch": batch, "lines": await queries.list_lines(batch_id), "people": people}


class RegistrationFormController(Controller):
    guards = [login_required]

    @get("/batches/{batch_id:int}/form")
    async def form(self, request: Request, batch_id: FromPath[int]) -> Response:
        data = await form_data(actor=current_actor(request), batch_id=batch_id)
        settings = request.app.state.settings
        # PORTAL_BASE_URL when set; else the address this page was requested on (the one the
        # dock's phones reach too), not a default that may name another port or host
        base = settings.base_url if settings.base_url_configured else str(request.base_url)
        url = receiving_url(base, data["batch"]["number"])
        lang = request.query_params.get("lang")
        token = i18n.current_locale.set(lang) if lang in i18n.LOCALES else None
        try:
            return render(request, "dealers/form.html", qr=qr_svg(url), receiving_url=url,
                          locale=i18n.current_locale.get(), **data)
        finally:
            if token is not None:
                i18n.current_locale.reset(token)
