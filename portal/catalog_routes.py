"""Catalogue and policy pages: everyone signed in reads them; the HQ admin changes them (R17)."""
from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from portal import catalog, clock, policy
from portal.errors import ValidationFailed
from portal.forms import integer, iso_date, query_int, read_form, text
from portal.money import parse_yuan
from portal.web import current_actor, done, login_required, render, roles_required


async def _catalog_page(request: Request, status_code: int = 200, **extra) -> Response:
    products = await catalog.list_products(q=(request.query_params.get("q") or "")[:60] or None,
                                           after_id=query_int(request, "after"))
    policies = {key: await policy.value_on(key, clock.china_today()) for key in policy.POLICIES}
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
        return render(request, "portal/policy.html", key=key, shown=policy.shown,
                      unit_label=policy.UNIT_LABELS[policy.unit(key)], meta=policy.POLICIES[key],
                      rows=await policy.history(key),
                      current=await policy.value_on(key, clock.china_today()))


class CatalogAdminController(Controller):
    path = "/admin/catalog"
    guards = [roles_required("hq_admin")]

    @post("/categories/{category_id:int}/warranty", status_code=303)
    async def set_warranty(self, request: Request, category_id: FromPath[int]) -> Response:
        form = await read_form(request)
        errors: dict[str, str] = {}
        months = integer(form, "warranty_months", errors, high=120)
        try:
            if errors:
                raise ValidationFailed(errors)
            await catalog.set_warranty(actor=current_actor(request), category_id=category_id,
                                       warranty_months=months or 0, reason=text(form, "reason"))
        except ValidationFailed as exc:
            return await _catalog_page(request, status_code=422, errors=exc.errors,
                                       failed=f"category-{category_id}")
        return done(request, "Warranty period set to %(months)s months; the old value stays in the history.",
                    "/catalog", months=months)

    @post("/products", status_code=303)
    async def add_product(self, request: Request) -> Response:
        form = await read_form(request)
        errors: dict[str, str] = {}
        category_id = integer(form, "category", errors)
        try:
            if errors:
                raise ValidationFailed(errors)
            await catalog.add_product(actor=current_actor(request), model=text(form, "model", 100),
                                      spec=text(form, "spec", 200),
                                      name_zh=text(form, "name_zh", 200),
                                      name_en=text(form, "name_en", 200),
                                      category_id=category_id or 0)
        except ValidationFailed as exc:
            return await _catalog_page(request, status_code=422, errors=exc.errors,
                                       failed="product", form=dict(form))
        return done(request, "Product %(model)s added.", "/catalog", model=text(form, "model", 100))

    @post("/spares/{spare_id:int}/price", status_code=303)
    async def set_price(self, request: Request, spare_id: FromPath[int]) -> Response:
        form = await read_form(request)
        price = parse_yuan(text(form, "unit_price", 30))
        try:
            if price is None:
                raise ValidationFailed({"unit_price": "Enter an amount like 12.50."})
            await catalog.set_spare_price(actor=current_actor(request), spare_id=spare_id,
                                          unit_price_fen=price, reason=text(form, "reason"))
        except ValidationFailed as exc:
            return await _catalog_page(request, status_code=422, errors=exc.errors,
                                       failed=f"spare-{spare_id}")
        return done(request, "Spare part price saved; the old price stays in the history.",
                    "/catalog")

    @post("/policies/{key:str}", status_code=303)
    async def change_policy(self, request: Request, key: FromPath[str]) -> Response:
        form = await read_form(request)
        errors: dict[str, str] = {}
        value = policy.parse(key, text(form, "percent", 20))
        if value is None:
            errors["percent"] = policy.UNIT_ERROR_LABELS[policy.unit(key)]
        effective = iso_date(form, "effective_from", errors)
        actor = current_actor(request)
        try:
            if errors or effective is None:
                raise ValidationFailed(errors)
            await policy.change(actor=actor, key=key, value=value or 0,
                                effective_from=effective, reason=text(form, "reason"))
        except ValidationFailed as exc:
            return render(request, "portal/policy.html", status_code=422, key=key,
                          shown=policy.shown, unit_label=policy.UNIT_LABELS[policy.unit(key)],
                          meta=policy.POLICIES.get(key, ("", 0, "")), rows=await policy.history(key),
                          current=await policy.value_on(key, clock.china_today()),
                          errors=exc.errors, form=dict(form))
        return done(request, "New value saved; it applies from %(date)s.",
                    f"/catalog/policies/{key}", date=effective.isoformat() if effective else "")
