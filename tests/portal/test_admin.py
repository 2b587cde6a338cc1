"""HQ admin manages users and organisations in the portal; bad input changes nothing."""
import re

import pytest

from portal.tables import AuditEntry, ManagerCoverage, Organisation, PolicyValue, User
from tests.helpers import client, csrf_from, login, make_org, make_user, region_id


async def _setup():
    hq = await make_org("hq", region=None)
    await make_user(hq, ["hq_admin"], username="admin")
    office = await make_org("office", parent=hq, region="CN-JS", name="江苏办事处")
    return hq, office


async def test_admin_creates_office_under_hq_with_path_and_audit():
    hq, _ = await _setup()
    async with client() as c:
        await login(c, "admin")
        form = await c.get("/admin/organisations/new")
        r = await c.post("/admin/organisations/new", data={
            "_csrf": csrf_from(form.text), "name": "浙江办事处", "name_en": "Zhejiang Office",
            "kind": "office", "parent_id": str(hq["id"]), "region_id": str(await region_id("CN-ZJ"))})
        assert r.status_code == 303
        created = await Organisation.select().where(Organisation.name == "浙江办事处").first()
        assert created["path"] == f"{hq['path']}{created['id']}."
        assert r.headers["location"] == f"/network/{created['id']}"
        assert await AuditEntry.exists().where(AuditEntry.object_id == str(created["id"]))


@pytest.mark.parametrize("fields, bad_field", [
    ({"name": "", "kind": "office", "parent_id": "HQ", "region_id": "CN-ZJ"}, "name"),
    ({"name": "无区域办事处", "kind": "office", "parent_id": "HQ", "region_id": ""}, "region_id"),
    ({"name": "错挂门店", "kind": "store", "parent_id": "HQ", "region_id": ""}, "parent_id"),
    ({"name": "乱类", "kind": "castle", "parent_id": "HQ", "region_id": ""}, "kind"),
    ({"name": "无父", "kind": "office", "parent_id": "999999", "region_id": "CN-ZJ"}, "parent_id"),
    ({"name": "非数字", "kind": "office", "parent_id": "abc", "region_id": "CN-ZJ"}, "parent_id"),
])
async def test_bad_organisation_form_gets_field_error_and_changes_nothing(fields, bad_field):
    hq, _ = await _setup()
    data = dict(fields)
    data["parent_id"] = str(hq["id"]) if data["parent_id"] == "HQ" else data["parent_id"]
    data["region_id"] = str(await region_id(data["region_id"])) if data["region_id"] else ""
    before = (await Organisation.count(), await AuditEntry.count())
    async with client() as c:
        await login(c, "admin")
        form = await c.get("/admin/organisations/new")
        r = await c.post("/admin/organisations/new", data={"_csrf": csrf_from(form.text), **data})
        assert r.status_code == 422
        assert f'id="error-{bad_field}"' in r.text
    assert (await Organisation.count(), await AuditEntry.count()) == before


async def test_admin_creates_regional_manager_covering_offices():
    hq, office = await _setup()
    async with client() as c:
        await login(c, "admin")
        form = await c.get("/admin/users/new")
        r = await c.post("/admin/users/new", data={
            "_csrf": csrf_from(form.text), "username": "rm.east", "display_name": "华东区域经理",
            "organisation": str(hq["id"]), "roles": "manager", "password": "long-enough-pw",
            "locale": "zh_CN", "covers": str(office["id"])})
        assert r.status_code == 303, r.text
    user = await User.select().where(User.username == "rm.east").first()
    assert user["roles"] == ["manager"]
    assert await ManagerCoverage.exists().where(
        (ManagerCoverage.user == user["id"]) & (ManagerCoverage.organisation == office["id"]))


@pytest.mark.parametrize("override, bad_field", [
    ({"username": "bad name!"}, "username"),
    ({"password": "short"}, "password"),
    ({"roles": "emperor"}, "roles"),
    ({"username": "admin"}, "username"),  # taken
])
async def test_bad_user_form_changes_nothing(override, bad_field):
    hq, office = await _setup()
    data = {"username": "new.user", "display_name": "新用户", "organisation": str(office["id"]),
            "roles": "dealer_clerk", "password": "long-enough-pw", "locale": "zh_CN"}
    data.update(override)
    before = await User.count()
    async with client() as c:
        await login(c, "admin")
        form = await c.get("/admin/users/new")
        r = await c.post("/admin/users/new", data={"_csrf": csrf_from(form.text), **data})
        assert r.status_code == 422
        assert f'id="error-{bad_field}"' in r.text
    assert await User.count() == before


async def test_hq_roles_only_for_head_office_users():
    _, office = await _setup()
    before = await User.count()
    async with client() as c:
        await login(c, "admin")
        form = await c.get("/admin/users/new")
        r = await c.post("/admin/users/new", data={
            "_csrf": csrf_from(form.text), "username": "sneaky", "display_name": "x",
            "organisation": str(office["id"]), "roles": "hq_finance", "password": "long-enough-pw",
            "locale": "zh_CN"})
        assert r.status_code == 422
    assert await User.count() == before


async def test_deactivating_a_user_ends_their_sessions():
    hq, office = await _setup()
    clerk = await make_user(office, ["dealer_clerk"], username="clerk")
    async with client() as clerk_client, client() as admin_client:
        await login(clerk_client, "clerk")
        assert (await clerk_client.get("/")).status_code == 200
        await login(admin_client, "admin")
        form = await admin_client.get(f"/admin/users/{clerk['id']}")
        r = await admin_client.post(f"/admin/users/{clerk['id']}", data={
            "_csrf": csrf_from(form.text), "display_name": "离职", "roles": "dealer_clerk",
            "locale": "zh_CN", "reason": "left the company"})  # "active" unchecked
        assert r.status_code == 303
        assert (await clerk_client.get("/")).status_code == 303


async def test_non_admin_cannot_reach_admin_pages():
    _, office = await _setup()
    await make_user(office, ["manager"], username="boss")
    async with client() as c:
        await login(c, "boss")
        for path in ("/admin/users", "/admin/users/new", "/admin/organisations/new"):
            assert (await c.get(path)).status_code == 403


async def test_refused_user_form_keeps_every_ticked_role_and_office():
    hq, office = await _setup()
    other = await make_org("office", parent=hq, region="CN-ZJ")
    async with client() as c:
        await login(c, "admin")
        form = await c.get("/admin/users/new")
        r = await c.post("/admin/users/new", data={
            "_csrf": csrf_from(form.text), "username": "rm.two", "display_name": "经理",
            "organisation": str(hq["id"]), "roles": ["manager", "auditor"], "password": "short",
            "locale": "zh_CN", "covers": [str(office["id"]), str(other["id"])]})
        assert r.status_code == 422 and 'id="error-password"' in r.text
    checked = re.findall(r'name="(roles|covers)" value="([^"]+)" checked', r.text)
    assert sorted(checked) == sorted([("roles", "manager"), ("roles", "auditor"),
                                      ("covers", str(office["id"])), ("covers", str(other["id"]))])
    assert not await User.exists().where(User.username == "rm.two")


@pytest.mark.parametrize(("value", "effective", "bad_field"), [
    ("abc", "2099-01-01", "value"),        # not a percentage
    ("150", "2099-01-01", "value"),        # R22: above 100 % (the service's range check)
    ("90", "2020-01-01", "effective_from"),  # a change takes effect from a future date
    ("90", "someday", "effective_from"),
])
async def test_policy_form_refuses_beside_the_field_and_changes_nothing(value, effective,
                                                                        bad_field):
    await _setup()
    async with client() as c:
        await login(c, "admin")
        page = await c.get("/catalog/policies/deposit_ratio_bp")
        r = await c.post("/admin/catalog/policies/deposit_ratio_bp", data={
            "_csrf": csrf_from(page.text), "value": value, "effective_from": effective,
            "reason": "年度调整"})
        assert r.status_code == 422 and f'id="error-{bad_field}"' in r.text
        assert f'value="{value}"' in r.text  # what was typed comes back
    assert not await PolicyValue.exists().where(PolicyValue.key == "deposit_ratio_bp")


async def test_policy_change_from_the_form_is_saved_from_its_date():
    await _setup()
    async with client() as c:
        await login(c, "admin")
        page = await c.get("/catalog/policies/deposit_ratio_bp")
        r = await c.post("/admin/catalog/policies/deposit_ratio_bp", data={
            "_csrf": csrf_from(page.text), "value": "80", "effective_from": "2099-01-01",
            "reason": "年度调整"})
        assert r.status_code == 303 and r.headers["location"] == "/catalog/policies/deposit_ratio_bp"
    row = await PolicyValue.select(PolicyValue.value, PolicyValue.effective_from).where(
        PolicyValue.key == "deposit_ratio_bp").first()
    assert row["value"] == 8000 and row["effective_from"].isoformat() == "2099-01-01"  # R22 in bp
