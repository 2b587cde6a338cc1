"""Rebate policies (R26, issue 5 §1): tiered percentages the HQ administrator sets from a future
month on, the rows being the history; finance, CS and the auditor read them. Bad input answers
422 with the message beside its field and writes nothing; the API twin keeps the same rules."""
import re
from datetime import date, datetime

import pytest

from portal import clock
from portal.clock import CHINA
from portal.db import raw_fetch
from portal.errors import ValidationFailed
from settlements import hq_queries, rules, service
from tests.helpers import actor_of, api_token, client, login, make_user
from tests.spares.factory import network

DECEMBER = datetime(2026, 12, 10, 10, tzinfo=CHINA)
URL = "/settlements/rebate-policies"
GOOD = {"effective_from": "2027-01", "from_0": "0", "rate_0": "0.5",
        "from_1": "100,000.00", "rate_1": "1.5", "from_2": "500000", "rate_2": "2.25",
        "reason": "2027 dealer terms"}


@pytest.fixture(autouse=True)
def december():
    with clock.frozen(DECEMBER):
        yield


async def _world() -> dict:
    """The spares network, an HQ admin and an auditor, and November's policy (set in October)."""
    net = await network()
    for key, role in (("admin", "hq_admin"), ("auditor", "auditor")):
        net["users"][key] = await make_user(net["hq"], [role], username=key)
        net["actors"][key] = await actor_of(net["users"][key])
    with clock.frozen(datetime(2026, 10, 5, 10, tzinfo=CHINA)):
        await service.set_rebate_policy(actor=net["actors"]["admin"],
                                        effective_from=date(2026, 11, 1), reason="2026 terms",
                                        tiers=[rules.Tier(0, 0), rules.Tier(10_000_000, 100)])
    return net


async def _written() -> tuple[int, int]:
    """Policies and their audit rows: what a refused input must leave unchanged."""
    policies = await raw_fetch("SELECT count(*) AS n FROM rebate_policy")
    audits = await raw_fetch("SELECT count(*) AS n FROM audit_entry "
                             "WHERE object_type = 'rebate_policy'")
    return policies[0]["n"], audits[0]["n"]


def _row(page: str, policy_id: int) -> str:
    return re.search(rf'id="policy-{policy_id}">(.*?)</tr>', page, re.S).group(1)


async def test_r26_admin_adds_a_policy_from_a_future_month_and_the_history_shows_it():
    net = await _world()
    november = (await hq_queries.rebate_policies())[0]
    async with client() as c:
        csrf = await login(c, "admin")
        page = await c.get(URL)
        assert page.status_code == 200 and 'id="policy-form"' in page.text
        assert 'value="2027-01"' in page.text  # next month is proposed...
        for name, value in (("from_1", "100000.00"), ("rate_1", "1"), ("rate_0", "0")):
            # ...with the newest policy's tiers, in the form they are typed in
            assert re.search(rf'name="{name}"[^>]*value="{value}"', page.text), name
        assert re.search(r'name="from_2"[^>]*value=""', page.text)
        saved = await c.post(URL, data={"_csrf": csrf, **GOOD})
        assert saved.status_code == 303 and saved.headers["location"] == URL
        page = (await c.get(URL)).text
    new = (await hq_queries.rebate_policies())[0]
    assert new["effective_from"] == date(2027, 1, 1) and new["reason"] == "2027 dealer terms"
    # exact fen and basis points, parsed from the strings: ¥100,000.00 -> 10,000,000 fen
    assert [(t["from_fen"], t["rate_bp"]) for t in new["tiers"]] == [
        (0, 50), (10_000_000, 150), (50_000_000, 225)]
    assert new["created_by"] == net["users"]["admin"]["id"]
    row = _row(page, new["id"])
    assert "2027-01" in row and "100,000.00" in row and "1.5 %" in row and "2.25 %" in row
    assert "0.5 %" in row and "2027 dealer terms" in row and 'class="badge"' in row
    assert net["users"]["admin"]["username"] in row
    # newest first; December is still rebated by November's policy, January by the new one
    assert page.index(f'id="policy-{new["id"]}"') < page.index(f'id="policy-{november["id"]}"')
    assert 'class="badge ok"' in _row(page, november["id"])
    current = re.search(r'id="current-tiers">(.*?)</p>', page, re.S).group(1)
    assert "100,000.00" in current and "1 %" in current and "1.5 %" not in current
    assert (await hq_queries.rebate_policy_in_force(date(2026, 12, 1)))["id"] == november["id"]
    assert (await hq_queries.rebate_policy_in_force(date(2027, 3, 1)))["id"] == new["id"]
    assert await hq_queries.rebate_policy_in_force(date(2026, 10, 1)) is None
    assert await _written() == (2, 2)


async def test_r26_readers_see_the_policies_and_only_the_admin_may_change_them():
    await _world()
    for user in ("finance", "cs", "auditor"):
        async with client() as c:
            csrf = await login(c, user)
            page = await c.get(URL)
            assert page.status_code == 200, user
            assert "2026 terms" in page.text and 'id="policy-form"' not in page.text
            assert 'id="nav-rebate-policies"' in (await c.get("/statements")).text, user
            denied = await c.post(URL, data={"_csrf": csrf, **GOOD})
            assert denied.status_code == 403, user
    async with client() as c:
        csrf = await login(c, "clerk")
        assert (await c.get(URL)).status_code == 403
        assert (await c.post(URL, data={"_csrf": csrf, **GOOD})).status_code == 403
    assert await _written() == (1, 1)


BLANK_TIERS = {f"{f}_{i}": "" for i in range(3) for f in ("from", "rate")}


@pytest.mark.parametrize("change, field", [
    (BLANK_TIERS, "tiers"),                                        # no tiers at all
    ({"from_1": "0.00"}, "tiers"),                                 # two tiers start at ¥0
    ({"rate_2": "50.01"}, "tiers"),                                # above 50 %
    ({"effective_from": "2026-11"}, "effective_from"),             # a past month
    ({"effective_from": "2026-12"}, "effective_from"),             # this month is too late
    ({"effective_from": "soon"}, "effective_from"),
    ({"reason": "  "}, "reason"),
    ({"rate_1": "12.5.5"}, "rate_1"),                              # not a percentage
    ({"rate_0": "0.125"}, "rate_0"),                               # 3 decimals: not in bp
    ({"from_2": "¥-5"}, "from_2"),
    ({"from_2": ""}, "from_2"),                                    # a half-filled row
], ids=["no-tiers", "duplicate-start", "above-50", "past-month", "this-month", "not-a-month",
        "no-reason", "12.5.5", "three-decimals", "negative-from", "half-row"])
async def test_r26_bad_input_answers_422_beside_the_field_and_writes_nothing(change, field):
    await _world()
    form = GOOD | change
    async with client() as c:
        csrf = await login(c, "admin")
        bad = await c.post(URL, data={"_csrf": csrf, **form})
    assert bad.status_code == 422, bad.text
    assert f'id="error-{field}"' in bad.text
    assert 'id="policy-form"' in bad.text and 'value="2027 dealer terms"' in bad.text \
        or field == "reason"
    for name, value in form.items():  # every typed value is given back
        if name.startswith(("from_", "rate_")) and value:
            assert f'value="{value}"' in bad.text, name
    assert await _written() == (1, 1)


async def test_r26_rate_at_exactly_50_percent_is_allowed():
    await _world()
    async with client() as c:
        csrf = await login(c, "admin")
        ok = await c.post(URL, data={"_csrf": csrf, **GOOD, "rate_2": "50"})
    assert ok.status_code == 303
    assert (await hq_queries.rebate_policies())[0]["tiers"][-1]["rate_bp"] == 5_000


async def test_r26_api_twin_reads_and_sets_policies_with_the_same_rules():
    net = await _world()
    api = "/api/v1/settlements/rebate-policies"
    admin = {"Authorization": f"Bearer {await api_token(net['users']['admin'])}"}
    finance = {"Authorization": f"Bearer {await api_token(net['users']['finance'])}"}
    clerk = {"Authorization": f"Bearer {await api_token(net['users']['clerk'])}"}
    body = {"effective_from": "2027-02-01", "reason": "February terms",
            "tiers": [{"from_fen": 0, "rate_bp": 0}, {"from_fen": 20_000_000, "rate_bp": 300}]}
    async with client() as c:
        assert (await c.get(api, headers=clerk)).status_code == 403
        read = (await c.get(api, headers=finance)).json()
        assert read["in_force"]["reason"] == "2026 terms"
        assert [h["effective_from"] for h in read["history"]] == ["2026-11-01"]
        assert (await c.post(api, headers=finance, json=body)).status_code == 403
        too_high = await c.post(api, headers=admin, json=body | {
            "tiers": [{"from_fen": 0, "rate_bp": 5_001}]})
        assert too_high.status_code == 422 and "tiers" in too_high.json()["fields"]
        mid_month = await c.post(api, headers=admin, json=body | {"effective_from": "2027-02-15"})
        assert mid_month.status_code == 422 and "effective_from" in mid_month.json()["fields"]
        no_reason = await c.post(api, headers=admin, json=body | {"reason": ""})
        assert no_reason.status_code == 422 and "reason" in no_reason.json()["fields"]
        as_float = await c.post(api, headers=admin, json=body | {
            "tiers": [{"from_fen": 0, "rate_bp": 12.5}]})
        # basis points are integers, never a float: 422 naming the field (the validation edge)
        assert as_float.status_code == 422 and "tiers[0].rate_bp" in as_float.json()["fields"]
        assert await _written() == (1, 1)
        created = await c.post(api, headers=admin, json=body)
        assert created.status_code == 201, created.text
        assert created.json()["tiers"] == body["tiers"]
        read = (await c.get(api, headers=finance)).json()
        assert [h["effective_from"] for h in read["history"]] == ["2027-02-01", "2026-11-01"]
        assert read["history"][0]["tiers"] == body["tiers"]
        assert read["history"][0]["created_name"] == net["users"]["admin"]["username"]
        assert read["in_force"]["effective_from"] == "2026-11-01"  # December
        later = (await c.get(api, headers=finance, params={"month": "2027-03-01"})).json()
        assert later["in_force"]["reason"] == "February terms"
    assert await _written() == (2, 2)


async def test_r26_a_second_policy_for_the_same_month_is_refused_and_the_first_stands():
    """Policies are never edited (rebate_policy_once): a second one for January is told so."""
    net = await _world()
    admin = net["actors"]["admin"]
    await service.set_rebate_policy(actor=admin, effective_from=date(2027, 1, 1), reason="2027",
                                    tiers=[rules.Tier(0, 100)])
    before = await _written()
    with pytest.raises(ValidationFailed) as refused:
        await service.set_rebate_policy(actor=admin, effective_from=date(2027, 1, 1),
                                        reason="again", tiers=[rules.Tier(0, 200)])
    assert "effective_from" in refused.value.errors
    assert await _written() == before
    assert (await hq_queries.rebate_policy_in_force(date(2027, 1, 1)))["tiers"][0]["rate_bp"] == 100
