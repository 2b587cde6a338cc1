"""Navigation per role (issue 9 §2): only the pages the signed-in user can open and use, the
current one marked, and the unread count on the inbox link.

Each entry mirrors the guard of its route (a link to a page the role cannot open is a bug;
tests/portal/test_workbench.py requests every link as every role). The unread count is one
cheap indexed count per full page, read before the handler runs (`count_unread`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict

from litestar import Request

from portal import notify
from portal.actor import Actor
from portal.web import ENV

DEALERS = ("office", "agent")
CUSTOMERS = ("office", "agent", "store", "subdistributor")


def _office_staff(a: Actor) -> bool:
    return a.organisation_kind in DEALERS and a.has("dealer_clerk", "manager")


def _regional(a: Actor) -> bool:
    return a.organisation_kind == "hq" and a.has("manager") and bool(a.covered_paths)


def _repair_staff(a: Actor) -> bool:
    return a.organisation_kind == "repair_point" and a.has("repair_staff")


def _hq(*roles: str) -> Callable[[Actor], bool]:
    return lambda a: a.organisation_kind == "hq" and a.has(*roles)


@dataclass(frozen=True)
class Link:
    key: str
    href: str  # "{own}" is the user's organisation id
    label: str  # English msgid, translated in base.html
    shown: Callable[[Actor], bool]


NAV_LABELS = {  # the catalog collects *_LABELS: each label is translated
    "home": "Home", "batches": "Return batches", "receiving": "Receiving",
    "checklists": "Inspection checklists",  # R18, issue 12: dealers/checklist_routes.py
    "special": "Special approvals", "points": "Repair points",
    "office_exchanges": "Exchanges and spare stock", "my_point": "My repair point",
    "my_exchanges": "Exchanges and stock", "my_fees": "Repair fees", "statements": "Statements",
    "adjustments": "Adjustments", "volumes": "Purchase volumes",
    "payout_accounts": "Payout accounts", "rebates": "Rebate policies",
    "credit_prices": "Credit prices", "network": "Network", "calendar": "Return calendar",
    "catalog": "Catalogue", "users": "Users", "templates": "First-stock templates",
    "inbox": "Inbox", "tokens": "API tokens", "menu": "Menu",
    # customer service (SPEC §8): each part adds its labels below its own line
    # complaints:
    "complaints": "Complaints",
    # service calls:
    "service_calls": "Service calls",
    # customers, return visits, surveys:
    "customers": "Customers", "return_visits": "Return visits", "surveys": "Surveys",
    # goods after the decision (R13, R16, R18):
    "replacements": "Replacement goods", "goods_stock": "HQ stock for replacements",
    "scrap_lots": "Scrap lots", "supplier_claims": "Supplier claims",
    # control tower (R35):
    "tower": "Service dashboard",
    # oversight of the network (R30):
    "audits": "Audits of offices",
}
NAV = [
    Link("home", "/", NAV_LABELS["home"], lambda a: True),
    Link("my_point", "/repair-points/{own}", NAV_LABELS["my_point"], _repair_staff),
    Link("my_exchanges", "/repair-points/exchanges", NAV_LABELS["my_exchanges"], _repair_staff),
    Link("my_fees", "/settlements/repair-points/{own}/fees", NAV_LABELS["my_fees"], _repair_staff),
    Link("batches", "/batches", NAV_LABELS["batches"],
         lambda a: _office_staff(a) or _regional(a)
         or _hq("hq_cs", "hq_logistics", "hq_tech", "auditor")(a)),
    Link("receiving", "/receiving", NAV_LABELS["receiving"], _hq("hq_logistics")),
    Link("checklists", "/checklists", NAV_LABELS["checklists"], _hq("hq_admin", "hq_logistics")),
    Link("special", "/special-approvals", NAV_LABELS["special"],
         lambda a: _office_staff(a) or _regional(a) or _hq("hq_cs", "auditor")(a)),
    Link("office_exchanges", "/repair-points/exchanges", NAV_LABELS["office_exchanges"],
         _office_staff),
    Link("points", "/repair-points", NAV_LABELS["points"],
         lambda a: _office_staff(a) or _regional(a)
         or _hq("hq_cs", "hq_logistics", "hq_finance", "auditor")(a)),
    Link("statements", "/statements", NAV_LABELS["statements"],
         lambda a: (a.organisation_kind in CUSTOMERS and a.has("dealer_clerk", "manager"))
         or _regional(a) or _hq("hq_cs", "hq_finance", "auditor")(a)),
    Link("adjustments", "/settlements/adjustments", NAV_LABELS["adjustments"],
         _hq("hq_finance", "auditor")),
    Link("volumes", "/settlements/volumes", NAV_LABELS["volumes"], _hq("hq_finance", "auditor")),
    Link("payout_accounts", "/settlements/payout-accounts", NAV_LABELS["payout_accounts"],
         _hq("hq_finance", "auditor")),
    Link("rebates", "/settlements/rebate-policies", NAV_LABELS["rebates"],
         _hq("hq_admin", "hq_finance")),
    Link("credit_prices", "/settlements/credit-prices", NAV_LABELS["credit_prices"],
         _hq("hq_admin")),
    # --- customer service: complaints (R32) ---
    Link("complaints", "/complaints", NAV_LABELS["complaints"],
         lambda a: _office_staff(a) or _repair_staff(a)
         or (a.organisation_kind == "store" and a.has("dealer_clerk", "manager"))
         or _hq("hq_cs", "vice_president", "hq_tech", "hq_logistics", "auditor")(a)),
    # --- customer service: service calls (R33) ---
    Link("service_calls", "/service-calls", NAV_LABELS["service_calls"],
         lambda a: _repair_staff(a) or _office_staff(a) or _regional(a)
         or _hq("hq_cs", "auditor")(a)),
    # --- customer service: customers, return visits, surveys (R34) ---
    Link("customers", "/customers", NAV_LABELS["customers"],
         lambda a: a.organisation_kind in (*CUSTOMERS, "repair_point") or _regional(a)
         or _hq("hq_cs", "auditor")(a)),
    Link("return_visits", "/return-visits", NAV_LABELS["return_visits"],
         lambda a: (a.organisation_kind in DEALERS and a.has("manager"))
         or _hq("hq_cs", "auditor")(a)),
    Link("surveys", "/surveys", NAV_LABELS["surveys"],
         lambda a: (a.organisation_kind in DEALERS and a.has("manager"))
         or _hq("hq_cs", "auditor")(a)),
    # --- control tower: the service dashboard (R35) ---
    Link("tower", "/tower", NAV_LABELS["tower"],
         lambda a: _hq("hq_cs", "hq_logistics", "hq_tech", "hq_finance", "hq_admin", "auditor",
                       "vice_president")(a) or _regional(a)
         or (a.organisation_kind in DEALERS and a.has("manager", "dealer_clerk"))
         or _repair_staff(a)),
    # --- oversight: audits of offices (R30) ---
    Link("audits", "/audits", NAV_LABELS["audits"],
         lambda a: _office_staff(a) or _regional(a)
         or _hq("hq_cs", "hq_finance", "vice_president", "auditor")(a)),
    # --- goods after the decision: replacements (R13) ---
    Link("replacements", "/goods/replacements", NAV_LABELS["replacements"],
         lambda a: _office_staff(a) or _regional(a)
         or _hq("hq_cs", "hq_logistics", "auditor")(a)),
    Link("goods_stock", "/goods/stock", NAV_LABELS["goods_stock"], _hq("hq_logistics")),
    Link("scrap_lots", "/goods/scrap-lots", NAV_LABELS["scrap_lots"],
         _hq("hq_logistics", "hq_cs", "hq_admin", "auditor")),
    Link("supplier_claims", "/goods/suppliers", NAV_LABELS["supplier_claims"],
         _hq("hq_cs", "hq_tech", "hq_finance", "hq_admin", "auditor")),
    Link("network", "/network", NAV_LABELS["network"],
         lambda a: a.organisation_kind != "repair_point"),
    Link("calendar", "/calendar", NAV_LABELS["calendar"],
         lambda a: _office_staff(a) or _regional(a)
         or _hq("hq_admin", "hq_cs", "hq_logistics", "auditor")(a)),
    Link("catalog", "/catalog", NAV_LABELS["catalog"], lambda a: True),
    Link("users", "/admin/users", NAV_LABELS["users"], _hq("hq_admin")),
    Link("templates", "/admin/stock-templates", NAV_LABELS["templates"], _hq("hq_admin")),
    Link("inbox", "/inbox", NAV_LABELS["inbox"], lambda a: True),
    Link("tokens", "/tokens", NAV_LABELS["tokens"], lambda a: True),
]


class NavEntry(TypedDict):
    key: str
    href: str
    label: str
    current: bool


def nav_links(actor: Actor | None, path: str) -> list[NavEntry]:
    """The links `actor` sees, each {key, href, label, current}; the current one is the
    longest link that is the page's path or a folder above it."""
    if actor is None:
        return []
    links: list[NavEntry] = [
        {"key": link.key, "href": link.href.replace("{own}", str(actor.organisation_id)),
         "label": link.label, "current": False} for link in NAV if link.shown(actor)]
    matches = [link for link in links if path == link["href"]
               or (link["href"] != "/" and path.startswith(link["href"] + "/"))]
    if matches:
        max(matches, key=lambda link: len(link["href"]))["current"] = True
    return links


ENV.globals.update(nav_links=nav_links)

_SKIP = ("/api/", "/static/", "/webhooks/")


async def count_unread(request: Request) -> None:
    """before_request: the inbox badge's count, for full pages only (one indexed count; htmx
    fragments, the API, static files and every POST skip it)."""
    scope = request.scope
    state = scope.get("state", {})
    actor = state.get("actor")
    # read from the scope: building the request's headers and URL costs more than the count
    if actor is None or scope["method"] != "GET" or scope["path"].startswith(_SKIP) \
            or any(name == b"hx-request" and value == b"true" for name, value in scope["headers"]):
        return None
    state["unread"] = await notify.unread_count(actor=actor)
    return None


def chain(*hooks):
    """One before_request hook running several in order (Litestar takes one per layer); the
    first that answers (returns a response) wins."""
    async def run(request: Request):
        for hook in hooks:
            answer = await hook(request)
            if answer is not None:
                return answer
        return None

    return run
