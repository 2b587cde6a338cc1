"""R33, pure: the 24-hour visit at its edges (± 1 minute, across midnight and month end in China
time), routing by area, the opinion card's scores, and what each role may do in each status."""
from datetime import UTC, datetime, timedelta

import pytest

from portal.clock import CHINA
from service import call_rules

MINUTE = timedelta(minutes=1)
# calls just before midnight, on a month's last evening, on New Year's Eve and on 28 February
CALLS = [datetime(2026, 12, 2, 23, 59, tzinfo=CHINA), datetime(2026, 11, 30, 23, 30, tzinfo=CHINA),
         datetime(2026, 12, 31, 23, 59, tzinfo=CHINA), datetime(2027, 2, 28, 18, 0, tzinfo=CHINA),
         datetime(2026, 12, 1, 0, 0, tzinfo=CHINA)]


@pytest.mark.parametrize("called", CALLS)
@pytest.mark.parametrize("offset, late", [(-MINUTE, False), (timedelta(0), False), (MINUTE, True)])
def test_r33_visit_within_24_hours_at_the_edge(called, offset, late):
    due = call_rules.visit_due(called)
    assert due - called == timedelta(hours=24)
    # the due time is the same clock time the next day, in the next month or year
    assert due.astimezone(CHINA).time() == called.time()
    assert due.astimezone(CHINA).date() == called.date() + timedelta(days=1)
    visited = called + timedelta(hours=24) + offset
    assert call_rules.visit_breached(called, visited, now=visited) is late
    # not visited yet: late from the minute after the 24 hours, whatever now's day
    assert call_rules.visit_breached(called, None, now=visited) is late


def test_r33_a_late_visit_stays_a_breach_and_an_early_one_never_becomes_one():
    called = CALLS[1]
    later = called + timedelta(days=30)
    assert call_rules.visit_breached(called, called + timedelta(hours=25), now=later)
    assert not call_rules.visit_breached(called, called + timedelta(hours=23), now=later)


def test_r33_24_hours_are_real_hours_whatever_the_server_zone():
    utc = datetime(2026, 11, 30, 16, 1, tzinfo=CHINA).astimezone(UTC)
    assert call_rules.visit_due(utc).astimezone(CHINA) == datetime(2026, 12, 1, 16, 1, tzinfo=CHINA)


POINTS = [{"id": 1, "coverage_area": "南京市玄武区、鼓楼区", "open_calls": 3},
          {"id": 2, "coverage_area": "南京市鼓楼区、秦淮区", "open_calls": 1},
          {"id": 3, "coverage_area": "Guangzhou Haizhu district", "open_calls": 0},
          {"id": 4, "coverage_area": "南京市秦淮区", "open_calls": 1}]


@pytest.mark.parametrize("area, expected", [
    ("玄武区", 1),             # one point covers it
    ("鼓楼区", 2),             # two do: the one with fewer open calls
    ("秦淮区", 2),             # two with as many open calls: the lower id
    ("  haizhu ", 3),          # case and spaces do not matter
    ("HAIZHU DISTRICT", 3),
    ("浦东新区", None),         # none covers it: the recorder chooses
    ("", None),                # no area given: nothing to route by
])
def test_r33_routing_by_area(area, expected):
    assert call_rules.route_call(area, POINTS) == expected


def test_r33_routing_with_no_points():
    assert call_rules.route_call("鼓楼区", []) is None


@pytest.mark.parametrize("value, ok", [(0, False), (1, True), (3, True), (5, True), (6, False),
                                       (-1, False), (None, False), (True, False), ("3", False)])
def test_r33_scores_are_1_to_5(value, ok):
    scores = {"attitude": value, "skill": 4, "punctuality": 4}
    problems = call_rules.score_problems(scores)
    assert ("attitude" not in problems) is ok
    assert set(problems) <= {"attitude"}


def test_r33_every_missing_score_is_named():
    assert set(call_rules.score_problems({})) == {"attitude", "skill", "punctuality"}


@pytest.mark.parametrize("status, own, may_record, card, expected", [
    # the serving point's staff
    ("open", True, True, None, {"visit": None, "close": "refused", "cancel": None}),
    ("visited", True, True, False, {"close": None, "cancel": "refused", "card": None}),
    ("visited", True, True, True, {"close": None, "cancel": "refused", "card": "refused"}),
    ("closed", True, True, False, {"card": None}),
    ("closed", True, True, True, {"card": "refused"}),
    ("cancelled", True, True, None, {}),
    # an office's clerk or HQ customer service: the visit is the point's
    ("open", False, True, None, {"visit": "refused", "close": "refused", "cancel": None}),
    ("visited", False, True, False, {"close": None, "cancel": "refused", "card": None}),
    # anyone else (auditor, store, regional manager): nothing
    ("open", False, False, None, {}),
    ("visited", False, False, False, {}),
])
def test_r33_call_actions(status, own, may_record, card, expected):
    actions = call_rules.call_actions(status=status, own_point=own, may_record=may_record,
                                 card_filled=card)
    assert {k: None if v is None else "refused" for k, v in actions.items()} == expected
    for refusal in actions.values():
        if refusal is not None:
            assert "R3" not in refusal.message and refusal.message.endswith(".")
