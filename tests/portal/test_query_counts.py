"""List pages issue the same number of queries for 10 and 100 rows (no query per row)."""
import pytest

from portal.db import count_queries
from tests.helpers import client, login, make_org, make_user


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
