"""HQ admin manages users and organisations in the portal; bad input changes nothing."""
import pytest

from portal.tables import AuditEntry, ManagerCoverage, Organisation, User
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
            "kind": "office", "parent": str(hq["id"]), "region": str(await region_id("CN-ZJ"))})
        assert r.status_code == 303
        created = await Organisation.select().where(Organisation.name == "浙江办事处").first()
        assert created["path"] == f"{hq['path']}{created['id']}."
        assert r.headers["location"] == f"/network/{created['id']}"
        assert await AuditEntry.exists().where(AuditEntry.object_id == str(created["id"]))


@pytest.mark.parametrize("fields, bad_field", [
    ({"name": "", "kind": "office", "parent": "HQ", "region": "CN-ZJ"}, "name"),
    ({"name": "无区域办事处", "kind": "office", "parent": "HQ", "region": ""}, "region"),
    ({"name": "错挂门店", "kind": "store", "parent": "HQ", "region": ""}, "parent"),
    ({"name": "乱类", "kind": "castle", "parent": "HQ", "region": ""}, "kind"),
    ({"name": "无父", "kind": "office", "parent": "999999", "region": "CN-ZJ"}, "parent"),
    ({"name": "非数字", "kind": "office", "parent": "abc", "region": "CN-ZJ"}, "parent"),
])
async def test_bad_organisation_form_gets_field_error_and_changes_nothing(fields, bad_field):
    hq, _ = await _setup()
    data = dict(fields)
    data["parent"] = str(hq["id"]) if data["parent"] == "HQ" else data["parent"]
    data["region"] = str(await region_id(data["region"])) if data["region"] else ""
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
