"""Customer archive pages (R34): the list with its search and export, a customer's file, and its
actions (open a file, record a purchase, the owner's export). The API twins are in
service/archive_api.py; return visits and surveys in service/visit_routes.py."""
from __future__ import annotations

import functools
import json
from typing import Any

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from dealers.queries import list_products
from portal import audit, listing, replica
from portal.actions import act, form_input
from portal.errors import PortalError, ValidationFailed
from portal.forms import read_form
from portal.i18n import gettext, local_name
from portal.web import current_actor, done, is_htmx, login_required, render
from service import archive, archive_queries, archive_rules
from service.inputs import CustomerIn, OwnerExportIn, PurchaseIn


def customer_filters(query) -> tuple[dict, dict, dict]:
    """(arguments for archive.list_customers, raw values for the form and links, errors)."""
    errors: dict[str, str] = {}
    raw = {k: (query.get(k) or "").strip() for k in ("name", "phone", "org")}
    filters = dict(name=listing.text_param(query, "name", errors, limit=80) or None,
                   phone=listing.text_param(query, "phone", errors, limit=20) or None,
                   organisation_id=listing.int_param(query, "org", errors))
    return filters, raw, errors


STATUS_LABELS = {  # complaints (R32) and service calls (R33) as the file lists them
    "recorded": "Recorded", "not_standing": "Does not stand", "assigned": "Assigned",
    "investigated": "Investigated", "proposed": "Resolution proposed",
    "approved": "Resolution approved", "told": "Customer told", "closed": "Closed",
    "open": "Open", "visited": "Visited", "cancelled": "Cancelled",
    "quality": "Product quality", "service": "Service", "suggestion": "Suggestion",
}
COLUMN_LABELS = {
    "name": "Name", "phone": "Phone", "organisation": "Held by", "area": "Area",
    "purchased": "First purchase", "units": "Units bought", "activity": "Last activity",
    "erased": "Erased on",
}
_H = COLUMN_LABELS
EXPORT_COLUMNS = [  # masked as on the page (R34)
    listing.Column(_H["name"], lambda c: c["name"]),
    listing.Column(_H["phone"], lambda c: c["phone"]),
    listing.Column(_H["organisation"], lambda c: local_name(
        {"name": c["org_name"], "name_en": c["org_name_en"]})),
    listing.Column(_H["area"], lambda c: c["area"]),
    listing.Column(_H["purchased"], lambda c: c["purchased_on"], "date"),
    listing.Column(_H["units"], lambda c: c["units"], "int"),
    listing.Column(_H["activity"], lambda c: listing.china_date(c["last_activity_at"]), "date"),
    listing.Column(_H["erased"], lambda c: listing.china_date(c["erased_at"]), "date"),
]


async def list_page(request: Request, *, status_code: int = 200, errors: dict | None = None,
                    form: dict | None = None) -> Response:
    actor = current_actor(request)
    filters, raw, filter_errors = customer_filters(request.query_params)
    after = listing.int_param(request.query_params, "after", filter_errors)
    rows = [] if filter_errors else await archive.list_customers(actor=actor, after_id=after,
                                                                 **filters)
    more = None
    if len(rows) == archive_queries.ARCHIVE_PAGE:
        more = "/customers?" + listing.query_string(raw, after=rows[-1]["id"])
    errors = {**filter_errors, **(errors or {})}
    return render(request, "service/customers.html",
                  block="rows" if is_htmx(request) and not errors and form is None else None,
                  status_code=422 if filter_errors else status_code, errors=errors,
                  form=form or {}, rows=rows, filters=raw, more_url=more,
                  export_query=listing.query_string(raw), export_limit=listing.EXPORT_LIMIT,
                  may_open=not actor.read_only and (actor.organisation_kind != "hq"
                                                    or actor.has("hq_cs")))


async def file_page(request: Request, customer_id: int, *, status_code: int = 200,
                    errors: dict | None = None, form: dict | None = None) -> Response:
    actor = current_actor(request)
    file = await archive.customer_file(actor=actor, customer_id=customer_id)
    customer = file["customer"]
    writer = customer["full"] and not actor.read_only
    return render(request, "service/customer.html", status_code=status_code, **file,
                  errors=errors or {}, form=form or {}, writer=writer,
                  products_list=await list_products() if writer else [],
                  problem_labels=archive_rules.SURVEY_PROBLEM_LABELS, labels=STATUS_LABELS)


class CustomerController(Controller):
    path = "/customers"
    guards = [login_required]

    @get("/")
    @replica.replica_reads
    async def customers(self, request: Request) -> Response:
        """The files in scope, searched by name or phone, masked per reader (R34)."""
        archive.check_archive(current_actor(request))
        return await list_page(request)

    @get("/export")
    @replica.replica_reads
    async def export(self, request: Request) -> Response:
        """Every file the filter shows (not only the page), masked as on the page."""
        actor = current_actor(request)
        filters, raw, errors = customer_filters(request.query_params)
        kind = listing.choice_param(request.query_params, "format", ("csv", "xlsx"), errors)
        rows = [] if errors else await archive.list_customers(
            actor=actor, limit=listing.EXPORT_LIMIT + 1, **filters)
        if len(rows) > listing.EXPORT_LIMIT:
            errors["export"] = gettext(listing.MESSAGES["too_many"],
                                       n=f"{listing.EXPORT_LIMIT:,}")
        if errors:
            return await list_page(request, status_code=422, errors=errors)
        return await listing.export_response(kind or "csv", EXPORT_COLUMNS, rows, "customers")

    @post("/")
    async def open_file(self, request: Request) -> Response:
        """Open a customer's file (or find it by phone) at the reader's organisation."""
        actor = current_actor(request)
        archive.check_archive(actor)
        form = await read_form(request)
        try:
            customer_id = await archive.open_file(actor=actor,
                                                  data=form_input(CustomerIn, form))
        except ValidationFailed as exc:
            return await list_page(request, status_code=422, errors=exc.errors, form=dict(form))
        except PortalError as exc:
            if exc.status_code == 404:
                raise
            return await list_page(request, status_code=exc.status_code, form=dict(form),
                                   errors={"action": gettext(exc.message, **exc.params)})
        return done(request, "Customer file saved.", f"/customers/{customer_id}")

    @get("/{customer_id:int}")
    async def detail(self, request: Request, customer_id: FromPath[int]) -> Response:
        return await file_page(request, customer_id)

    @get("/{customer_id:int}/history")
    async def history(self, request: Request, customer_id: FromPath[int]) -> Response:
        """R20: who opened, added to and exported the file, when and why."""
        actor = current_actor(request)
        customer = await archive.get_customer(actor=actor, customer_id=customer_id)
        entries = await audit.history(actor=actor, object_type="customer",
                                      object_id=customer_id,
                                      organisation_path=customer["org_path"])
        return render(request, "portal/history.html",
                      title=customer["name"] or gettext("Customer file"), entries=entries)

    @post("/{customer_id:int}/purchases")
    async def purchase(self, request: Request, customer_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        await archive.get_customer(actor=actor, customer_id=customer_id)  # 404 first (R1)
        return await act(request, PurchaseIn,
                         lambda data: archive.record_purchase(actor=actor,
                                                              customer_id=customer_id, data=data),
                         page=functools.partial(file_page, request, customer_id),
                         success="Purchase recorded.", location=f"/customers/{customer_id}")

    @post("/{customer_id:int}/owner-export")
    async def owner_export(self, request: Request, customer_id: FromPath[int]) -> Response:
        """R34: the customer's own data on their request, as JSON or XLSX; audited."""
        actor = current_actor(request)
        await archive.get_customer(actor=actor, customer_id=customer_id)  # 404 first (R1)
        return await act(
            request, OwnerExportIn,
            lambda data: archive.export_for_owner(actor=actor, customer_id=customer_id,
                                                  reference=data.reference),
            page=functools.partial(file_page, request, customer_id), error_key="export",
            respond=lambda exported, data: owner_file(exported, data.format, customer_id))


async def owner_file(exported: dict[str, Any], kind: str, customer_id: int) -> Response:
    name = f"customer-{customer_id}"
    if kind == "xlsx":
        content = await anyio.to_thread.run_sync(archive.owner_xlsx, exported)
        return Response(content=content, media_type=listing.XLSX_TYPE, status_code=200, headers={
            "Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    return Response(content=json.dumps(exported, ensure_ascii=False, indent=1),
                    media_type="application/json", status_code=200, headers={
                        "Content-Disposition": f'attachment; filename="{name}.json"'})


def _handlers() -> list:
    from service import archive_api, visit_routes

    return [CustomerController, *visit_routes.HANDLERS, *archive_api.HANDLERS]


HANDLERS: list = _handlers()
