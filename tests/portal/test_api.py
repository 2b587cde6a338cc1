"""/api/v1: token auth, same rules and messages as the pages, an OpenAPI schema."""
from portal.tables import ApiToken, Organisation
from tests.helpers import api_token, client, csrf_from, login, make_org, make_user, region_id


async def _setup():
    hq = await make_org("hq", region=None)
    admin = await make_user(hq, ["hq_admin"], username="admin")
    office = await make_org("office", parent=hq, region="CN-JS", name="江苏办事处")
    clerk = await make_user(office, ["dealer_clerk"], username="clerk")
    return hq, office, admin, clerk


async def test_me_with_bearer_token_and_refused_without():
    _, office, _, clerk = await _setup()
    token = await api_token(clerk)
    async with client() as c:
        r = await c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        assert r.json()["organisation_id"] == office["id"]
        assert (await c.get("/api/v1/me")).status_code == 401
        bad = await c.get("/api/v1/me", headers={"Authorization": "Bearer pt_forged"})
        assert bad.status_code == 401 and "request_id" in bad.json()


async def test_api_ignores_session_cookies():
    """The API authenticates by token only, so a browser's cookies cannot drive it (no CSRF)."""
    await _setup()
    async with client() as c:
        await login(c, "clerk")
        assert (await c.get("/api/v1/me")).status_code == 401


async def test_revoked_token_stops_working():
    _, _, _, clerk = await _setup()
    token = await api_token(clerk)
    async with client() as c:
        await login(c, "clerk")
        page = await c.get("/tokens")
        token_id = (await ApiToken.select(ApiToken.id).first())["id"]
        r = await c.post(f"/tokens/{token_id}/revoke", data={"_csrf": csrf_from(page.text)})
        assert r.status_code == 303
        assert (await c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401


async def test_token_created_in_the_portal_is_shown_once_and_works():
    await _setup()
    async with client() as c:
        await login(c, "clerk")
        page = await c.get("/tokens")
        r = await c.post("/tokens", data={"_csrf": csrf_from(page.text), "name": "ERP"})
        assert r.status_code == 201
        token = r.text.split('id="new-token">')[1].split("<")[0]
        assert (await c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code == 200
        again = await c.get("/tokens")
        assert token not in again.text


async def test_create_organisation_same_rules_as_pages():
    hq, _, admin, clerk = await _setup()
    admin_token, clerk_token = await api_token(admin), await api_token(clerk)
    before = await Organisation.count()
    async with client() as c:
        forbidden = await c.post("/api/v1/organisations", json={
            "name": "x", "kind": "office", "parent_id": hq["id"]},
            headers={"Authorization": f"Bearer {clerk_token}"})
        assert forbidden.status_code == 403
        invalid = await c.post("/api/v1/organisations", json={
            "name": "无区域", "kind": "office", "parent_id": hq["id"]},
            headers={"Authorization": f"Bearer {admin_token}", "Accept-Language": "en"})
        assert invalid.status_code == 422
        assert "region_id" in invalid.json()["fields"]  # the field the client sent
        assert (await Organisation.count()) == before
        ok = await c.post("/api/v1/organisations", json={
            "name": "浙江办事处", "kind": "office", "parent_id": hq["id"],
            "region_id": await region_id("CN-ZJ")},
            headers={"Authorization": f"Bearer {admin_token}"})
        assert ok.status_code == 201 and ok.json()["region_code"] == "CN-ZJ"


async def test_malformed_json_gets_clear_400():
    _, _, admin, _ = await _setup()
    token = await api_token(admin)
    async with client() as c:
        r = await c.post("/api/v1/organisations", content=b"{not json",
                         headers={"Authorization": f"Bearer {token}",
                                  "Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]


async def test_openapi_schema_lists_the_endpoints():
    async with client() as c:
        schema = (await c.get("/api/v1/schema/openapi.json")).json()
        for path in ("/api/v1/me", "/api/v1/organisations", "/api/v1/calendar",
                     "/api/v1/organisations/{org_id}/window", "/api/v1/catalog/products"):
            assert path in schema["paths"], path


async def test_window_endpoint_for_office_and_unassigned_region():
    hq, office, _, clerk = await _setup()
    jilin = await make_org("office", parent=hq, region="CN-JL")
    admin_token = await api_token(await make_user(hq, ["hq_cs"], username="cs"))
    async with client() as c:
        r = await c.get(f"/api/v1/organisations/{office['id']}/window",
                        headers={"Authorization": f"Bearer {admin_token}"})
        assert r.status_code == 200 and r.json()["week"] == 2
        r = await c.get(f"/api/v1/organisations/{jilin['id']}/window",
                        headers={"Authorization": f"Bearer {admin_token}"})
        assert r.json()["state"] == "unassigned" and r.json()["week"] is None
