"""One input model per action (issue 11 §5): the page reads the same dataclass its API twin
receives as JSON (settlements.inputs); the month pickers, the upload and the rebate tiers' rows
are read into those dataclasses by the readers beside them, every bad field said at once."""
from __future__ import annotations

from datetime import date

import pytest

from portal.actions import form_input
from portal.errors import ValidationFailed
from settlements.inputs import (
    AdjustmentIn,
    CorrectionIn,
    DecisionIn,
    RebatePolicyIn,
    TierIn,
    close_input,
    policy_input,
    volumes_input,
)


def test_the_forms_fields_are_the_api_models_names():
    data = form_input(AdjustmentIn, {"dealer_id": "42", "kind": "charge", "amount": "-80.00",
                                     "reason": "Late form", "corrects_statement_id": ""})
    assert data == AdjustmentIn(dealer_id=42, kind="charge", amount_fen=-8000,
                                reason="Late form", corrects_statement_id=None)
    assert form_input(DecisionIn, {"approve": "0", "reason": "no"}) == DecisionIn(False, "no")
    assert form_input(DecisionIn, {"approve": "1"}) == DecisionIn(True, "")


def test_a_correction_leaves_what_is_missing_to_the_service():
    assert form_input(CorrectionIn, {"kind": "charge", "amount": ""}) == CorrectionIn(
        "charge", None, "")
    with pytest.raises(ValidationFailed) as caught:
        form_input(CorrectionIn, {"kind": "charge", "amount": "abc"})
    assert caught.value.errors == {"amount": "Enter an amount in yuan, e.g. 120.00."}


def test_months_are_typed_as_months():
    assert close_input({"period": "2026-11"}).period == date(2026, 11, 1)
    with pytest.raises(ValidationFailed) as caught:
        close_input({"period": "November"})
    assert caught.value.errors == {"period": "Choose a month, e.g. 2026-11."}


def test_an_upload_needs_a_month_and_a_file_both_said_at_once():
    with pytest.raises(ValidationFailed) as caught:
        volumes_input({"period": ""})
    assert set(caught.value.errors) == {"period", "file"}


def test_the_tier_rows_are_read_into_the_api_model_in_fen_and_basis_points():
    form = {"effective_from": "2027-01", "from_0": "0", "rate_0": "0.5",
            "from_1": "100,000.00", "rate_1": "12.5", "reason": " terms "}
    assert policy_input(form) == RebatePolicyIn(
        effective_from=date(2027, 1, 1), reason="terms",
        tiers=[TierIn(0, 50), TierIn(10_000_000, 1250)])
    with pytest.raises(ValidationFailed) as caught:
        policy_input(form | {"effective_from": "soon", "rate_1": "12.5.5", "from_2": "5"})
    assert set(caught.value.errors) == {"effective_from", "rate_1", "rate_2"}
