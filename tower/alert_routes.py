"""R16 early-warning pages and their API twins: the alerts with their evidence, and CS's two
decisions (verify on site, dismiss with a reason)."""
from __future__ import annotations

import functools

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from portal.actions import act
from portal.api import api_token_required
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor, login_required, render
from tower import alerts
from tower.inputs import AlertDismissIn, AlertVerifyIn

STATUSES = ("open", "verifying", "dismissed")


async def alert_page(request: Request, alert_id: int, *, status_code: int = 200,
                     errors: dict | None = None, form: dict | None = None) -> Response:
    actor = current_actor(request)
    alert = await alerts.get_alert(actor=actor, alert_id=alert_id)
    return render(request, "tower/alert.html", status_code=status_code, alert=alert,
                  batches=await alerts.batches_behind(alert), errors=errors or {},
                  form=form or {}, status_labels=alerts.STATUS_LABELS,
                  may_decide=actor.organisation_kind == "hq" and actor.has("hq_cs")
                  and alert["status"] == "open")


def alert_out(alert: dict) -> dict:
    return {"id": alert["id"], "product": alert["product"], "model": alert["model"],
            "date_code_month": alert["date_code_month"], "region": alert["region"],
            "window_start": alert["window_start"], "window_end": alert["window_end"],
            "observed": alert["observed"], "expected": alert["expected_milli"] / 1000,
            "evidence": alert["evidence"], "status": alert["status"],
            "raised_at": alert["raised_at"], "reason": alert["reason"],
            "dispute": alert["dispute"]}


class AlertController(Controller):
    path = "/tower/alerts"
    guards = [login_required]

    @get("/")
    async def alerts_list(self, request: Request, status: FromQuery[str | None] = None) -> Response:
        """R16: the early warnings, newest first (head office)."""
        chosen = status if status in STATUSES else None
        rows = await alerts.list_alerts(actor=current_actor(request), status=chosen)
        return render(request, "tower/alerts.html", rows=rows, status=chosen or "",
                      statuses=STATUSES, status_labels=alerts.STATUS_LABELS)

    @get("/{alert_id:int}")
    async def detail(self, request: Request, alert_id: FromPath[int]) -> Response:
        return await alert_page(request, alert_id)

    @post("/{alert_id:int}/verify")
    async def verify(self, request: Request, alert_id: FromPath[int]) -> Response:
        """R16: CS has HQ tech verify on site (a quality dispute on the batch behind it)."""
        actor = current_actor(request)
        await alerts.get_alert(actor=actor, alert_id=alert_id)  # 404 before anything
        return await act(request, AlertVerifyIn,
                         lambda data: alerts.verify(actor=actor, alert_id=alert_id, data=data),
                         page=functools.partial(alert_page, request, alert_id),
                         success="HQ tech has been asked to verify on site.",
                         location=f"/tower/alerts/{alert_id}")

    @post("/{alert_id:int}/dismiss")
    async def dismiss(self, request: Request, alert_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        await alerts.get_alert(actor=actor, alert_id=alert_id)
        return await act(request, AlertDismissIn,
                         lambda data: alerts.dismiss(actor=actor, alert_id=alert_id, data=data),
                         page=functools.partial(alert_page, request, alert_id),
                         success="Early warning dismissed.",
                         location=f"/tower/alerts/{alert_id}")


class AlertApi(Controller):
    path = "/api/v1/tower/alerts"
    guards = [api_token_required]
    tags = ["control tower"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/")
    async def alerts_list(self, request: Request, status: FromQuery[str | None] = None) -> list[dict]:
        """R16: the early warnings (head office); `status` open|verifying|dismissed."""
        chosen = status if status in STATUSES else None
        return [alert_out(a) for a in await alerts.list_alerts(actor=current_actor(request),
                                                              status=chosen)]

    @get("/{alert_id:int}")
    async def detail(self, request: Request, alert_id: FromPath[int]) -> dict:
        return alert_out(await alerts.get_alert(actor=current_actor(request), alert_id=alert_id))

    @post("/{alert_id:int}/verify", status_code=201)
    async def verify(self, request: Request, alert_id: FromPath[int],
                     data: JSONBody[AlertVerifyIn]) -> dict:
        """R16: CS turns the alert into an on-site verification; returns the dispute's id."""
        actor = current_actor(request)
        await alerts.get_alert(actor=actor, alert_id=alert_id)
        return {"dispute": await alerts.verify(actor=actor, alert_id=alert_id, data=data)}

    @post("/{alert_id:int}/dismiss")
    async def dismiss(self, request: Request, alert_id: FromPath[int],
                      data: JSONBody[AlertDismissIn]) -> dict:
        actor = current_actor(request)
        await alerts.get_alert(actor=actor, alert_id=alert_id)
        await alerts.dismiss(actor=actor, alert_id=alert_id, data=data)
        return {"status": "dismissed"}
