"""R20: every change keeps who, when, what and why; the trail cannot be rewritten."""
import asyncpg
import pytest

from portal import audit, auth, catalog, i18n, network
from portal.errors import ValidationFailed
from portal.tables import AuditEntry, Organisation, ProductCategory
from tests.helpers import actor_of, client, login, make_org, make_user


async def _admin():
    hq = await make_org("hq", region=None)
    admin = await make_user(hq, ["hq_admin"], username="admin")
    return hq, await actor_of(admin)


async def test_r20_change_writes_actor_object_from_to_and_reason():
    hq, admin = await _admin()
    office_id = await network.create_organisation(actor=admin, name="江苏办事处", name_en="Jiangsu",
                                                  kind="office", parent_id=hq["id"],
                                                  region_id=await _region("CN-JS"))
    await network.update_organisation(actor=admin, org_id=office_id, name="江苏省办事处",
                                      name_en="Jiangsu", region_id=await _region("CN-JS"),
                                      active=True, reason="renamed by the board")
    rows = await AuditEntry.select().where(AuditEntry.object_id == str(office_id)).order_by(
        AuditEntry.id)
    assert [r["action"] for r in rows] == ["create", "update"]
    update = rows[1]
    assert update["actor"] == admin.user_id
    assert update["reason"] == "renamed by the board"
    assert '"江苏办事处"' in update["from_state"] and '"江苏省办事处"' in update["to_state"]


async def _region(code: str) -> int:
    from tests.helpers import region_id

    return await region_id(code)


async def test_r20_audit_rows_cannot_be_updated_or_deleted_in_the_database():
    _, admin = await _admin()
    await auth.create_api_token(actor=admin, name="probe")
    conn = await asyncpg.connect(Organisation._meta.db.config["dsn"])
    try:
        with pytest.raises(asyncpg.exceptions.RaiseError, match="append-only"):
            await conn.execute("UPDATE audit_entry SET reason = 'rewritten'")
        with pytest.raises(asyncpg.exceptions.RaiseError, match="append-only"):
            await conn.execute("DELETE FROM audit_entry")
        assert await conn.fetchval("SELECT count(*) FROM audit_entry") == 1
    finally:
        await conn.close()


async def test_r20_failed_change_leaves_neither_change_nor_audit_row():
    _, admin = await _admin()
    await _seed_category()
    before = await AuditEntry.count()
    category = await ProductCategory.select().first()
    with pytest.raises(ValidationFailed):
        await catalog.set_warranty(actor=admin, category_id=category["id"], warranty_months=-1,
                                   reason="typo")
    with pytest.raises(ValidationFailed):
        await catalog.set_warranty(actor=admin, category_id=category["id"], warranty_months=6,
                                   reason="  ")
    assert await AuditEntry.count() == before
    assert (await ProductCategory.select().first())["warranty_months"] == 12


async def test_r17_warranty_edit_keeps_history_visible_in_audit():
    _, admin = await _admin()
    await _seed_category()
    category = await ProductCategory.select().first()
    await catalog.set_warranty(actor=admin, category_id=category["id"], warranty_months=18,
                               reason="new policy 2027")
    row = await AuditEntry.select().where(AuditEntry.object_type == "product_category").first()
    assert '"warranty_months": 12' in row["from_state"]
    assert '"warranty_months": 18' in row["to_state"]


async def test_history_page_shows_changes_with_reason():
    hq, admin = await _admin()
    office = await make_org("office", parent=hq, name="历史办事处")
    await network.update_organisation(actor=admin, org_id=office["id"], name="历史办事处二",
                                      name_en="", region_id=await _region("CN-JS"), active=True,
                                      reason="merger")
    async with client() as c:
        await login(c, "admin")
        page = await c.get(f"/history/organisation/{office['id']}")
        assert page.status_code == 200
        assert "merger" in page.text and "历史办事处二" in page.text


async def _seed_category():
    await ProductCategory.insert(ProductCategory(code="ceiling", name_zh="吸顶灯",
                                                 name_en="Ceiling lamps", warranty_months=12))


async def test_r17_catalogue_history_page_shows_warranty_change_to_everyone():
    hq, admin = await _admin()
    office = await make_org("office", parent=hq)
    await make_user(office, ["dealer_clerk"], username="clerk")
    await _seed_category()
    category = await ProductCategory.select().first()
    await catalog.set_warranty(actor=admin, category_id=category["id"], warranty_months=18,
                               reason="2027 warranty policy")
    async with client() as c:
        await login(c, "clerk")
        page = await c.get(f"/history/catalog/product_category/{category['id']}")
        assert page.status_code == 200 and "2027 warranty policy" in page.text
        assert (await c.get("/history/catalog/portal_user/1")).status_code == 404


def test_a_group_of_figures_reads_in_words_not_as_code():
    """A decision's totals (R13) in the history: each figure named in the reader's language."""
    for locale, expected in (("en", "Exchanged 80, Credited 12, Rejected 80"),
                             ("zh_CN", "，".join(f"{i18n.translate(w, 'zh_CN')} {n}" for w, n in (
                                 ("Exchanged", 80), ("Credited", 12), ("Rejected", 80))))):
        token = i18n.current_locale.set(locale)
        try:
            shown = audit._shown("totals", {"exchanged": 80, "credited": 12, "rejected": 80}, {})
        finally:
            i18n.current_locale.reset(token)
        assert shown == expected and "{" not in shown
