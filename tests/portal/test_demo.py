"""`portal demo` loads a believable network once: every HQ role, about 20 offices and agents
over the three calendar weeks plus Jilin, stores, repair points with deposits and stock."""
from portal import auth
from portal.cli import _load_demo
from portal.db import raw_fetch
from portal.tables import Organisation, User


async def test_demo_network_loads_once_and_logins_work():
    await _load_demo()
    await _load_demo()  # idempotent
    kinds = {r["kind"]: r["n"] for r in await raw_fetch(
        "SELECT kind, count(*) AS n FROM organisation GROUP BY kind")}
    assert kinds["hq"] == 1 and kinds["office"] + kinds["agent"] == 21
    assert kinds["repair_point"] == 4 and kinds["store"] >= 6
    roles = {r for row in await User.select(User.roles) for r in row["roles"]}
    assert {"hq_cs", "hq_logistics", "hq_tech", "hq_finance", "hq_admin", "auditor"} <= roles
    weeks = {r["week"] for r in await raw_fetch(
        "SELECT c.week FROM organisation o JOIN calendar_assignment c ON c.region = o.region "
        "WHERE o.kind IN ('office', 'agent')")}
    assert weeks == {1, 2, 3}
    assert await Organisation.exists().where(Organisation.name == "吉林办事处")
    paid = await raw_fetch("SELECT count(*) AS n FROM deposit d WHERE shipped_at IS NOT NULL")
    assert paid[0]["n"] == 3
    user = await User.select(User.id, User.password_hash).where(User.username == "js.clerk").first()
    assert auth.verify_password(user["password_hash"], "demo-pass-2026")
