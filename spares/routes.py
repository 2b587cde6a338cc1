"""Repair point pages: the list of applications with its search and export, proposing a point
and CS's decision (R21), the point's file. The point's actions are routes of the same
controller, one per action, kept by concept: deposit_routes (R22, R28), stock_routes (R19,
R23), oversight_routes (R24, R29)."""
from __future__ import annotations

import functools
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from portal import listing
from portal.actions import act
from portal.i18n import gettext, local_name
from portal.web import current_actor, done, is_htmx, login_required, render, roles_required
from spares import applications, queries, rules
from spares.deposit_routes import DepositPages
from spares.inputs import DecisionIn, ProposalIn, kwargs
from spares.oversight_routes import OversightPages
from spares.point_page import answer, point_page, shown
from spares.stock_routes import StockPages


def point_filters(query) -> tuple[dict, dict, dict]:
    """The list's filters from the query string (issue 9 §5): (arguments for
    queries.list_applications, the raw values to show in the form and carry in links, errors
    by field). `waiting` is what home pages link with; people type the others."""
    errors: dict[str, str] = {}
    raw = {k: (query.get(k) or "").strip() for k in (
        "waiting", "q", "status", "office_name", "proposed_from", "proposed_to", "decided_from",
        "decided_to")}
    raw["waiting"] = raw["waiting"] if raw["waiting"] in queries.WAITING else ""
    ranges = {}
    for name in ("proposed", "decided"):
        start = listing.date_param(query, f"{name}_from", errors)
        end = listing.date_param(query, f"{name}_to", errors)
        listing.check_order(errors, start, end, f"{name}_to")
        ranges[f"{name}_from"], ranges[f"{name}_to"] = listing.china_day_range(start, end)
    filters = dict(
        waiting=raw["waiting"] or None,
        text=listing.text_param(query, "q", errors, limit=120) or None,
        status=listing.choice_param(query, "status", queries.STATUSES, errors),
        office_name=listing.text_param(query, "office_name", errors, limit=120) or None,
        **ranges)
    return filters, raw, errors


# The export's columns: what the list shows, one row per application (headers are msgids).
COLUMN_LABELS = {
    "name": "Name", "address": "Address", "office": "Office", "scale": "Sales scale",
    "fee": "Proposed fee (¥)", "status": "Status", "proposed": "Proposed on",
    "decided": "Decided on", "reason": "Reason",
}
_H = COLUMN_LABELS
EXPORT_COLUMNS = [
    listing.Column(_H["name"], lambda a: local_name(a)),
    listing.Column(_H["address"], lambda a: a["address"]),
    listing.Column(_H["office"], lambda a: local_name(a, "office_name")),
    listing.Column(_H["scale"], lambda a: gettext(a["sales_scale"])),
    listing.Column(_H["fee"], lambda a: a["proposed_fee_fen"], "money"),
    listing.Column(_H["status"], lambda a: gettext(a["state"])),
    listing.Column(_H["proposed"], lambda a: listing.china_date(a["proposed_at"]), "date"),
    listing.Column(_H["decided"], lambda a: listing.china_date(a["decided_at"]), "date"),
    listing.Column(_H["reason"], lambda a: a["decision_reason"]),
]


async def _list_page(request: Request, *, status_code: int = 200, errors: dict | None = None,
                     form: dict | None = None) -> Response:
    """The list with its search (name, office, status, proposal and decision days),
    keyset-paginated; a bad filter answers 422 with the message beside its field."""
    actor = current_actor(request)
    q = request.query_params
    filters, raw, filter_errors = point_filters(q)
    after = listing.int_param(q, "after", filter_errors)
    rows = [] if filter_errors else await queries.list_applications(actor, after_id=after,
                                                                     **filters)
    for row in rows:
        row["actions"] = shown(rules.application_actions(status=row["status"], roles=actor.roles))
    more = None
    if len(rows) == queries.PAGE_SIZE:
        more = "/repair-points?" + listing.query_string(raw, after=rows[-1]["id"])
    errors = {**filter_errors, **(errors or {})}
    context: dict[str, Any] = dict(rows=rows, filters=raw, more_url=more, errors=errors)
    if is_htmx(request) and not errors and q.get("after"):
        return render(request, "spares/repair_points.html", block="rows", **context)
    return render(request, "spares/repair_points.html",
                  status_code=422 if filter_errors else status_code,
                  offices=await queries.offices_in_scope(actor), form=form or {},
                  statuses=queries.STATUSES, export_query=listing.query_string(raw),
                  export_limit=listing.EXPORT_LIMIT, **context)


class RepairPointController(DepositPages, StockPages, OversightPages, Controller):
    path = "/repair-points"
    guards = [login_required]

    @get("/")
    async def list_page(self, request: Request) -> Response:
        return await _list_page(request)

    @get("/export")
    async def export(self, request: Request) -> Response:
        """Every application the list's filter shows (not only the page), as CSV or XLSX in
        the reader's language; at most EXPORT_LIMIT rows, else the list says to narrow it."""
        filters, _, errors = point_filters(request.query_params)
        kind = listing.choice_param(request.query_params, "format", ("csv", "xlsx"), errors)
        rows = [] if errors else await queries.list_applications(
            current_actor(request), limit=listing.EXPORT_LIMIT + 1, **filters)
        if len(rows) > listing.EXPORT_LIMIT:
            errors["export"] = gettext(listing.MESSAGES["too_many"],
                                       n=f"{listing.EXPORT_LIMIT:,}")
        if errors:
            return await _list_page(request, status_code=422, errors=errors)
        return await listing.export_response(kind or "csv", EXPORT_COLUMNS, rows,
                                             "repair-points")

    @post("/")
    async def propose(self, request: Request) -> Response:
        return await act(request, ProposalIn, lambda data: applications.propose_repair_point(
            actor=current_actor(request), **kwargs(data)),
            page=functools.partial(_list_page, request), location="/repair-points",
            success="Repair point proposed; head office customer service has been told.")

    @post("/applications/{application_id:int}/decide", guards=[roles_required("hq_cs")])
    async def decide(self, request: Request, application_id: FromPath[int]) -> Response:
        return await answer(request, DecisionIn,
                            lambda data: _decided(request, application_id, data),
                            page=functools.partial(_list_page, request))

    @get("/{point_id:int}")
    async def file(self, request: Request, point_id: FromPath[int]) -> Response:
        return await point_page(request, point_id)


async def _decided(request: Request, application_id: int, data: DecisionIn) -> Response:
    """An approved point's page (its deposit is set), or the list after a refusal."""
    point = await applications.decide_repair_point(
        actor=current_actor(request), application_id=application_id, approve=data.approve,
        reason=data.reason)
    if point:
        return done(request, "Repair point approved; the proposer has been told and its "
                             "deposit is set.", f"/repair-points/{point}")
    return done(request, "Repair point refused; the proposer has been told why.",
                "/repair-points")
