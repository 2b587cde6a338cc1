"""The portal stands: login, home, sign-out through the real app and database."""
from tests.helpers import client, login, make_org, make_user


async def test_dealer_signs_in_and_sees_home_then_signs_out():
    office = await make_org("office", region="CN-JS")
    await make_user(office, ["dealer_clerk"], username="clerk")
    async with client() as c:
        csrf = await login(c, "clerk")
        home = await c.get("/")
        assert home.status_code == 200
        assert 'id="window"' in home.text
        out = await c.post("/logout", data={"_csrf": csrf})
        assert out.status_code == 303
        again = await c.get("/")
        assert again.status_code == 303 and again.headers["location"].startswith("/login")
