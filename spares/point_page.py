"""A repair point's page (R19-R29) and how its actions answer (issue 11 §5): `act_on_point`
runs an action and goes back to the page saying what worked, or shows the page again with the
refusal beside the action; `answer` does the same for actions whose answer is not that
redirect (where it leads depends on the outcome, or it is a page of its own)."""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response

from dealers.rules import Refusal
from portal import attachments
from portal.actions import Page, act, form_input
from portal.actor import Actor
from portal.errors import NotFound, PortalError, ValidationFailed
from portal.i18n import gettext
from portal.web import current_actor, render
from spares import oversight, queries, repair_photos, rules, wallets


def shown(actions: dict[str, Refusal | None]) -> dict[str, str | None]:
    """Actions as a page shows them: None (the button works) or why not, in the reader's words."""
    return {name: gettext(refusal.message, **refusal.kwargs) if refusal else None
            for name, refusal in actions.items()}


async def point_page(request: Request, point_id: int, *, status_code: int = 200,
                     errors: dict | None = None, form: dict | None = None) -> Response:
    """The point's management file: deposit, stock, fees, disputes, repairs, each with the
    buttons this person has (rules.*_actions), disabled with the reason a rule gives."""
    actor = current_actor(request)
    point = await oversight.get_point(actor, point_id)
    try:
        deposit: dict | None = await queries.deposit_status(point_id)
    except NotFound:  # a point that predates the portal has no deposit on record
        deposit = None
    own, roles = actor.organisation_id == point_id, actor.roles
    repairs = await queries.list_repairs(actor=actor, point_id=point_id)
    photos = await attachments.list_for_many(repair_photos.SUBJECT, [r["id"] for r in repairs])
    for repair in repairs:
        repair["photos"] = photos[repair["id"]]
        repair["actions"] = shown(rules.repair_actions(
            status=repair["status"], overdue=repair["overdue"], own_point=own, roles=roles))
    fees = await queries.fee_history(point_id)
    for fee in fees:
        fee["actions"] = shown(rules.fee_actions(status=fee["status"], roles=roles))
    disputes = await queries.disputes_of(point_id)
    for dispute in disputes:
        dispute["actions"] = shown(rules.dispute_actions(status=dispute["status"], roles=roles))
    settings = request.app.state.settings
    return render(request, "spares/repair_point.html", status_code=status_code, point=point,
                  deposit=deposit, actions=shown(rules.allowed_actions(
                      roles=roles, own_point=own, deposit_paid=deposit["paid"] if deposit else None,
                      stock_shipped=bool(deposit and deposit["shipped_at"]))),
                  stock=await queries.stock_of(point_id), parts=await queries.active_parts(),
                  products=await queries.active_products(), repairs=repairs, fees=fees,
                  disputes=disputes, card_enabled=bool(settings.stripe_secret_key),
                  photo_staff=own and actor.has("repair_staff"),
                  wallets=wallets.enabled_wallets(settings), errors=errors or {},
                  form=form or {})


async def act_on_point(request: Request, point_id: int, model: type | None,
                       run: Callable[[Actor, Any], Awaitable[Any]], *, success: str) -> Response:
    """A button on the point's page: the page again with the message beside the action when
    the form or a rule refuses, else back to it saying `success` (a msgid)."""
    actor = current_actor(request)
    await oversight.get_point(actor, point_id)  # 404 before anything
    return await act(request, model, lambda data: run(actor, data),
                     page=functools.partial(point_page, request, point_id), success=success,
                     location=f"/repair-points/{point_id}")


async def answer(request: Request, model: type | None,
                 run: Callable[[Any], Awaitable[Response]], *, page: Page) -> Response:
    """Like portal.actions.act, for an action that makes its own answer: `run` returns the
    Response (a redirect where the outcome leads, or a page such as the card form); a refusal
    shows `page` again with the message beside its field or the action (404 stays a 404)."""
    form = await request.form()
    try:
        return await run(form_input(model, form) if model is not None else None)
    except ValidationFailed as exc:
        return await page(status_code=exc.status_code, errors=exc.errors, form=dict(form))
    except PortalError as exc:
        if exc.status_code == 404:
            raise
        return await page(status_code=exc.status_code, form=dict(form),
                          errors={"action": gettext(exc.message, **exc.params)})
