"""Rejected goods and scrap lots (R13; seed 004 §5.2.6): the pages and their API twins. Handlers
parse, call goods/rejected.py, render."""
from __future__ import annotations

import functools
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody

from goods import rejected, rules
from goods.inputs import CategoryFlagIn, RejectedChoiceIn, RejectedSentIn, ScrapLotIn
from portal import attachments, audit, clock
from portal.actions import act
from portal.api import api_token_required
from portal.errors import Forbidden, ValidationFailed
from portal.i18n import gettext
from portal.settings import ATTACHMENTS
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor, login_required, render

BODY_LIMIT = ATTACHMENTS.max_bytes + 64 * 1024
DONE_LABELS = {
    "choose": "Your choice for the rejected goods of %(number)s is recorded; head office has "
              "been told.",
    "send": "Rejected goods of %(number)s sent back; the office has been told.",
    "lot": "Scrap lot recorded with its certificate.",
    "flag": "Category updated.",
}
SCRAP_ACTION_LABELS = {"to_return": "to be sent back", "to_scrap": "to be scrapped",
                       "returned": "sent back", "scrapped": "scrap lot recorded",
                       "mercury_flag": "mercury flag changed"}
LABELS: dict[str, Any] = dict(status_labels=rejected.REJECTED_STATUS_LABELS,
                              choice_labels=rejected.CHOICE_LABELS,
                              action_labels=SCRAP_ACTION_LABELS)


def _reasons(actions: dict) -> dict[str, str | None]:
    return {name: gettext(r.message, **r.kwargs) if r else None for name, r in actions.items()}


async def rejected_page(request: Request, batch_id: int, *, status_code: int = 200,
                        errors: dict | None = None, form: dict | None = None) -> Response:
    actor = current_actor(request)
    row = await rejected.batch_rejected(actor=actor, batch_id=batch_id)
    history = await audit.history(actor=actor, object_type="goods_rejected", object_id=batch_id,
                                  organisation_path=row["org_path"])
    return render(request, "goods/rejected.html", status_code=status_code, b=row,
                  actions=_reasons(rejected.rejected_actions(actor, row)), errors=errors or {},
                  form=form or {"sent_on": clock.china_today().isoformat()}, history=history,
                  choices=rules.CHOICES, **LABELS)


def _require_hq(request: Request) -> None:
    actor = current_actor(request)
    if not rejected.is_hq(actor, "hq_logistics", "hq_cs", "hq_admin", "auditor"):
        raise Forbidden("Only head office reads scrap lots.")


async def lots_page(request: Request, *, status_code: int = 200, errors: dict | None = None,
                    form: dict | None = None) -> Response:
    _require_hq(request)
    actor = current_actor(request)
    return render(request, "goods/scrap_lots.html", status_code=status_code,
                  categories=await rejected.waiting_by_category(), lots=await rejected.list_lots(),
                  may_scrap=rejected.is_hq(actor, "hq_logistics"),
                  may_flag=rejected.is_hq(actor, "hq_logistics", "hq_admin"),
                  errors=errors or {}, form=form or {"scrapped_on": clock.china_today().isoformat()})


class RejectedController(Controller):
    path = "/goods"
    guards = [login_required]

    @get("/batches/{batch_id:int}/rejected")
    async def rejected_goods(self, request: Request, batch_id: FromPath[int]) -> Response:
        return await rejected_page(request, batch_id)

    @post("/batches/{batch_id:int}/rejected/choose")
    async def choose(self, request: Request, batch_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        row = await rejected.batch_rejected(actor=actor, batch_id=batch_id)
        return await act(request, RejectedChoiceIn,
                         lambda data: rejected.choose(actor=actor, batch_id=batch_id, data=data),
                         page=functools.partial(rejected_page, request, batch_id),
                         success=DONE_LABELS["choose"],
                         location=f"/goods/batches/{batch_id}/rejected", number=row["number"])

    @post("/batches/{batch_id:int}/rejected/send")
    async def send(self, request: Request, batch_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        row = await rejected.batch_rejected(actor=actor, batch_id=batch_id)
        return await act(request, RejectedSentIn,
                         lambda data: rejected.send_back(actor=actor, batch_id=batch_id, data=data),
                         page=functools.partial(rejected_page, request, batch_id),
                         success=DONE_LABELS["send"],
                         location=f"/goods/batches/{batch_id}/rejected", number=row["number"])

    @get("/scrap-lots")
    async def lots(self, request: Request) -> Response:
        return await lots_page(request)

    @post("/scrap-lots", request_max_body_size=BODY_LIMIT)
    async def record_lot(self, request: Request) -> Response:
        """A lot with its certificate document (a photo or PDF, required here)."""
        actor = current_actor(request)
        form = await request.form()
        upload = form.get("certificate")
        certificate = (upload.filename or "certificate", await upload.read()) \
            if upload is not None and hasattr(upload, "read") and upload.filename else None

        async def run(data: ScrapLotIn) -> int:
            if certificate is None or not certificate[1]:
                raise ValidationFailed({"certificate": "Attach the recycler's certificate (a "
                                                       "photo or PDF)."})
            return await rejected.record_scrap_lot(actor=actor, data=data,
                                                   certificate=certificate)

        return await act(request, ScrapLotIn, run, page=functools.partial(lots_page, request),
                         success=DONE_LABELS["lot"], location="/goods/scrap-lots")

    @get("/scrap-lots/{lot_id:int}")
    async def lot(self, request: Request, lot_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        lot = await rejected.get_lot(actor=actor, lot_id=lot_id)
        return render(request, "goods/scrap_lot.html", lot=lot,
                      files=await attachments.list_for(rejected.SUBJECT, lot_id),
                      subject=rejected.SUBJECT, subject_id=lot_id,
                      can_attach=rejected.is_hq(actor, "hq_logistics"))

    @post("/categories/flag")
    async def flag(self, request: Request) -> Response:
        actor = current_actor(request)
        return await act(request, CategoryFlagIn,
                         lambda data: rejected.set_category_flag(actor=actor, data=data),
                         page=functools.partial(lots_page, request), success=DONE_LABELS["flag"],
                         location="/goods/scrap-lots")


async def _rejected_out(actor, batch_id: int) -> dict:
    row = await rejected.batch_rejected(actor=actor, batch_id=batch_id)
    return {k: row[k] for k in ("id", "number", "rejected", "choice_status", "freight_fen",
                                "carrier", "waybill", "sent_on")}


class RejectedApi(Controller):
    path = "/api/v1/goods"
    guards = [api_token_required]
    tags = ["goods"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/batches/{batch_id:int}/rejected")
    async def rejected_goods(self, request: Request, batch_id: FromPath[int]) -> dict:
        return await _rejected_out(current_actor(request), batch_id)

    @post("/batches/{batch_id:int}/rejected/choose", status_code=200)
    async def choose(self, request: Request, batch_id: FromPath[int],
                     data: JSONBody[RejectedChoiceIn]) -> dict:
        """`choice` return|scrap, once per decided batch with rejected goods."""
        actor = current_actor(request)
        await rejected.choose(actor=actor, batch_id=batch_id, data=data)
        return await _rejected_out(actor, batch_id)

    @post("/batches/{batch_id:int}/rejected/send", status_code=200)
    async def send(self, request: Request, batch_id: FromPath[int],
                   data: JSONBody[RejectedSentIn]) -> dict:
        actor = current_actor(request)
        await rejected.send_back(actor=actor, batch_id=batch_id, data=data)
        return await _rejected_out(actor, batch_id)

    @post("/scrap-lots", status_code=201)
    async def record_lot(self, request: Request, data: JSONBody[ScrapLotIn]) -> dict:
        """A lot of everything of the category waiting to be scrapped. Attach the certificate
        document with POST /api/v1/attachments/goods.scrap_lot/{id}."""
        lot_id = await rejected.record_scrap_lot(actor=current_actor(request), data=data)
        return {"id": lot_id,
                "attach_certificate": f"/api/v1/attachments/{rejected.SUBJECT}/{lot_id}"}

    @get("/scrap-lots/{lot_id:int}")
    async def lot(self, request: Request, lot_id: FromPath[int]) -> dict:
        lot = await rejected.get_lot(actor=current_actor(request), lot_id=lot_id)
        return {k: lot[k] for k in ("id", "number", "category", "quantity", "contains_mercury",
                                    "recycler", "certificate_no", "scrapped_on", "items")}

    @post("/categories/flag", status_code=200)
    async def flag(self, request: Request, data: JSONBody[CategoryFlagIn]) -> dict:
        await rejected.set_category_flag(actor=current_actor(request), data=data)
        return {"category_id": data.category_id, "contains_mercury": data.contains_mercury}
