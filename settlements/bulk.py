"""Finance acts on a selection of statements at once (issue 9 §5): approve them, record one
bank transfer for them, or pay them by Stripe. Each statement goes through the same
single-statement service as its own page (settlements/statements.py, payouts.py), one after the
other, each in its own transaction: every rule still holds for each (nobody approves what they
prepared, the second approval above the HQ amount, CS's fee review first, one payout per
statement), and one refusal leaves the others as they are. The result says, per statement, what
happened or why not, in plain words."""
from __future__ import annotations

import re
from dataclasses import dataclass

from portal import i18n
from portal.actor import Actor
from portal.errors import NotFound, PortalError, ValidationFailed
from portal.settings import Settings
from settlements import payouts, queries
from settlements import statements as approval

MAX_SELECTION = 200
ACTIONS = ("approve", "bank-payment", "pay")
# outcome -> what the result table says (msgids)
OUTCOME_LABELS = {
    "approved": "Approved",
    "second_approval": "Approved; a second finance user approves it too (above the HQ amount)",
    "paid": "Paid",
    "pending": "Sent to Stripe; waiting for Stripe's confirmation",
    "refused": "Not done",
}
MESSAGES = {
    "none": "Select at least one statement.",
    "too_many": "Select at most %(n)s statements at a time.",
    "action": "Choose an action.",
    "not_found": "No such statement among those you may see.",
}
_RULE_ID = re.compile(r"\s*[(（]R\d+[a-z]?[)）]")


@dataclass
class Outcome:
    statement_id: int
    number: str
    dealer: str
    total_fen: int | None
    result: str           # a key of OUTCOME_LABELS
    reason: str = ""      # why not, in the reader's language

    @property
    def done(self) -> bool:
        return self.result != "refused"

    @property
    def label(self) -> str:
        return i18n.gettext(OUTCOME_LABELS[self.result])


def plain(message: str) -> str:
    """A refusal as people read it: translated, without the rule id the code cites."""
    return _RULE_ID.sub("", message)


def check_selection(ids: list[int], action: str) -> list[int]:
    """The distinct ids in the order given; refuses an empty or too large selection."""
    if action not in ACTIONS:
        raise ValidationFailed({"action": MESSAGES["action"]})
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise ValidationFailed({"ids": MESSAGES["none"]})
    if len(ids) > MAX_SELECTION:
        raise ValidationFailed({"ids": i18n.gettext(MESSAGES["too_many"], n=MAX_SELECTION)})
    return ids


def bank_reference(batch_reference: str, number: str) -> str:
    """One bank transfer run pays many statements: each payout records the run's reference
    followed by the statement's number, unique per statement as the database requires."""
    return f"{batch_reference}/{number}"


async def act_on_selection(*, actor: Actor, settings: Settings, action: str, ids: list[int],
                           reference: str = "") -> list[Outcome]:
    """Run `action` on each selected statement in turn; never raises for one statement's
    refusal (a statement the actor may not see is "not found", like on its own page)."""
    ids = check_selection(ids, action)
    if action == "bank-payment" and not reference.strip():
        raise ValidationFailed({"reference": "Enter the bank reference."})
    outcomes = []
    for statement_id in ids:
        outcomes.append(await _one(actor, settings, action, statement_id, reference.strip()))
    return outcomes


async def _one(actor: Actor, settings: Settings, action: str, statement_id: int,
               reference: str) -> Outcome:
    try:
        statement = await queries.get_statement(actor, statement_id)  # scope first (R1)
    except NotFound:
        return Outcome(statement_id, "", "", None, "refused",
                       i18n.gettext(MESSAGES["not_found"]))
    outcome = Outcome(statement_id, statement["number"], i18n.local_name(
        {"name": statement["dealer_name"], "name_en": statement["dealer_name_en"]}),
        statement["total_fen"], "refused")
    try:
        if action == "approve":
            if statement["status"] == "second_approval":
                await approval.second_approve(actor=actor, statement_id=statement_id)
                outcome.result = "approved"
            else:
                outcome.result = await approval.approve_statement(actor=actor,
                                                                  statement_id=statement_id)
        elif action == "bank-payment":
            await payouts.record_bank_payment(
                actor=actor, statement_id=statement_id,
                reference=bank_reference(reference, statement["number"]))
            outcome.result = "paid"
        else:
            paid = await payouts.pay_statement(settings, actor=actor, statement_id=statement_id)
            outcome.result = "paid" if paid["status"] == "paid" else "pending"
    except ValidationFailed as exc:
        outcome.reason = plain(" ".join(i18n.gettext(m) for m in exc.errors.values()))
    except PortalError as exc:
        outcome.reason = plain(i18n.gettext(exc.message, **exc.params))
    return outcome
