"""Oversight rules, pure (R30, R36, R37, R38)."""
from __future__ import annotations

from datetime import date

import pytest

from oversight import rules
from oversight.rules import AuditStatus, OrderStatus

D = date(2026, 12, 10)


@pytest.mark.parametrize("announced, status, visited, seen", [
    (False, "submitted", False, False), (False, "approved", False, False),
    (False, "visited", True, True), (False, "reported", True, True),
    (True, "submitted", False, False), (True, "returned", False, False),
    (True, "approved", False, True), (True, "reported", True, True),
])
def test_r30_what_the_audited_office_sees(announced, status, visited, seen):
    assert rules.office_sees(announced=announced, status=status, visited=visited) is seen


@pytest.mark.parametrize("reported_on, today, breached", [
    (None, D, False), (None, date(2026, 12, 11), True), (D, date(2027, 1, 1), False),
    (date(2026, 12, 11), date(2026, 12, 11), True),
])
def test_r30_report_deadline(reported_on, today, breached):
    assert rules.report_due_breached(D, reported_on, today) is breached


@pytest.mark.parametrize("status", list(AuditStatus))
def test_r30_visit_only_once_approved(status):
    actions = rules.audit_actions(status=status, is_vp=False, in_group=True, is_lead=True)
    if "visit" in actions:
        assert (actions["visit"] is None) == (status == AuditStatus.approved)
    assert "approve" not in actions and "instruct" not in actions


@pytest.mark.parametrize("status", list(OrderStatus))
def test_r30_group_member_never_issues_or_closes(status):
    for is_line in (False, True):
        actions = rules.order_actions(status=status, is_line=is_line, in_group=True,
                                      is_office=False)
        for step in ("issue", "close", "reopen"):
            assert actions.get(step) is not None or step not in actions


def test_r30_line_department_steps():
    line = dict(is_line=True, in_group=False, is_office=False)
    assert rules.order_actions(status="instructed", **line) == {"issue": None}
    assert rules.order_actions(status="answered", **line) == {"close": None, "reopen": None}
    assert rules.order_actions(status="closed", **line) == {}
    office = dict(is_line=False, in_group=False, is_office=True)
    assert rules.order_actions(status="issued", **office) == {"answer": None}
    assert rules.order_actions(status="instructed", **office) == {}


@pytest.mark.parametrize("score, band", [(0, "fail"), (69, "fail"), (70, "pass"), (79, "pass"),
                                         (80, "good"), (89, "good"), (90, "excellent")])
def test_r36_bands(score, band):
    assert rules.appraisal_band(score) == band


def test_r37_visit_needs_a_topic_feedback_and_whole_training():
    errors = rules.visit_problems({"training_who": "张师傅"}, visited_on=D, today=D)
    assert set(errors) == {"feedback", "parts_management", "training_what"}
    assert rules.visit_problems({"parts_management": "ok", "feedback": "好"},
                                visited_on=date(2026, 12, 11), today=D) == {
        "visited_on": "The visit cannot be in the future."}


@pytest.mark.parametrize("approved, active, entry, shown", [
    (True, True, True, True), (False, True, True, False), (True, False, True, False),
    (True, True, False, False)])
def test_r38_published_only_when_approved_open_and_given(approved, active, entry, shown):
    assert rules.published(approved=approved, active=active, has_entry=entry) is shown


def test_r38_map_link():
    assert rules.map_link(latitude=32.05, longitude=118.78, name="点", address="x").startswith(
        "https://uri.amap.com/marker?position=118.780000,32.050000")
    assert "keyword=" in rules.map_link(latitude=None, longitude=None, name="点", address="路")


def test_r35_ratio_says_too_few():
    assert rules.ratio(3, 4) is None and rules.ratio(9, 10) == 90
