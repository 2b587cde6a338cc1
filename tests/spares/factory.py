"""A network with an office, a repair point application approved by CS, stock templates."""
import stripe

from portal.tables import Product, ProductCategory, SparePart
from spares import applications
from spares.tables import StockTemplate
from tests.helpers import actor_of, make_org, make_user, test_settings

WEBHOOK_SECRET = "whsec_test_portal"


def stripe_settings(base: str, **overrides):
    return test_settings(stripe_secret_key="sk_test_portal", stripe_api_base=base,
                         stripe_webhook_secret=WEBHOOK_SECRET, stripe_publishable_key="pk_test_portal",
                         **overrides)


def card(base: str, number: str = "4242424242424242") -> str:
    """What Stripe.js does in the browser: turn a card into a payment method id."""
    client = stripe.StripeClient("sk_test_portal", base_addresses={"api": base})
    return client.v1.payment_methods.create(params={
        "type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}}).id


async def network() -> dict:
    hq = await make_org("hq", region=None)
    office = await make_org("office", parent=hq, region="CN-JS", name="江苏办事处")
    sibling = await make_org("office", parent=hq, region="CN-GD", name="广东办事处")
    users = {
        "manager": await make_user(office, ["manager"], username="manager"),
        "clerk": await make_user(office, ["dealer_clerk"], username="clerk"),
        "gd": await make_user(sibling, ["manager"], username="gd.manager"),
        "cs": await make_user(hq, ["hq_cs"], username="cs"),
        "finance": await make_user(hq, ["hq_finance"], username="finance"),
        "logistics": await make_user(hq, ["hq_logistics"], username="logistics"),
    }
    parts = {}
    for code, price in (("ELB-28", 1850), ("RT-32", 1200)):
        part = SparePart(code=code, name_zh=code, name_en=code, unit_price_fen=price)
        await SparePart.insert(part)
        parts[code] = part.id
    await StockTemplate.insert(StockTemplate(sales_scale="small", spare_part=parts["ELB-28"], quantity=10),
                               StockTemplate(sales_scale="small", spare_part=parts["RT-32"], quantity=5))
    category = ProductCategory(code="ceiling", name_zh="吸顶灯", name_en="Ceiling", warranty_months=12)
    await ProductCategory.insert(category)
    product = Product(model="XD-1", spec="", name_zh="吸顶灯", name_en="Ceiling lamp", category=category.id)
    await Product.insert(product)
    actors = {k: await actor_of(v) for k, v in users.items()}
    app_id = await applications.propose_repair_point(
        actor=actors["manager"], office_id=office["id"], name="南京灯具城维修点",
        coverage_area="南京市区", sales_scale="small", address="南京灯具城A区", proposed_fee_fen=30000)
    point_id = await applications.decide_repair_point(actor=actors["cs"], application_id=app_id, approve=True)
    from portal.tables import Organisation
    from tests.helpers import make_user as mk

    point = await Organisation.select().where(Organisation.id == point_id).first()
    users["staff"] = await mk({"id": point_id}, ["repair_staff"], username="staff")
    actors["staff"] = await actor_of(users["staff"])
    return {"hq": hq, "office": office, "sibling": sibling, "point": point, "parts": parts,
            "product": product.id, "users": users, "actors": actors}
