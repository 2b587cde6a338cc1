"""R36 appraisal: each office and repair point scored from its quarter's figures with HQ's
weights (and an office's audit result), the inputs kept; below 70 needs corrective and
preventive actions; a sibling's score answers 404."""
from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from portal import clock
from portal.db import raw_fetch
from portal.errors import NotFound, RuleViolation
from portal.tables import PolicyValue
from tests.helpers import api_token, client, csrf_from, login
from tests.tower import factory as f
from tests.tower.test_kpis import seed_month
from tower import appraisal, rules
from tower.inputs import AppraisalComputeIn, CorrectiveActionIn

Q4 = date(2026, 10, 1)
NOW = datetime(2027, 1, 5, 10, tzinfo=f.CHINA)


@pytest.fixture(autouse=True)
def frozen_clock():
    with clock.frozen(NOW):
        yield


async def scored(w: f.World) -> dict[str, dict]:
    await PolicyValue.insert(PolicyValue(key="kpi_min_cases_count", value=3,
                                         effective_from=date(2000, 1, 1), created_at=clock.now()))
    await seed_month(w)
    n = await appraisal.compute(actor=w.actors["cs"], data=AppraisalComputeIn(period_start=Q4))
    rows = await raw_fetch("SELECT * FROM appraisal_score")
    assert n == len(rows)
    by_org = {r["organisation"]: r for r in rows}
    return {name: by_org[w.orgs[name]["id"]] for name in ("a", "c", "a_point")
            if w.orgs[name]["id"] in by_org}


async def test_r36_scores_from_the_quarters_figures_with_weights_and_inputs_kept():
    w = await f.world()
    s = await scored(w)
    # office C, Q4 (October and November): on-site 3/3 green 100, complaint rate 1/100 = 1 %
    # (not below 1 %: target/value = 100 points), return rate 2/100 green 100; others too few
    c = s["c"]
    inputs = json.loads(c["inputs"]) if isinstance(c["inputs"], str) else c["inputs"]
    assert inputs["measures"]["on_site"]["points"] == 100
    assert inputs["measures"]["complaint_rate"]["points"] == 100
    assert inputs["measures"]["satisfaction"]["points"] is None
    assert c["score"] == 100
    # office A over the quarter: on-site 5/6 (83.33 %: 83 points), quality complaints 4/1149
    # green, resolution 2/3 (66.67 %: 68 points), satisfaction 9/11 (81.82 %: 86 points),
    # first-time fix 6/8 with October's call (75 %: 83 points), returns 14/1149 (1.22 %) green;
    # weights 20/15/15/20/15/15: 8645 / 100 = 86.45
    a = s["a"]
    expected = rules.appraisal_score(
        {"on_site": 83, "complaint_rate": 100, "resolution": 68, "satisfaction": 86,
         "first_time_fix": 83, "return_rate": 100},
        {"on_site": 20, "complaint_rate": 15, "resolution": 15, "satisfaction": 20,
         "first_time_fix": 15, "return_rate": 15})
    assert a["score"] == expected == 86
    # computing again writes nothing new
    assert await appraisal.compute(actor=w.actors["cs"],
                                   data=AppraisalComputeIn(period_start=Q4)) == 0


async def test_r36_a_quarter_not_over_or_not_a_quarter_is_refused():
    w = await f.world()
    with pytest.raises(RuleViolation):
        await appraisal.compute(actor=w.actors["cs"],
                                data=AppraisalComputeIn(period_start=date(2027, 1, 1)))


def test_r36_bands_and_points():
    assert [rules.band(s) for s in (69, 70, 79, 80, 89, 90)] == [
        "fail", "pass", "pass", "good", "good", "excellent"]
    fig = rules.figure("return_rate", 3, 100, target_bp=200, min_cases=1, amber_margin_bp=500)
    assert rules.measure_points(fig) == 66  # 2 % / 3 %
    assert rules.appraisal_score({"a": None}, {"a": 1}) is None
    assert rules.appraisal_score({"a": 50}, {"a": 1}, audit=90, audit_weight=1) == 70


async def test_r36_below_70_needs_actions_recorded_by_the_unit_or_cs():
    w = await f.world()
    await scored(w)
    await raw_fetch("UPDATE appraisal_score SET score = 64 WHERE organisation = $1",
                    w.orgs["a"]["id"])
    sid = (await raw_fetch("SELECT id FROM appraisal_score WHERE organisation = $1",
                           w.orgs["a"]["id"]))[0]["id"]
    async with client() as c:
        await login(c, "manager")
        page = await c.get(f"/tower/appraisals/{sid}")
        assert page.status_code == 200 and 'id="action-form"' in page.text
        done = await c.post(f"/tower/appraisals/{sid}/actions", data={
            "_csrf": csrf_from(page.text), "kind": "corrective", "action": "回访每位客户"})
        assert done.status_code == 303
        assert "actions needed" in (await c.get("/tower/appraisals?quarter=2026-10-01")).text
    await appraisal.add_action(actor=w.actors["cs"], appraisal_id=sid,
                               data=CorrectiveActionIn(kind="preventive", action="培训"))
    row = (await appraisal.list_scores(actor=w.actors["cs"], period_start=Q4))[0]
    assert (row["score"], row["needs_actions"]) == (64, False)
    with pytest.raises(NotFound):  # a sibling office (R1)
        await appraisal.add_action(actor=w.actors["c_manager"], appraisal_id=sid,
                                   data=CorrectiveActionIn(kind="preventive", action="x"))


@pytest.mark.parametrize("who,target,status", [
    ("manager", "a", 200), ("manager", "a_point", 200), ("manager", "c", 404),
    ("c_manager", "a", 404), ("cs", "c", 200), ("staff", "a", 404)])
async def test_r1_appraisal_page_and_api_tenant_matrix(who, target, status):
    w = await f.world()
    s = await scored(w)
    sid = s[target]["id"]
    async with client() as c:
        await login(c, who)
        assert (await c.get(f"/tower/appraisals/{sid}")).status_code == status
        token = await api_token(w.users[who])
        api = await c.get(f"/api/v1/tower/appraisals/{sid}",
                          headers={"Authorization": f"Bearer {token}"})
        assert api.status_code == status
        listed = (await c.get("/tower/appraisals?quarter=2026-10-01")).text
        assert (f'id="appraisal-{sid}"' in listed) == (status == 200)
