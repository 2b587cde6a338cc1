"""List pages issue the same number of queries for 10 and 100 rows (no query per row); who is
asking costs one query."""
import pytest

from portal import auth
from portal.db import count_queries
from portal.tables import Organisation, User
from tests.helpers import api_token, client, login, make_org, make_user, test_settings


async def _queries_for(path: str, username: str) -> int:
    async with client() as c:
        await login(c, username)
        await c.get(path)  # warm-up: lazy imports and template compilation
        with count_queries() as counter:
            response = await c.get(path)
        assert response.status_code == 200
        return counter.count


async def _grow(office: dict, n: int) -> None:
    """n more stores, each with a clerk, so both the network and user lists grow."""
    for _ in range(n):
        store = await make_org("store", parent=office)
        await make_user(store, ["dealer_clerk"])


async def _network() -> dict:
    hq = await make_org("hq", region=None)
    office = await make_org("office", parent=hq, region="CN-JS")
    await make_user(hq, ["hq_admin"], username="admin")
    return office


@pytest.mark.parametrize("path", ["/network", "/network?kind=store", "/admin/users", "/catalog"])
async def test_list_pages_query_count_is_flat(path):
    office = await _network()
    await _grow(office, 10)
    small = await _queries_for(path, "admin")
    await _grow(office, 90)
    large = await _queries_for(path, "admin")
    assert small == large, f"{path}: {small} queries at 10 rows, {large} at 100"
    assert small <= 12


async def test_query_counter_counts_real_queries():
    """The helper itself must see queries, or the flatness test above proves nothing."""
    await _grow(await _network(), 3)
    async with client() as c:
        await login(c, "admin")
        with count_queries() as counter:
            await c.get("/network")
        assert counter.count >= 2  # session lookup + the list itself at least


async def test_who_is_asking_costs_one_query_however_many_offices_a_manager_covers():
    """Issue 17 §1: the session (or API token), the user, their organisation and a regional
    manager's coverage in one statement; the coverage is what the scope filter then uses."""
    hq = await make_org("hq", region=None)
    offices = [await make_org("office", parent=hq) for _ in range(6)]
    manager = await make_user(hq, ["manager"], username="rm", covers=offices)
    async with client() as c:
        await login(c, "rm")
        cookie = c.cookies.get("portal_session")
    token = await api_token(manager)
    settings = test_settings()
    await auth.actor_for_api_token(token)  # its first use is recorded (then once a minute)
    with count_queries() as by_session:
        session = await auth.resume_session(settings, cookie)
    with count_queries() as by_token:
        actor = await auth.actor_for_api_token(token)
    assert by_session.count == 1 and by_token.count == 1
    for who in (session.actor, actor):
        assert sorted(who.covered_paths) == sorted(o["path"] for o in offices)
        assert who.organisation_path == hq["path"] and who.has("manager")


async def test_a_deactivated_user_or_organisation_is_nobody():
    hq = await make_org("hq", region=None)
    office = await make_org("office", parent=hq)
    clerk = await make_user(office, ["dealer_clerk"], username="clerk")
    token = await api_token(clerk)
    assert await auth.actor_for_api_token(token) is not None
    await Organisation.update({Organisation.active: False}).where(Organisation.id == office["id"])
    assert await auth.actor_for_api_token(token) is None and await auth.load_actor(clerk["id"]) is None
    await Organisation.update({Organisation.active: True}).where(Organisation.id == office["id"])
    await User.update({User.active: False}).where(User.id == clerk["id"])
    assert await auth.actor_for_api_token(token) is None
