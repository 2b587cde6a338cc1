"""JSON twins of the control tower under /api/v1/tower (R35): the same services, the same input
dataclass and rules as the pages."""
from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody

from portal import clock
from portal.api import api_token_required
from portal.errors import Forbidden
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor
from tower import kpis, rules, targets
from tower.inputs import TargetIn
from tower.routes import _guard


def _figures(row: dict) -> dict:
    return {m: {"num": f.num, "den": f.den, "value_bp": f.value_bp, "target_bp": f.target_bp,
                "status": f.status} for m, f in row["figures"].items()}


def dashboard_out(data: dict) -> dict:
    """Figures as counts and basis points; `value_bp` is null with too few cases (R35)."""
    def unit(row: dict) -> dict:
        return {"organisation": row["org"]["id"] if row["org"] else None,
                "figures": _figures(row)}
    out = {"audience": data["audience"], "month": data["months"][-1].isoformat(),
           "focus": data["focus"]["id"] if data["focus"] else None,
           "headline": _figures(data["headline"]),
           "quarter": _figures(data["headline_quarter"]),
           "trend": data["trend"], "units": [unit(u) for u in data["units"]]}
    if "regions" in data:
        out["regions"] = [{"region": r["key"], "figures": _figures(r)} for r in data["regions"]]
    return out


class TowerApi(Controller):
    path = "/api/v1/tower"
    guards = [api_token_required]
    tags = ["control tower"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/")
    async def dashboard(self, request: Request) -> dict:
        """R35: the reader's dashboard (as the page /tower)."""
        actor = current_actor(request)
        _guard(actor)
        return dashboard_out(await kpis.dashboard(actor=actor))

    @get("/org/{org_id:int}")
    async def organisation(self, request: Request, org_id: FromPath[int]) -> dict:
        """R35: one organisation's figures; 404 for one the reader may not see (R1)."""
        actor = current_actor(request)
        _guard(actor)
        return dashboard_out(await kpis.dashboard(actor=actor, org_id=org_id))

    @get("/targets")
    async def targets(self, request: Request) -> dict:
        """R35: the targets in force today (bp) and every revision."""
        if not current_actor(request).sees_everything:
            raise Forbidden("Only head office sees the targets' history.")
        return {"current": await targets.targets_on(clock.china_today()),
                "directions": {m: d for m, (d, _) in rules.MEASURES.items()},
                "history": [{k: r[k] for k in ("measure", "value_bp", "effective_from", "reason",
                                               "author")} for r in await targets.history()]}

    @post("/targets", status_code=201)
    async def revise(self, request: Request, data: JSONBody[TargetIn]) -> dict:
        """R35: revise a target from a coming quarter's first day (HQ administrator)."""
        target_id = await targets.revise_target(actor=current_actor(request), data=data)
        return {"id": target_id}
