"""Control tower pages (R31, R35): the dashboards per audience, one organisation's page, and
HQ's targets with their history. Handlers parse, call tower/kpis.py or tower/targets.py,
render; the API twins are in tower/api.py."""
from __future__ import annotations

import functools
import json
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from portal import clock
from portal.actions import act
from portal.actor import Actor
from portal.errors import Forbidden
from portal.i18n import gettext
from portal.web import current_actor, login_required, render
from tower import alerts, kpis, rules, targets
from tower.inputs import TargetIn

STATUS_LABELS = {"green": "on target", "amber": "near target", "red": "off target",
                 "few": "too few cases"}


def _guard(actor: Actor) -> None:
    """Everyone signed in has a dashboard of what they may see (R1 decides, in the queries):
    HQ the network, a regional manager their offices, anyone else their own organisation."""
    if actor.organisation_kind == "hq" and not actor.sees_everything \
            and not actor.covered_paths:
        raise Forbidden("Your role has no service dashboard.")


def figure_text(fig: rules.Figure) -> str:
    """R35: a percentage, or "too few cases (n)"."""
    if fig.status == "few":
        return gettext("too few cases (%(n)s)", n=fig.den)
    return fig.percent


def target_text(measure: str, value_bp: int) -> str:
    shown = f"{value_bp / 100:.2f}".rstrip("0").rstrip(".") + " %"
    return gettext(rules.DIRECTION_LABELS[rules.MEASURES[measure][0]], target=shown)


def chart_data(data: dict) -> str:
    """The charts' data, read by static/tower.js from a JSON block (no inline script, CSP)."""
    series = {m: {"label": gettext(rules.MEASURE_LABELS[m]), "points": points,
                  "lower_is_better": rules.lower_is_better(m)}
              for m, points in data["trend"].items()}
    return json.dumps({"series": series, "target_label": gettext("Target")},
                      ensure_ascii=False).replace("</", "<\\/")


def _context(data: dict, actor: Actor) -> dict[str, Any]:
    return dict(d=data, may_alerts=alerts.may_see_alerts(actor), measures=list(rules.MEASURES), measure_labels=rules.MEASURE_LABELS,
                status_labels=STATUS_LABELS, figure_text=figure_text, target_text=target_text,
                chart_json=chart_data(data))


async def targets_page(request: Request, *, status_code: int = 200, errors: dict | None = None,
                       form: dict | None = None) -> Response:
    actor = current_actor(request)
    if not actor.sees_everything:
        raise Forbidden("Only head office sees the targets' history.")
    today = clock.china_today()
    next_quarter = rules.add_months(rules.quarter_start(today), 3)
    return render(request, "tower/targets.html", status_code=status_code,
                  errors=errors or {}, form=form or {"effective_from": next_quarter.isoformat()},
                  current=await targets.targets_on(today), history=await targets.history(),
                  measures=list(rules.MEASURES), measure_labels=rules.MEASURE_LABELS,
                  target_text=target_text, may_revise=actor.has("hq_admin"))


class TowerController(Controller):
    path = "/tower"
    guards = [login_required]

    @get("/")
    async def dashboard(self, request: Request) -> Response:
        """R35: the reader's dashboard: HQ the network, its regions and offices (worst and
        best); a regional manager their offices; an office itself and its points; a repair
        point itself. Red/amber/green against the targets, 12 months' trend."""
        actor = current_actor(request)
        _guard(actor)
        data = await kpis.dashboard(actor=actor)
        return render(request, "tower/dashboard.html", **_context(data, actor))

    @get("/org/{org_id:int}")
    async def organisation(self, request: Request, org_id: FromPath[int]) -> Response:
        """R35: one office's or repair point's figures (R1: a sibling's answers 404)."""
        actor = current_actor(request)
        _guard(actor)
        data = await kpis.dashboard(actor=actor, org_id=org_id)
        return render(request, "tower/dashboard.html", **_context(data, actor))

    @get("/targets")
    async def targets(self, request: Request) -> Response:
        """R35: the targets in force and every revision, newest first."""
        return await targets_page(request)

    @post("/targets")
    async def revise(self, request: Request) -> Response:
        """R35: the HQ administrator revises a target from a coming quarter."""
        actor = current_actor(request)
        return await act(request, TargetIn,
                         lambda data: targets.revise_target(actor=actor, data=data),
                         page=functools.partial(targets_page, request),
                         success="Target revised; it applies from the quarter chosen.",
                         location="/tower/targets")
