"""What the batch list shows: its search from the query string, its export's columns, and the
page (or, for htmx, its rows) — shared by the list, its export and the API twin's search."""
from __future__ import annotations

from litestar import Request, Response

from dealers import queries
from portal import listing
from portal.i18n import gettext, local_name
from portal.web import render


def batch_filters(query) -> tuple[dict, dict, dict]:
    """The list's filters from the query string: (arguments for queries.list_batches, the raw
    values to show in the form and carry in links, errors by field). `month` and `org` (an
    organisation's number) are the links home pages build; people type the others."""
    errors: dict[str, str] = {}
    raw = {k: (query.get(k) or "").strip() for k in (
        "queue", "status", "month", "month_from", "month_to", "submitted_from", "submitted_to",
        "number", "org_name", "org", "product")}
    raw["queue"] = raw["queue"] if raw["queue"] in queries.LIST_QUEUES else ""
    month_from = listing.month_param(query, "month_from", errors)
    month_to = listing.month_param(query, "month_to", errors)
    listing.check_order(errors, month_from, month_to, "month_to")
    day_from = listing.date_param(query, "submitted_from", errors)
    day_to = listing.date_param(query, "submitted_to", errors)
    listing.check_order(errors, day_from, day_to, "submitted_to")
    submitted_from, submitted_to = listing.china_day_range(day_from, day_to)
    month = listing.month_param(query, "month", errors)
    if month and not (month_from or month_to):  # a home page's link: shown as a range of one
        month_from = month_to = month
        raw["month_from"] = raw["month_to"] = month.strftime("%Y-%m")
    raw["month"] = ""
    filters = dict(
        queue=raw["queue"] or None,
        status=listing.choice_param(query, "status", queries.STATUSES, errors),
        month_from=month_from, month_to=month_to,
        submitted_from=submitted_from, submitted_to=submitted_to,
        number=listing.text_param(query, "number", errors, limit=40) or None,
        org_name=listing.text_param(query, "org_name", errors, limit=120) or None,
        organisation_id=listing.int_param(query, "org", errors),
        product_id=listing.int_param(query, "product", errors))
    return filters, raw, errors


# The export's columns: what the list shows, one row per batch (headers are msgids).
COLUMN_LABELS = {
    "number": "Number", "organisation": "Organisation", "month": "Month", "kind": "Kind",
    "status": "Status", "submitted": "Submitted on", "lines": "Lines", "filed": "Filed",
    "received": "Received", "decided": "Decided on", "breached": "Deadline breached",
}
_H = COLUMN_LABELS
EXPORT_COLUMNS = [
    listing.Column(_H["number"], lambda b: b["number"]),
    listing.Column(_H["organisation"], lambda b: local_name(
        {"name": b["org_name"], "name_en": b["org_name_en"]})),
    listing.Column(_H["month"], lambda b: b["month"].strftime("%Y-%m")),
    listing.Column(_H["kind"], lambda b: gettext("special") if b["kind"] == "special"
                   else gettext("regular")),
    listing.Column(_H["status"], lambda b: gettext(b["status"])),
    listing.Column(_H["submitted"], lambda b: listing.china_date(b["submitted_at"]), "date"),
    listing.Column(_H["lines"], lambda b: b["lines"], "int"),
    listing.Column(_H["filed"], lambda b: b["filed"], "int"),
    listing.Column(_H["received"], lambda b: b["received"], "int"),
    listing.Column(_H["decided"], lambda b: listing.china_date(b["decided_at"]), "date"),
    listing.Column(_H["breached"], lambda b: gettext("yes") if b["breaching"] else ""),
]


def batch_list(request: Request, rows: list[dict], raw: dict, errors: dict, *,
               more: str | None, counts: dict, block: str | None = None) -> Response:
    """The batch list page (or its rows for htmx); 422 with the messages when a filter is bad."""
    return render(request, "dealers/batches.html", block=block,
                  status_code=422 if errors else 200, errors=errors, rows=rows,
                  queue=raw["queue"], counts=counts, filters=raw, statuses=queries.STATUSES,
                  more_url=more, export_query=listing.query_string(raw),
                  all_orgs_query=listing.query_string({**raw, "org": ""}),
                  export_limit=listing.EXPORT_LIMIT, queues=list(queries.QUEUES))
