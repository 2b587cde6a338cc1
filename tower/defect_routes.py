"""Defect analytics pages and API twins: returns by reason x product x date-code month x
region, the Pareto of reasons, rejection reasons, returns per 1,000 units sold (filters, CSV/XLSX
export); and HQ's reason codes (add, rename, deactivate)."""
from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody

from portal import clock, listing
from portal.actions import act
from portal.api import api_token_required
from portal.errors import Forbidden, ValidationFailed
from portal.i18n import gettext, local_name
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor, login_required, render
from tower import defects, rules
from tower.inputs import ReasonCodeEditIn, ReasonCodeIn
from tower.routes import _guard

COLUMN_LABELS = {"reason": "Reason", "code": "Code", "product": "Product",
                 "date_code": "Date code", "region": "Region", "units": "Units",
                 "lines": "Lines"}
_C = COLUMN_LABELS


def _name(row: dict, base: str) -> str:
    return local_name(row, base)


EXPORT_COLUMNS = [
    listing.Column(_C["code"], lambda r: r["reason_code"] or ""),
    listing.Column(_C["reason"], lambda r: _name(r, "reason")),
    listing.Column(_C["product"], lambda r: r["model"]),
    listing.Column(_C["date_code"], lambda r: r["date_code_month"].strftime("%Y-%m")
                   if r["date_code_month"] else ""),
    listing.Column(_C["region"], lambda r: _name(r, "region")),
    listing.Column(_C["units"], lambda r: r["units"], "int"),
    listing.Column(_C["lines"], lambda r: r["lines"], "int"),
]


def defect_filter(query: Mapping[str, str]) -> tuple[defects.DefectFilter, dict, dict]:
    """From the query string: months of receipt `from`/`to` (YYYY-MM; the last 12 months by
    default), `region`, `product`, `reason` (ids)."""
    errors: dict[str, str] = {}
    raw = {k: (query.get(k) or "").strip() for k in ("from", "to", "region", "product", "reason")}
    today = clock.china_today()
    first = listing.month_param(query, "from", errors) or rules.add_months(today.replace(day=1), -11)
    last = listing.month_param(query, "to", errors) or today.replace(day=1)
    listing.check_order(errors, first, last, "to")
    f = defects.DefectFilter(first=first, last=last,
                             region=listing.int_param(query, "region", errors),
                             product=listing.int_param(query, "product", errors),
                             reason=listing.int_param(query, "reason", errors))
    raw["from"], raw["to"] = first.strftime("%Y-%m"), last.strftime("%Y-%m")
    return f, raw, errors


async def _data(request: Request) -> tuple[defects.DefectFilter, dict, dict, dict]:
    actor = current_actor(request)
    _guard(actor)
    f, raw, errors = defect_filter(request.query_params)
    if errors:
        return f, raw, errors, {}
    data = {"rows": await defects.breakdown(actor=actor, f=f, limit=201),
            "pareto": await defects.pareto(actor=actor, f=f),
            "rejections": await defects.rejections(actor=actor, f=f),
            "sold": await defects.per_thousand_sold(actor=actor, f=f)}
    for row in data["sold"]:
        row["per_thousand"] = defects.per_thousand(row["returned"], row["sold"])
    return f, raw, errors, data


def _bp(value: int) -> str:
    return f"{value / 100:.1f} %"


class DefectController(Controller):
    path = "/tower/defects"
    guards = [login_required]

    @get("/")
    async def defects_page(self, request: Request) -> Response:
        """Returns by reason, product, date code and region (the first 200 rows; the export
        holds them all), the Pareto of reasons, rejection reasons, returns per 1,000 sold."""
        f, raw, errors, data = await _data(request)
        return render(request, "tower/defects.html", status_code=422 if errors else 200,
                      errors=errors, filters=raw, data=data, bp=_bp,
                      export_query=listing.query_string(raw), name=_name,
                      **await defects.choices())

    @get("/export")
    async def export(self, request: Request) -> Response:
        actor = current_actor(request)
        _guard(actor)
        f, raw, errors = defect_filter(request.query_params)
        kind = listing.choice_param(request.query_params, "format", ("csv", "xlsx"), errors)
        rows = [] if errors else await defects.breakdown(actor=actor, f=f,
                                                         limit=listing.EXPORT_LIMIT + 1)
        if len(rows) > listing.EXPORT_LIMIT:
            errors["export"] = gettext(listing.MESSAGES["too_many"],
                                       n=f"{listing.EXPORT_LIMIT:,}")
        if errors:
            raise ValidationFailed(errors)
        return await listing.export_response(kind or "xlsx", EXPORT_COLUMNS, rows, "defects")


async def codes_page(request: Request, *, status_code: int = 200, errors: dict | None = None,
                     form: dict | None = None) -> Response:
    actor = current_actor(request)
    if not actor.sees_everything:
        raise Forbidden("Only head office sees the reason codes.")
    return render(request, "tower/reason_codes.html", status_code=status_code,
                  errors=errors or {}, form=form or {}, codes=await defects.reason_codes(),
                  kinds=defects.KINDS, kind_labels=defects.KIND_LABELS,
                  may_edit=actor.has("hq_admin"))


class ReasonCodeController(Controller):
    path = "/tower/reason-codes"
    guards = [login_required]

    @get("/")
    async def codes(self, request: Request) -> Response:
        return await codes_page(request)

    @post("/")
    async def add(self, request: Request) -> Response:
        """The HQ administrator adds a defect or rejection reason."""
        actor = current_actor(request)
        return await act(request, ReasonCodeIn,
                         lambda data: defects.add_reason_code(actor=actor, data=data),
                         page=functools.partial(codes_page, request),
                         success="Reason code added.", location="/tower/reason-codes")

    @post("/{reason_id:int}")
    async def edit(self, request: Request, reason_id: FromPath[int]) -> Response:
        """Rename a reason code, or (de)activate it."""
        actor = current_actor(request)
        return await act(request, ReasonCodeEditIn,
                         lambda data: defects.edit_reason_code(actor=actor, reason_id=reason_id,
                                                               data=data),
                         page=functools.partial(codes_page, request),
                         success="Reason code saved.", location="/tower/reason-codes")


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


class DefectApi(Controller):
    path = "/api/v1/tower"
    guards = [api_token_required]
    tags = ["control tower"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/defects")
    async def defects_json(self, request: Request) -> dict:
        """As the page: `from`/`to` months of receipt (YYYY-MM), `region`, `product`, `reason`."""
        f, _, errors, data = await _data(request)
        if errors:
            raise ValidationFailed(errors)
        keep = ("reason_id", "reason_code", "product_id", "model", "region_id", "units", "lines")
        return {"from": f.first.isoformat(), "to": f.last.isoformat(),
                "rows": [dict({k: r[k] for k in keep},
                              date_code_month=_iso(r["date_code_month"])) for r in data["rows"]],
                "pareto": [{k: r[k] for k in ("reason_id", "reason_code", "units", "share_bp",
                                              "cumulative_bp")} for r in data["pareto"]],
                "rejections": [{k: r[k] for k in ("reason_id", "reason_code", "units",
                                                  "share_bp")} for r in data["rejections"]],
                "per_thousand_sold": data["sold"]}

    @get("/reason-codes")
    async def codes(self, request: Request) -> list[dict]:
        if not current_actor(request).sees_everything:
                raise Forbidden("Only head office sees the reason codes.")
        return await defects.reason_codes()

    @post("/reason-codes", status_code=201)
    async def add(self, request: Request, data: JSONBody[ReasonCodeIn]) -> dict:
        return {"id": await defects.add_reason_code(actor=current_actor(request), data=data)}

    @post("/reason-codes/{reason_id:int}")
    async def edit(self, request: Request, reason_id: FromPath[int],
                   data: JSONBody[ReasonCodeEditIn]) -> dict:
        await defects.edit_reason_code(actor=current_actor(request), reason_id=reason_id,
                                       data=data)
        return {"id": reason_id}
