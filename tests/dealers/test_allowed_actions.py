"""What a person may do with a batch now (rules.allowed_actions, issue 9 §4): the page shows the
same refusals the services raise. Pure, parametrized, one case per rule (R4, R5, R7, R8, R9)."""
from datetime import date, datetime

import pytest

from dealers.rules import Refusal, allowed_actions, submit_refusal
from portal.clock import CHINA

DEC = date(2026, 12, 1)
IN_WEEK_2 = datetime(2026, 12, 9, 10, 0, tzinfo=CHINA)
AFTER_WEEK_2 = datetime(2026, 12, 15, 0, 0, tzinfo=CHINA)  # the first instant after day 14
LAST_MINUTE = datetime(2026, 12, 14, 23, 59, tzinfo=CHINA)


def _draft(**overrides):
    values = dict(status="draft", kind="regular", month=DEC, line_count=3, is_staff=True,
                  is_manager=False, is_cs=False, is_submitter=False, is_signer=False,
                  now=IN_WEEK_2, week=2)
    values.update(overrides)
    return allowed_actions(**values)


@pytest.mark.parametrize("now, week, kind, month, lines, expected", [
    (IN_WEEK_2, 2, "regular", DEC, 3, None),  # R5: inside the window
    (LAST_MINUTE, 2, "regular", DEC, 3, None),  # R3: the window's last China minute
    (AFTER_WEEK_2, 2, "regular", DEC, 3, "only possible in your window, 2026-12-08 to 2026-12-14"),
    (IN_WEEK_2, 1, "regular", DEC, 3, "only possible in your window, 2026-12-01 to 2026-12-07"),
    (IN_WEEK_2, None, "regular", DEC, 3, "has no return window"),  # R4
    (IN_WEEK_2, 2, "regular", date(2027, 1, 1), 3, "belongs to 2027-01"),  # rolled over (R5)
    (AFTER_WEEK_2, 2, "special", DEC, 3, None),  # R7: a special batch on any day
    (AFTER_WEEK_2, None, "special", date(2026, 11, 1), 3, None),  # R7: of any month
    (IN_WEEK_2, 2, "regular", DEC, 0, "at least one line"),
    (AFTER_WEEK_2, 2, "special", DEC, 0, "at least one line"),
])
def test_r5_r7_submit_refusal(now, week, kind, month, lines, expected):
    refusal = submit_refusal(kind=kind, month=month, line_count=lines, now=now, week=week)
    if expected is None:
        assert refusal is None
    else:
        assert expected in refusal.message % refusal.kwargs


def test_r5_refusal_outside_the_window_names_the_window_and_the_special_approval():
    refusal = _draft(now=AFTER_WEEK_2)["submit"]
    text = refusal.message % refusal.kwargs
    assert "2026-12-08" in text and "2026-12-14" in text and "special approval" in text
    assert "R5" not in text  # rule ids stay in code, never in what people read


@pytest.mark.parametrize("status, roles, own, expected", [
    ("draft", {"is_staff": True}, {}, {"submit": None, "withdraw": None}),
    ("draft", {"is_staff": False, "is_manager": True}, {}, {}),  # another office's manager
    ("submitted", {"is_staff": True}, {}, {}),  # a clerk waits for the signature
    ("submitted", {"is_manager": True}, {}, {"sign": None, "return": None}),
    ("submitted", {"is_manager": True}, {"is_submitter": True},
     {"sign": "Nobody signs their own submission", "return": None}),  # R8
    ("signed", {"is_cs": True}, {}, {"approve": None, "refuse": None}),
    ("signed", {"is_cs": True}, {"is_submitter": True},
     {"approve": "Nobody approves their own", "refuse": "Nobody approves their own"}),  # R9
    ("signed", {"is_cs": True}, {"is_signer": True},
     {"approve": "Nobody approves their own", "refuse": "Nobody approves their own"}),  # R9
    ("signed", {"is_manager": True}, {}, {}),
    ("approved", {"is_cs": True, "is_staff": True}, {}, {}),  # dispatch has its own form
    ("withdrawn", {"is_staff": True}, {}, {}),
])
def test_r8_r9_who_sees_which_action_and_why_it_is_refused(status, roles, own, expected):
    values = {"is_staff": False, "is_manager": False, "is_cs": False, **roles, **own}
    actions = _draft(status=status, **values)
    assert set(actions) == set(expected)
    for name, why in expected.items():
        if why is None:
            assert actions[name] is None, name
        else:
            assert isinstance(actions[name], Refusal) and why in actions[name].message
