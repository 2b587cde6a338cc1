"""Pure rules of return lines at their edges: R17 warranty, R18 CFL judgement, R13 decision,
R12/R14 deadlines, and the batch lifecycle."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dealers import rules
from dealers.rules import CategoryTerms, Condition, expected_verdict

CHINA = ZoneInfo("Asia/Shanghai")
CFL = CategoryTerms(warranty_months=12, is_cfl=True)
TUBE = CategoryTerms(warranty_months=6, is_cfl=False)
CEILING = CategoryTerms(warranty_months=12, is_cfl=False)
PLASTIC = CategoryTerms(warranty_months=0, is_cfl=False)
DEAD = Condition(lights=False, cap_percent=90)


@pytest.mark.parametrize("start, months, expected", [
    (date(2025, 1, 31), 1, date(2025, 2, 28)),
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2025, 11, 30), 15, date(2027, 2, 28)),
    (date(2025, 12, 15), 1, date(2026, 1, 15)),
    (date(2025, 3, 1), 15, date(2026, 6, 1)),
])
def test_add_months_clamps_to_month_end(start, months, expected):
    assert rules.add_months(start, months) == expected


@pytest.mark.parametrize("days_after_15_months, exchangeable", [(-1, True), (0, False), (1, False)])
def test_r18d_date_code_15_months_plus_minus_one_day(days_after_15_months, exchangeable):
    """Within 15 months of manufacture: one for one; beyond, never (R18d). Manufactured
    2025-03-10: the 15 months end on 2026-06-09; from 2026-06-10 it is out."""
    made = date(2025, 3, 10)
    on = rules.add_months(made, 15) + timedelta(days=days_after_15_months)
    verdict = expected_verdict(CFL, DEAD, on=on, date_code=made)
    assert verdict.exchangeable is exchangeable
    assert verdict.dealer_until == date(2026, 6, 9)


def test_r18d_dealer_clock_15_months_while_consumer_warranty_stays_12():
    made, bought = date(2025, 1, 5), date(2025, 2, 1)
    on = date(2026, 3, 1)  # 14 months after manufacture, 13 after purchase
    verdict = expected_verdict(CFL, DEAD, on=on, date_code=made, purchase_date=bought)
    assert verdict.dealer_until == date(2026, 4, 4)
    assert verdict.consumer_until == date(2026, 1, 31)
    assert not verdict.exchangeable
    assert verdict.reasons == ("Out of the consumer warranty (R17).",)
    without_purchase = expected_verdict(CFL, DEAD, on=on, date_code=made)
    assert without_purchase.exchangeable


@pytest.mark.parametrize("cap, exchangeable", [(79, False), (80, True), (81, True), (100, True),
                                               (0, False), (None, True)])
def test_r18b_cap_exactly_80_percent_new_is_not_aged(cap, exchangeable):
    verdict = expected_verdict(CFL, Condition(cap_percent=cap), on=date(2026, 1, 1),
                               date_code=date(2025, 6, 1))
    assert verdict.exchangeable is exchangeable


def test_r18a_a_lamp_that_lights_is_never_exchanged():
    verdict = expected_verdict(CFL, Condition(lights=True, cap_percent=100), on=date(2026, 1, 1),
                               date_code=date(2025, 12, 1))
    assert not verdict.exchangeable
    assert "The lamp still lights (R18a)." in verdict.reasons


def test_r18b_broken_lamp_that_does_not_light_is_exchanged():
    verdict = expected_verdict(CFL, Condition(broken=True, cap_percent=85), on=date(2026, 1, 1),
                               date_code=date(2025, 12, 1))
    assert verdict.exchangeable


@pytest.mark.parametrize("condition", [Condition(tube_greyed=True, cap_percent=95),
                                       Condition(bridge_blackened=True, cap_percent=95)])
def test_r18c_greyed_tube_or_blackened_bridges_not_exchanged(condition):
    verdict = expected_verdict(CFL, condition, on=date(2026, 1, 1), date_code=date(2025, 12, 1))
    assert not verdict.exchangeable
    assert "Greyed tube or blackening between the bridges (R18c)." in verdict.reasons


def test_r18d_cfl_without_date_code_cannot_be_judged_exchangeable():
    assert not expected_verdict(CFL, DEAD, on=date(2026, 1, 1)).exchangeable


def test_r17_plastic_parts_have_no_warranty():
    verdict = expected_verdict(PLASTIC, Condition(), on=date(2026, 1, 1),
                               purchase_date=date(2025, 12, 31))
    assert not verdict.exchangeable
    assert verdict.reasons == ("No warranty for this category (R17).",)


@pytest.mark.parametrize("bought, exchangeable", [
    (date(2025, 7, 2), True),   # the 6 months end on 2026-01-01, the day it is judged
    (date(2025, 7, 1), False),  # ended on 2025-12-31
])
def test_r17_tubes_at_6_months(bought, exchangeable):
    verdict = expected_verdict(TUBE, Condition(), on=date(2026, 1, 1), purchase_date=bought)
    assert verdict.exchangeable is exchangeable


def test_r17_ceiling_lamp_one_year_and_no_cfl_rules():
    lit = Condition(lights=True)  # R18 is for CFLs only
    assert expected_verdict(CEILING, lit, on=date(2026, 1, 1),
                            purchase_date=date(2025, 1, 2)).exchangeable
    assert not expected_verdict(CEILING, lit, on=date(2026, 1, 1),
                                purchase_date=date(2025, 1, 1)).exchangeable


@pytest.mark.parametrize("text, expected", [("20250315", date(2025, 3, 15)),
                                            ("2025-03-15", date(2025, 3, 15))])
def test_date_code_formats(text, expected):
    assert rules.parse_date_code(text) == expected


@pytest.mark.parametrize("text", ["", "2025031", "202503150", "2025-13-01", "20250230", "abcdefgh"])
def test_malformed_date_codes_refused(text):
    with pytest.raises(ValueError):
        rules.parse_date_code(text)


@pytest.mark.parametrize("received, e, c, r, reason, ok", [
    (10, 10, 0, 0, None, True), (10, 4, 3, 3, "CAP_AGED", True), (10, 5, 5, 1, "X", False),
    (10, 9, 0, 0, None, False), (0, 0, 0, 0, None, True), (10, 0, 0, 10, None, False),
    (10, -1, 11, 0, None, False),
])
def test_r13_exchanged_credited_rejected_equal_received(received, e, c, r, reason, ok):
    assert (rules.check_decision(received, e, c, r, reason) == {}) is ok


def test_r13_proposal_follows_inspection():
    good = expected_verdict(CFL, DEAD, on=date(2026, 1, 1), date_code=date(2025, 6, 1))
    bad = expected_verdict(CFL, Condition(lights=True), on=date(2026, 1, 1),
                           date_code=date(2025, 6, 1))
    assert rules.propose_decision(7, good) == (7, 0, 0)
    assert rules.propose_decision(7, bad) == (0, 0, 7)


def test_r12_count_due_by_end_of_day_after_arrival_in_china_time():
    arrived = datetime(2026, 12, 9, 23, 30, tzinfo=CHINA)  # 15:30 UTC
    due = rules.receive_deadline(arrived.astimezone(ZoneInfo("UTC")))
    assert due == datetime(2026, 12, 11, 0, 0, tzinfo=CHINA)
    assert not rules.breached(due, None, due - timedelta(seconds=1))
    assert rules.breached(due, None, due)
    assert rules.breached(due, due + timedelta(minutes=1), due + timedelta(days=9))
    assert not rules.breached(due, due - timedelta(minutes=1), due + timedelta(days=9))


def test_r14_decision_due_within_3_days_of_arrival():
    arrived = datetime(2026, 12, 9, 0, 5, tzinfo=CHINA)
    assert rules.decide_deadline(arrived) == datetime(2026, 12, 13, 0, 0, tzinfo=CHINA)


@pytest.mark.parametrize("current, target, ok", [
    ("draft", "submitted", True), ("submitted", "signed", True), ("signed", "approved", True),
    ("draft", "approved", False), ("submitted", "approved", False), ("refused", "approved", False),
    ("dispositioned", "received", False), ("received", "dispositioned", True),
])
def test_lifecycle_transitions(current, target, ok):
    assert rules.can_move(current, target) is ok
