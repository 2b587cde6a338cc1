"""Catalogue (R17): product categories with their warranty, products, spare parts with prices.

Warranty months are data HQ edits; every edit keeps its before/after in the audit trail.
"""
from __future__ import annotations

from portal import audit
from portal.actor import Actor
from portal.db import transactional
from portal.errors import Forbidden, NotFound, ValidationFailed
from portal.tables import Product, ProductCategory, SparePart

MAX_PRICE_FEN = 100_000_000  # ¥1,000,000 for one spare part is surely a typing error


def _admin(actor: Actor) -> None:
    if not actor.has("hq_admin"):
        raise Forbidden("Only the HQ administrator may do this.")


async def list_categories() -> list[dict]:
    return await ProductCategory.select().order_by(ProductCategory.code)


async def list_products(*, q: str | None = None, after_id: int | None = None,
                        limit: int = 50) -> list[dict]:
    query = Product.select(
        Product.id, Product.model, Product.spec, Product.name_zh, Product.name_en, Product.active,
        Product.category.code.as_alias("category_code"),
        Product.category.name_zh.as_alias("category_zh"),
        Product.category.name_en.as_alias("category_en"),
        Product.category.warranty_months.as_alias("warranty_months"),
    )
    if q:
        query = query.where(Product.model.ilike(f"%{q}%") | Product.name_zh.ilike(f"%{q}%")
                            | Product.name_en.ilike(f"%{q}%"))
    if after_id:
        query = query.where(Product.id > after_id)
    return await query.order_by(Product.id).limit(limit)


async def list_spare_parts() -> list[dict]:
    return await SparePart.select().order_by(SparePart.code)


def _check_name(errors: dict[str, str], field: str, value: str, limit: int = 120) -> None:
    if not value.strip() or len(value) > limit:
        errors[field] = "Enter a name (up to 120 characters)."


@transactional
async def set_warranty(*, actor: Actor, category_id: int, warranty_months: int,
                       reason: str) -> None:
    """R17: change a category's warranty period; the old value stays in the history."""
    _admin(actor)
    errors: dict[str, str] = {}
    if not 0 <= warranty_months <= 120:
        errors["warranty_months"] = "Between 0 and 120 months (0 = no warranty)."
    if not reason.strip():
        errors["reason"] = "Say why it changes."
    if errors:
        raise ValidationFailed(errors)
    row = await ProductCategory.select(ProductCategory.warranty_months).where(
        ProductCategory.id == category_id).first()
    if row is None:
        raise NotFound("Not found.")
    await ProductCategory.update({ProductCategory.warranty_months: warranty_months}).where(
        ProductCategory.id == category_id)
    await audit.record(actor=actor, object_type="product_category", object_id=category_id,
                       action="set_warranty", before=row,
                       after={"warranty_months": warranty_months}, reason=reason.strip())


@transactional
async def add_product(*, actor: Actor, model: str, spec: str, name_zh: str, name_en: str,
                      category_id: int) -> int:
    _admin(actor)
    model = model.strip()
    errors: dict[str, str] = {}
    if not model or len(model) > 60:
        errors["model"] = "Enter the model (up to 60 characters)."
    _check_name(errors, "name_zh", name_zh)
    _check_name(errors, "name_en", name_en)
    if len(spec) > 120:
        errors["spec"] = "Up to 120 characters."
    if not await ProductCategory.exists().where(ProductCategory.id == category_id):
        errors["category"] = "Choose a category."
    if not errors and await Product.exists().where(Product.model == model):
        errors["model"] = "This model is already in the catalogue."
    if errors:
        raise ValidationFailed(errors)
    product = Product(model=model, spec=spec.strip(), name_zh=name_zh.strip(),
                      name_en=name_en.strip(), category=category_id)
    await Product.insert(product)
    await audit.record(actor=actor, object_type="product", object_id=product.id,
                       action="create", after={"model": model, "category": category_id})
    return product.id


@transactional
async def set_spare_price(*, actor: Actor, spare_id: int, unit_price_fen: int,
                          reason: str) -> None:
    _admin(actor)
    errors: dict[str, str] = {}
    if not 0 <= unit_price_fen <= MAX_PRICE_FEN:
        errors["unit_price"] = "Enter a price between ¥0.00 and ¥1,000,000.00."
    if not reason.strip():
        errors["reason"] = "Say why it changes."
    if errors:
        raise ValidationFailed(errors)
    row = await SparePart.select(SparePart.unit_price_fen).where(
        SparePart.id == spare_id).first()
    if row is None:
        raise NotFound("Not found.")
    await SparePart.update({SparePart.unit_price_fen: unit_price_fen}).where(
        SparePart.id == spare_id)
    await audit.record(actor=actor, object_type="spare_part", object_id=spare_id,
                       action="set_price", before=row,
                       after={"unit_price_fen": unit_price_fen}, reason=reason.strip())
