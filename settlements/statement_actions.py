"""The actions on a statement's page, one route each (issue 11 §5): CS reviews the repair fees;
finance approves, gives the second approval, pays by Stripe, records a bank transfer or asks for
a correction in the next statement; and finance acts on a selection of the list. Each reads its
input model (settlements.inputs, shared with the API twin) and answers through
portal.actions.act: the statement page again with the reason beside the action when a rule
refuses, else back to it saying what happened (issue 9 §4)."""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from litestar import Request, Response, post
from litestar.params import FromPath

from portal.actions import act, form_input
from portal.actor import Actor
from portal.errors import ValidationFailed
from portal.forms import text
from portal.web import current_actor, roles_required
from settlements import adjustments, bulk, payouts, queries
from settlements import statements as approval
from settlements.inputs import BankPaymentIn, BulkIn, CorrectionIn
from settlements.statement_pages import list_page, statement_page

FINANCE = roles_required("hq_finance")
# What each button says once it worked: what happened, who was told (%(number)s: the statement).
DONE = {
    "review": "Repair fees of statement %(number)s reviewed; finance can approve it now.",
    "approved": "Statement %(number)s approved; the dealer has been told.",
    "second_approval": "Statement %(number)s approved once; above the limit, a second finance "
                       "colleague approves it too.",
    "pay": "Payment of statement %(number)s sent; its status is shown below.",
    "bank-payment": "Bank payment of statement %(number)s recorded; the dealer has been told.",
    "adjustment": "Adjustment for statement %(number)s requested; another finance colleague "
                  "decides it.",
}


async def act_on_statement(request: Request, statement_id: int,
                           success: str | Callable[[Any], str], model: type | None,
                           run: Callable[[Actor, Any], Awaitable[Any]]) -> Response:
    """A button on the statement page: scope first (R1, a statement the reader may not see is
    not found before any rule is checked), then portal.actions.act."""
    actor = current_actor(request)
    statement = await queries.get_statement(actor, statement_id)
    return await act(request, model, lambda data: run(actor, data),
                     page=functools.partial(statement_page, request, statement_id),
                     success=success, location=f"/statements/{statement_id}",
                     number=statement["number"])


async def ask_correction(actor: Actor, statement_id: int, data: CorrectionIn) -> int:
    """An adjustment or charge for the statement's dealer, correcting this statement (R26)."""
    statement = await queries.get_statement(actor, statement_id)
    return await adjustments.request_adjustment(
        actor=actor, dealer_id=statement["dealer"], corrects_statement_id=statement_id,
        **asdict(data))


async def act_on_selection(request: Request, data: BulkIn) -> list[bulk.Outcome]:
    """Finance approves or pays the checked statements, each under every rule of its own page
    (the page's "Approve selected" and its API twin)."""
    return await bulk.act_on_selection(
        actor=current_actor(request), settings=request.app.state.settings, action=data.action,
        ids=data.ids, reference=text({"reference": data.reference}, "reference", 60,
                                     multiline=False))


class StatementActions:
    """Mixed into settlements.routes.StatementController (path /statements)."""

    @post("/{statement_id:int}/review")
    async def review(self, request: Request, statement_id: FromPath[int]) -> Response:
        return await act_on_statement(request, statement_id, DONE["review"], None,
                                      lambda actor, _: approval.review_fees(
                                          actor=actor, statement_id=statement_id))

    @post("/{statement_id:int}/approve")
    async def approve(self, request: Request, statement_id: FromPath[int]) -> Response:
        """R26: above the HQ-set amount, the statement then waits for a second approval."""
        return await act_on_statement(request, statement_id, DONE.__getitem__, None,
                                      lambda actor, _: approval.approve_statement(
                                          actor=actor, statement_id=statement_id))

    @post("/{statement_id:int}/second-approval")
    async def second_approval(self, request: Request, statement_id: FromPath[int]) -> Response:
        return await act_on_statement(request, statement_id, DONE["approved"], None,
                                      lambda actor, _: approval.second_approve(
                                          actor=actor, statement_id=statement_id))

    @post("/{statement_id:int}/pay")
    async def pay(self, request: Request, statement_id: FromPath[int]) -> Response:
        return await act_on_statement(request, statement_id, DONE["pay"], None,
                                      lambda actor, _: payouts.pay_statement(
                                          request.app.state.settings, actor=actor,
                                          statement_id=statement_id))

    @post("/{statement_id:int}/bank-payment")
    async def bank_payment(self, request: Request, statement_id: FromPath[int]) -> Response:
        return await act_on_statement(request, statement_id, DONE["bank-payment"], BankPaymentIn,
                                      lambda actor, data: payouts.record_bank_payment(
                                          actor=actor, statement_id=statement_id,
                                          reference=data.reference))

    @post("/{statement_id:int}/adjustment")
    async def adjustment(self, request: Request, statement_id: FromPath[int]) -> Response:
        return await act_on_statement(request, statement_id, DONE["adjustment"], CorrectionIn,
                                      lambda actor, data: ask_correction(actor, statement_id,
                                                                         data))

    @post("/bulk", guards=[FINANCE])
    async def bulk_action(self, request: Request) -> Response:
        """A result per statement on the list, shown again with the filters of its query
        string; a bad selection is said beside the buttons."""
        form = await request.form()
        try:
            results = await act_on_selection(request, form_input(BulkIn, form))
        except ValidationFailed as exc:
            return await list_page(request, status_code=422, form=dict(form),
                                   errors={f"bulk_{k}": v for k, v in exc.errors.items()})
        return await list_page(request, bulk_results=results)
