"""Catalogue and policy pages: everyone signed in reads them; the HQ admin changes them (R17)."""
from __future__ import annotations

import functools
from dataclasses import asdict

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from portal import catalog, clock, policy
from portal.actions import act
from portal.forms import query_int
from portal.inputs import PolicyIn, ProductIn, SparePriceIn, WarrantyIn
from portal.web import current_actor, done, login_required, render, roles_required


async def _catalog_page(request: Request, status_code: int = 200, **extra) -> Response:
    products = await catalog.list_products(q=(request.query_params.get("q") or "")[:60] or None,
                                           after_id=query_int(request, "after"))
    policies = await policy.values_on(clock.china_today())
    return render(request, "portal/catalog.html", status_code=status_code,
                  categories=await catalog.list_categories(), products=products,
                  spares=await catalog.list_spare_parts(), policies=policies,
                  policy_meta=policy.POLICIES, policy_shown=policy.shown,
                  next_after=products[-1]["id"] if len(products) == 50 else None, **extra)


class CatalogController(Controller):
    path = "/catalog"
    guards = [login_required]

    @get("/")
    async def page(self, request: Request) -> Response:
        return await _catalog_page(request)

    @get("/policies/{key:str}")
    async def policy_history(self, request: Request, key: FromPath[str]) -> Response:
        if key not in policy.POLICIES:
            return await _catalog_page(request, status_code=404)
        return await policy_page(request, key)


class CatalogAdminController(Controller):
    path = "/admin/catalog"
    guards = [roles_required("hq_admin")]

    @post("/categories/{category_id:int}/warranty", status_code=303)
    async def set_warranty(self, request: Request, category_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        return await act(
            request, WarrantyIn,
            lambda data: catalog.set_warranty(actor=actor, category_id=category_id,
                                              **asdict(data)),
            page=functools.partial(_catalog_page, request, failed=f"category-{category_id}"),
            respond=lambda _, data: done(request, "Warranty period set to %(months)s months; "
                                         "the old value stays in the history.", "/catalog",
                                         months=data.warranty_months))

    @post("/products", status_code=303)
    async def add_product(self, request: Request) -> Response:
        actor = current_actor(request)
        return await act(request, ProductIn,
                         lambda data: catalog.add_product(actor=actor, **new_product(data)),
                         page=functools.partial(_catalog_page, request, failed="product"),
                         respond=lambda _, data: done(request, "Product %(model)s added.",
                                                      "/catalog", model=data.model))

    @post("/spares/{spare_id:int}/price", status_code=303)
    async def set_price(self, request: Request, spare_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        return await act(
            request, SparePriceIn,
            lambda data: catalog.set_spare_price(actor=actor, spare_id=spare_id, **asdict(data)),
            page=functools.partial(_catalog_page, request, failed=f"spare-{spare_id}"),
            success="Spare part price saved; the old price stays in the history.",
            location="/catalog")

    @post("/policies/{key:str}", status_code=303)
    async def change_policy(self, request: Request, key: FromPath[str]) -> Response:
        actor = current_actor(request)
        return await act(request, PolicyIn,
                         lambda data: policy.revise(actor=actor, key=key, **asdict(data)),
                         page=functools.partial(policy_page, request, key),
                         respond=lambda _, data: done(
                             request, "New value saved; it applies from %(date)s.",
                             f"/catalog/policies/{key}", date=data.effective_from.isoformat()))


def new_product(data: ProductIn) -> dict:
    values = asdict(data)
    values["category_id"] = values.pop("category")
    return values


async def policy_page(request: Request, key: str, *, status_code: int = 200,
                      errors: dict | None = None, form: dict | None = None) -> Response:
    return render(request, "portal/policy.html", status_code=status_code, key=key,
                  shown=policy.shown, unit_label=policy.UNIT_LABELS[policy.unit(key)],
                  meta=policy.POLICIES[key], rows=await policy.history(key),
                  current=await policy.value_on(key, clock.china_today()),
                  errors=errors or {}, form=form or {})
