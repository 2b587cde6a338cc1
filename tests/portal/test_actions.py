"""The one action pattern (portal/actions.py): a form is read into the same input model as the
API twin's JSON, with every field's problem said beside it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from dealers.inputs import DispatchIn, SpecialDecisionIn
from portal.actions import form_input
from portal.errors import ValidationFailed


@dataclass
class Sample:
    name: str
    quantity: int
    amount_fen: int
    on: date
    note: str = ""
    limit: int | None = None
    urgent: bool = False
    ids: list[int] | None = None


class Form(dict):
    """What Litestar hands a handler: get() and getall()."""

    def getall(self, key):
        value = self[key]
        return value if isinstance(value, list) else [value]


def test_each_field_is_read_by_its_type_and_money_is_typed_in_yuan():
    data = form_input(Sample, Form(name="  江苏  ", quantity="12", amount="1,234.5",
                                   on="2026-11-30", urgent="on", ids=["3", "4"]))
    assert data == Sample(name="江苏", quantity=12, amount_fen=123450, on=date(2026, 11, 30),
                          urgent=True, ids=[3, 4])


def test_empty_fields_take_the_default_or_none():
    data = form_input(Sample, Form(name="x", quantity="1", amount="0", on="2026-01-01",
                                   limit=""))
    assert (data.note, data.limit, data.urgent) == ("", None, False)


def test_every_bad_field_is_reported_at_once_under_the_forms_own_names():
    with pytest.raises(ValidationFailed) as caught:
        form_input(Sample, Form(name="x", quantity="1e3", amount="12.345", on="30/11/2026",
                                limit="99999999999"))
    assert caught.value.errors == {
        "quantity": "Enter a whole number.",
        "amount": "Enter an amount in yuan, e.g. 120.00.",
        "on": "Enter a date as YYYY-MM-DD.",
        "limit": "Enter a whole number.",
    }


def test_a_missing_required_field_is_required():
    with pytest.raises(ValidationFailed) as caught:
        form_input(Sample, Form(name="x"))
    assert caught.value.errors == {"quantity": "Required.", "amount": "Required.",
                                   "on": "Required."}


def test_control_characters_are_refused_not_stored():
    with pytest.raises(ValidationFailed) as caught:
        form_input(Sample, Form(name="a\x00b", quantity="1", amount="1", on="2026-01-01"))
    assert set(caught.value.errors) == {"name"}


def test_a_line_break_is_text_but_not_a_number():
    data = form_input(Sample, Form(name="x", note="line one\nline two", quantity="1",
                                   amount="1", on="2026-01-01"))
    assert data.note == "line one\nline two"
    with pytest.raises(ValidationFailed):
        form_input(Sample, Form(name="x", quantity="1\n2", amount="1", on="2026-01-01"))


@pytest.mark.parametrize("sent, approve", [("1", True), ("0", False)])
def test_the_two_buttons_of_a_decision_read_as_yes_and_no(sent, approve):
    assert form_input(SpecialDecisionIn, Form(approve=sent, reason="")).approve is approve


def test_the_dispatch_form_and_its_api_twin_share_one_model():
    data = form_input(DispatchIn, Form(carrier="顺丰", waybill="SF1", packages="3",
                                       freight="350", dispatched_on="2026-11-30"))
    assert data == DispatchIn(carrier="顺丰", waybill="SF1", packages=3, freight_fen=35000,
                              dispatched_on=date(2026, 11, 30))
