"""Session fixation, CSRF, login throttling, cookie flags, headers, error pages, timeouts.
Each test fails if its protection is removed."""
from datetime import timedelta

import pytest
from litestar import get

from portal import clock
from portal.tables import ApiToken, UserSession
from portal.web import login_required
from tests.helpers import PASSWORD, client, csrf_from, login, make_org, make_user


async def _people():
    hq = await make_org("hq", region=None)
    office = await make_org("office", parent=hq, region="CN-JS")
    await make_user(office, ["dealer_clerk"], username="clerk")
    await make_user(office, ["dealer_clerk"], username="other")
    await make_user(hq, ["auditor"], username="auditor")
    return hq, office


async def _login_response(c, username, password=PASSWORD, next_url="/"):
    page = await c.get("/login")
    return await c.post("/login", data={"username": username, "password": password,
                                        "_csrf": csrf_from(page.text), "next": next_url})


async def test_planted_session_id_is_never_adopted():
    await _people()
    async with client() as c:
        c.cookies.set("portal_session", "attacker-chosen-id", domain="portal.test")
        assert (await c.get("/")).status_code == 303  # unknown id: not signed in
        r = await _login_response(c, "clerk")
        issued = r.cookies.get("portal_session")
        assert issued and issued != "attacker-chosen-id"
    async with client() as attacker:
        attacker.cookies.set("portal_session", "attacker-chosen-id", domain="portal.test")
        assert (await attacker.get("/")).status_code == 303
    assert await UserSession.count() == 1


async def test_new_session_id_at_every_login_and_old_one_ends():
    await _people()
    async with client() as c:
        first = (await _login_response(c, "clerk")).cookies.get("portal_session")
        token = csrf_from((await c.get("/")).text)
        again = await c.post("/login", data={"username": "clerk", "password": PASSWORD,
                                             "_csrf": token, "next": "/"})
        second = again.cookies.get("portal_session")
        assert first and second and first != second
    async with client() as old:
        old.cookies.set("portal_session", first, domain="portal.test")
        assert (await old.get("/")).status_code == 303


async def test_csrf_missing_or_foreign_token_refused_own_token_accepted():
    await _people()
    async with client() as mine, client() as theirs:
        my_token = await login(mine, "clerk")
        their_token = await login(theirs, "other")
        assert (await mine.post("/tokens", data={"name": "x"})).status_code == 403
        assert (await mine.post("/tokens", data={"name": "x", "_csrf": their_token})).status_code == 403
        assert (await mine.post("/tokens", data={"name": "x"},
                                headers={"x-csrftoken": their_token})).status_code == 403
        assert await ApiToken.count() == 0
        assert (await mine.post("/tokens", data={"name": "form", "_csrf": my_token})).status_code == 201
        r = await mine.post("/tokens", data={"name": "htmx"},
                            headers={"x-csrftoken": my_token, "HX-Request": "true"})
        assert r.status_code == 201
        assert await ApiToken.count() == 2


async def test_login_form_needs_its_csrf_cookie_token():
    await _people()
    async with client() as c:
        r = await c.post("/login", data={"username": "clerk", "password": PASSWORD,
                                         "_csrf": "made-up"})
        assert r.status_code == 403
        assert await UserSession.count() == 0


async def test_login_throttled_after_five_failures_same_answer_for_unknown_users():
    await _people()
    async with client() as c:
        wrong = await _login_response(c, "clerk", "wrong-password")
        unknown = await _login_response(c, "nobody-here", "wrong-password")
        assert wrong.status_code == unknown.status_code == 422

        def message(r):
            return r.text.split('id="login-error">')[1].split("<")[0]

        assert message(wrong) == message(unknown)
        for _ in range(3):
            await _login_response(c, "clerk", "wrong-password")
        throttled = await _login_response(c, "clerk")  # right password, too late
        assert throttled.status_code == 429
        assert "portal_session" not in throttled.cookies
    later = clock.now() + timedelta(minutes=16)
    with clock.frozen(later):
        async with client() as c:
            assert (await _login_response(c, "clerk")).status_code == 303


@pytest.mark.parametrize("secure", [True, False])
async def test_session_cookie_flags(secure):
    await _people()
    async with client(secure_cookies=secure) as c:
        r = await _login_response(c, "clerk")
        header = [v for k, v in r.headers.multi_items()
                  if k == "set-cookie" and v.startswith("portal_session=")][0].lower()
        assert "httponly" in header and "samesite=lax" in header and "path=/" in header
        assert ("secure" in header) is secure


async def test_security_headers_on_signed_in_pages():
    await _people()
    async with client() as c:
        await login(c, "clerk")
        r = await c.get("/")
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"] == "no-store"
        assert len(r.headers["x-request-id"]) == 16


@get("/probe/boom", guards=[login_required])
async def boom() -> str:
    raise RuntimeError("secret detail of the database")


@pytest.mark.parametrize("debug", [False, True])
async def test_error_page_has_correlation_id_and_no_trace_unless_debug(debug):
    await _people()
    async with client(extra_handlers=(boom,), debug=debug) as c:
        await login(c, "clerk")
        r = await c.get("/probe/boom")
        assert r.status_code == 500
        assert r.headers["x-request-id"] in r.text
        assert ("secret detail of the database" in r.text) is debug
        assert ("Traceback" in r.text) is debug


async def test_unknown_page_and_api_errors():
    await _people()
    async with client() as c:
        await login(c, "clerk")
        page = await c.get("/no/such/page")
        assert page.status_code == 404 and 'id="request-id"' in page.text
        api = await c.get("/api/v1/me")
        assert api.status_code == 401 and api.json()["request_id"] == api.headers["x-request-id"]


async def test_idle_timeout_30_minutes():
    await _people()
    start = clock.now()
    with clock.frozen(start):
        async with client() as c:
            await login(c, "clerk")
            with clock.frozen(start + timedelta(minutes=29)):
                assert (await c.get("/")).status_code == 200
            with clock.frozen(start + timedelta(minutes=29 + 31)):
                assert (await c.get("/")).status_code == 303


async def test_absolute_timeout_12_hours_even_when_active():
    await _people()
    start = clock.now()
    with clock.frozen(start):
        async with client() as c:
            await login(c, "clerk")
            minutes = 0
            while minutes < 12 * 60 - 20:
                minutes += 20
                with clock.frozen(start + timedelta(minutes=minutes)):
                    assert (await c.get("/")).status_code == 200, minutes
            with clock.frozen(start + timedelta(hours=12, minutes=1)):
                assert (await c.get("/")).status_code == 303


async def test_auditor_reads_but_changes_nothing():
    """The auditor's writes are refused by the read-only guard (its own message), while
    personal actions (API token, language, sign-out) still work."""
    hq, office = await _people()
    async with client() as c:
        token = await login(c, "auditor")
        assert (await c.get("/network")).status_code == 200
        assert (await c.get(f"/network/{office['id']}")).status_code == 200
        r = await c.post("/batches", data={"_csrf": token}, headers={"Accept-Language": "en"})
        assert r.status_code == 403 and "您的角色只能查看，不能修改。" in r.text
        r = await c.post("/admin/organisations/new", data={"_csrf": token, "name": "x"},
                         headers={"Accept-Language": "en"})
        assert r.status_code == 403
        assert (await c.post("/tokens", data={"name": "audit", "_csrf": token})).status_code == 201
        assert (await c.post("/logout", data={"_csrf": token})).status_code == 303


async def test_next_parameter_cannot_redirect_off_site():
    await _people()
    async with client() as c:
        r = await _login_response(c, "clerk", next_url="//evil.example/steal")
        assert r.headers["location"] == "/"
