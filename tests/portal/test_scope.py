"""R1, the one scope helper for raw SQL: `portal.network.scope_sql` builds the condition and its
parameter; against the database it keeps exactly the rows `scope_condition` (the ORM twin) and
`Actor.can_see_path` keep."""
from __future__ import annotations

import pytest

from portal.actor import Actor
from portal.db import raw_fetch
from portal.network import scope_condition, scope_sql
from portal.tables import Organisation
from tests.helpers import make_org


def _actor(kind: str, path: str, roles: set[str], covered: tuple[str, ...] = ()) -> Actor:
    return Actor(user_id=1, username="u", display_name="U", organisation_id=1,
                 organisation_path=path, organisation_kind=kind, roles=frozenset(roles),
                 covered_paths=covered)


HQ = _actor("hq", "1.", {"hq_cs"})
OFFICE = _actor("office", "1.4.", {"dealer_clerk"})
REGIONAL = _actor("hq", "1.", {"manager"}, covered=("1.4.", "1.9."))
OFFICE_COVERING = _actor("office", "1.4.", {"manager"}, covered=("1.9.",))
NO_ROOTS = _actor("hq", "1.", {"manager"})  # an HQ manager covering no office


def test_hq_sees_everything_and_adds_no_parameter():
    args: list = ["x"]
    assert scope_sql(HQ, "o.path", args) == "TRUE"
    assert args == ["x"]


@pytest.mark.parametrize("actor, patterns", [
    (OFFICE, ["1.4.%"]),
    (REGIONAL, ["1.4.%", "1.9.%"]),
    (OFFICE_COVERING, ["1.4.%", "1.9.%"]),
    (NO_ROOTS, ["-"]),  # matches no path: sees nothing
])
def test_scoped_actor_appends_one_parameter_numbered_after_the_others(actor, patterns):
    args: list = ["now", 7]
    assert scope_sql(actor, "p.path", args) == "p.path LIKE ANY($3::text[])"
    assert args == ["now", 7, patterns]
    # a second call (another column in the same statement) gets the next number
    assert scope_sql(actor, "so.path", args) == "so.path LIKE ANY($4::text[])"
    assert args[3] == patterns


async def test_sql_and_orm_scopes_keep_the_same_rows():
    """A tree with siblings and a prefix trap (office "1.2." beside "1.20." and "1.21."): for
    each kind of actor the SQL condition, the ORM condition and can_see_path agree, row for row."""
    hq = await make_org("hq", region=None)
    offices = [await make_org("office", parent=hq) for _ in range(20)]
    first, last = offices[0], offices[-1]
    assert last["path"].startswith(first["path"][:-1])  # "1.21." starts like "1.2"
    store = await make_org("store", parent=first, region=None)
    sub = await make_org("subdistributor", parent=store, region=None)
    other_store = await make_org("store", parent=last, region=None)
    rows = await raw_fetch("SELECT id, path FROM organisation")
    actors = {
        "hq": _actor("hq", hq["path"], {"auditor"}),
        "office": _actor("office", first["path"], {"dealer_clerk"}),
        "store": _actor("store", store["path"], {"dealer_clerk"}),
        "regional": _actor("hq", hq["path"], {"manager"}, covered=(first["path"], last["path"])),
        "no roots": _actor("hq", hq["path"], {"manager"}),
    }
    seen = {}
    for name, actor in actors.items():
        args: list = []
        sql = await raw_fetch(
            f"SELECT id FROM organisation o WHERE {scope_sql(actor, 'o.path', args)}", *args)
        query = Organisation.select(Organisation.id)
        condition = scope_condition(actor, Organisation.path)
        if condition is not None:
            query = query.where(condition)
        orm = {r["id"] for r in await query}
        python = {r["id"] for r in rows if actor.can_see_path(r["path"])}
        seen[name] = {r["id"] for r in sql}
        assert seen[name] == orm == python, name
    assert seen["hq"] == {r["id"] for r in rows}
    assert seen["office"] == {first["id"], store["id"], sub["id"]}
    assert seen["store"] == {store["id"], sub["id"]}
    assert seen["regional"] == {first["id"], store["id"], sub["id"], last["id"], other_store["id"]}
    assert seen["no roots"] == set()
