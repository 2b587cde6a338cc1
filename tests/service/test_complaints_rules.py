"""R32's pure rules (service/complaint_rules.py): the SLA clocks at their edges in
China time (± 1 minute, across midnight, month end and year end), breaches, the assignee by
type, who may take which step when (allowed_actions: the page's disabled reasons), closing."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from portal.actor import Actor
from portal.clock import CHINA
from service import complaint_rules

MINUTE = timedelta(minutes=1)
# recorded late in the evening before midnight, on a month's last day (also February's, and
# the year's), and just after midnight: the clock runs in real hours whatever the calendar
RECORDED = [datetime(2026, 12, 31, 23, 30, tzinfo=CHINA), datetime(2027, 2, 28, 23, 59, tzinfo=CHINA),
            datetime(2026, 11, 30, 12, 0, tzinfo=CHINA), datetime(2027, 3, 1, 0, 1, tzinfo=CHINA)]


def _complaint(recorded: datetime, **fields) -> dict:
    acknowledge_by, resolve_by = complaint_rules.complaint_deadlines(recorded, 24, 7)
    return {"status": "recorded", "acknowledge_by": acknowledge_by, "resolve_by": resolve_by,
            "judged_at": None, "told_at": None, **fields}


@pytest.mark.parametrize("recorded", RECORDED, ids=lambda d: d.strftime("%m-%d %H:%M"))
def test_r32_deadlines_are_24_hours_and_7_days_of_real_time(recorded):
    acknowledge_by, resolve_by = complaint_rules.complaint_deadlines(recorded, 24, 7)
    assert acknowledge_by - recorded == timedelta(hours=24)
    assert resolve_by - recorded == timedelta(days=7)
    # the China date moves on (across midnight, month end, year end), the time of day stays
    assert acknowledge_by.astimezone(CHINA).date() == (recorded + timedelta(days=1)).date()
    assert acknowledge_by.astimezone(CHINA).strftime("%H:%M") == recorded.strftime("%H:%M")


@pytest.mark.parametrize("recorded", RECORDED, ids=lambda d: d.strftime("%m-%d %H:%M"))
@pytest.mark.parametrize("offset, late", [(-MINUTE, False), (timedelta(0), False),
                                          (MINUTE, True)])
def test_r32_acknowledgement_breached_one_minute_after_24_hours(recorded, offset, late):
    complaint = _complaint(recorded)
    now = recorded + timedelta(hours=24) + offset
    assert complaint_rules.complaint_breaching(complaint, now) is late
    assert complaint_rules.complaint_breaches(complaint, now) == (late, False)
    judged = _complaint(recorded, status="judged", judged_at=now)  # judged at that minute
    assert complaint_rules.complaint_breaches(judged, now + timedelta(days=1))[0] is late
    assert complaint_rules.complaint_breaching(judged, now + timedelta(days=1)) is False  # done, in time or not


@pytest.mark.parametrize("recorded", RECORDED, ids=lambda d: d.strftime("%m-%d %H:%M"))
@pytest.mark.parametrize("offset, late", [(-MINUTE, False), (MINUTE, True)])
def test_r32_answer_breached_one_minute_after_7_days(recorded, offset, late):
    now = recorded + timedelta(days=7) + offset
    open_ = _complaint(recorded, status="approved", judged_at=recorded)
    assert complaint_rules.complaint_breaching(open_, now) is late
    told = _complaint(recorded, status="told", judged_at=recorded, told_at=now)
    assert complaint_rules.complaint_breaches(told, now + timedelta(days=30)) == (False, late)
    assert complaint_rules.complaint_breaching(told, now + timedelta(days=30)) is False
    finished = _complaint(recorded, status="not_standing", judged_at=recorded, told_at=recorded)
    assert complaint_rules.complaint_breaching(finished, now + timedelta(days=30)) is False


@pytest.mark.parametrize("kind, about, org_kind, expected", [
    ("quality", "product", None, "hq_tech"), ("quality", "repair_point", "repair_point", "hq_tech"),
    ("service", "repair_point", "repair_point", "unit"), ("service", "office", "office", "unit"),
    ("service", "person", None, "hq_cs"), ("suggestion", "repair_point", "repair_point", "hq_cs"),
    (None, "other", None, "hq_cs")])
def test_r32_the_type_points_to_the_responsible_unit(kind, about, org_kind, expected):
    assert complaint_rules.suggested_assignee(kind, about, org_kind) == expected


def _actor(kind: str, *roles: str, org: int = 10, user: int = 1) -> Actor:
    return Actor(user_id=user, username="u", display_name="u", organisation_id=org,
                 organisation_path=f"1.{org}.", organisation_kind=kind, roles=frozenset(roles))


CS = _actor("hq", "hq_cs", org=1, user=2)
VP = _actor("hq", "vice_president", org=1, user=3)
TECH = _actor("hq", "hq_tech", org=1, user=4)
CLERK = _actor("office", "dealer_clerk", org=10, user=5)  # holds the complaint
POINT = _actor("repair_point", "repair_staff", org=20, user=6)  # assigned to it
OTHER_POINT = _actor("repair_point", "repair_staff", org=21, user=7)
AUDITOR = _actor("hq", "auditor", org=1, user=8)
WHO = {"cs": CS, "vp": VP, "tech": TECH, "clerk": CLERK, "point": POINT,
       "other_point": OTHER_POINT, "auditor": AUDITOR}
OPEN = "open"  # the step is offered and possible


@pytest.mark.parametrize("status, major, who, expected", [
    ("recorded", False, "cs", {"judge": OPEN}),
    ("recorded", False, "clerk", {}), ("recorded", False, "auditor", {}),
    ("judged", False, "cs", {"assign": OPEN}),
    ("assigned", False, "point", {"investigate": OPEN, "propose": "Record the investigation"}),
    ("assigned", False, "other_point", {}),
    ("assigned", False, "clerk", {"tell": "once the resolution is approved"}),
    ("investigated", False, "point", {"propose": OPEN}),
    ("proposed", False, "cs", {"approve": OPEN, "tell": "once the resolution is approved"}),
    ("proposed", True, "cs", {"approve": "vice-president", "tell": "once the resolution"}),
    ("proposed", True, "vp", {"approve": OPEN}),
    ("proposed", False, "vp", {}),
    ("approved", False, "clerk", {"tell": OPEN, "close": "before the customer is told"}),
    ("told", False, "clerk", {"close": OPEN}),
    ("told", False, "point", {}),
    ("closed", False, "cs", {}), ("not_standing", False, "clerk", {}),
])
def test_r32_allowed_actions(status, major, who, expected):
    complaint = {"status": status, "major": major, "organisation": 10, "org_kind": "office",
                 "assigned_to": "unit", "assigned_org": 20, "assigned_kind": "repair_point",
                 "proposed_by": 6}
    steps = complaint_rules.allowed_actions(complaint, WHO[who])
    assert set(steps) == set(expected), steps
    for step, why in expected.items():
        if why == OPEN:
            assert steps[step] is None, step
        else:
            assert steps[step] is not None and why in steps[step].message, step


def test_r32_nobody_approves_their_own_proposal():
    complaint = {"status": "proposed", "major": False, "organisation": 1, "org_kind": "hq",
                 "assigned_to": "hq_cs", "proposed_by": CS.user_id}
    refusal = complaint_rules.allowed_actions(complaint, CS)["approve"]
    assert refusal is not None and "own proposal" in refusal.message
    other = _actor("hq", "hq_cs", org=1, user=99)
    assert complaint_rules.allowed_actions(complaint, other)["approve"] is None


@pytest.mark.parametrize("assigned_to, who, investigates", [
    ("hq_tech", "tech", True), ("hq_tech", "cs", False), ("management", "vp", True),
    ("hq_logistics", "tech", False), ("hq_cs", "cs", True)])
def test_r32_the_assigned_unit_investigates(assigned_to, who, investigates):
    complaint = {"status": "assigned", "major": False, "organisation": 10, "org_kind": "office",
                 "assigned_to": assigned_to, "assigned_org": None, "assigned_kind": None}
    assert ("investigate" in complaint_rules.allowed_actions(complaint, WHO[who])) is investigates


@pytest.mark.parametrize("major, preventive, problems", [
    (False, "", set()), (True, "", {"preventive"}), (True, "  ", {"preventive"}),
    (True, "每周抽检。", set())])
def test_r32_closing_needs_accountability_improvement_and_for_major_prevention(
        major, preventive, problems):
    assert set(complaint_rules.close_problems(major=major, accountability="扣奖金", improvement="培训",
                                    preventive=preventive)) == problems
    assert set(complaint_rules.close_problems(major=major, accountability=" ", improvement="",
                                    preventive=preventive)) == problems | {"accountability",
                                                                           "improvement"}


@pytest.mark.parametrize("typed, ok", [("TSABCDEFGH", True), ("ts abcd-efgh", True),
                                       ("TSABCDEFG0", False), ("TSABCDEFG", False),
                                       ("XXABCDEFGH", False), ("", False)])
def test_r32_references(typed, ok):
    assert complaint_rules.is_reference(complaint_rules.normalise_reference(typed)) is ok
