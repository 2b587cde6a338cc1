"""Inspection checklists per product category (R18, issue 12 §4): HQ logistics and the HQ
administrator read them with their history; the administrator changes one from a future date."""
from __future__ import annotations

import functools
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from dealers import checklists
from portal import clock
from portal.actions import act
from portal.db import raw_fetch
from portal.errors import ValidationFailed
from portal.forms import iso_date, str_list, text
from portal.web import current_actor, render, roles_required


def parse_change(form: Any) -> tuple[list[str], Any, str]:
    errors: dict[str, str] = {}
    effective_from = iso_date(form, "effective_from", errors)
    if errors:
        raise ValidationFailed(errors)
    return str_list(form, "checks"), effective_from, text(form, "reason", 500)


async def _page(request: Request, status_code: int = 200, errors: dict | None = None,
                form: dict | None = None, failed: int | None = None) -> Response:
    today = clock.china_today()
    categories = await raw_fetch(
        "SELECT id, code, name_zh, name_en, is_cfl FROM product_category ORDER BY id")
    lists = await checklists.checklists_on(today)
    rows = await raw_fetch(
        "SELECT i.category, i.checks, i.effective_from, i.reason, u.display_name AS author "
        "FROM inspection_checklist i LEFT JOIN portal_user u ON u.id = i.created_by "
        "ORDER BY i.effective_from DESC")
    history: dict[int, list[dict]] = {}
    for row in rows:
        history.setdefault(row["category"], []).append(row)
    return render(request, "dealers/checklists.html", status_code=status_code,
                  categories=categories, lists=lists, history=history,
                  all_checks=checklists.CHECKS, check_labels=checklists.CHECK_LABELS,
                  errors=errors or {}, form=form or {}, failed=failed)


class ChecklistController(Controller):
    path = "/checklists"
    guards = [roles_required("hq_admin", "hq_logistics")]

    @get("/")
    async def page(self, request: Request) -> Response:
        return await _page(request)

    @post("/{category_id:int}", guards=[roles_required("hq_admin")], status_code=303)
    async def change(self, request: Request, category_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        return await act(
            request, parse_change,
            lambda data: checklists.change(actor=actor, category_id=category_id,
                                           checks=data[0], effective_from=data[1],
                                           reason=data[2]),
            page=functools.partial(_page, request, failed=category_id), location="/checklists",
            success="Checklist changed from the date given; the one before stays in the history.")
