"""Closing a month from the statement list (R26, issue 5 §5): finance starts the close, which
runs in the background; the list polls its progress bar until the statements are there."""
from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.params import FromPath

from portal.errors import PortalError, ValidationFailed
from portal.i18n import gettext
from portal.web import current_actor, done, is_htmx, render, roles_required
from settlements import close
from settlements.inputs import close_input
from settlements.statement_pages import list_page

FINANCE = roles_required("hq_finance")


async def progress_fragment(request: Request, run_id: int) -> Response:
    progress = await close.close_progress(run_id)  # NotFound for an unknown run
    return render(request, "settlements/_progress.html", progress=progress, run_id=run_id)


async def close_refused(request: Request, form, exc: PortalError) -> Response:
    """The reason beside the month: for htmx only the reason, into the progress box."""
    if exc.status_code == 404:
        raise exc
    message = next(iter(exc.errors.values())) if isinstance(exc, ValidationFailed) \
        else gettext(exc.message, **exc.params)
    if is_htmx(request):
        return render(request, "settlements/_close_error.html", status_code=exc.status_code,
                      message=message)
    return await list_page(request, status_code=exc.status_code, form=dict(form),
                           errors={"period": message})


class CloseRoutes:
    """Mixed into settlements.routes.StatementController (path /statements). Not through
    portal.actions.act: where it goes next (the run's progress) is known once it started."""

    @post("/close", guards=[FINANCE])
    async def close(self, request: Request) -> Response:
        form = await request.form()
        try:
            period = close_input(form).period
            run_id = await close.start_close(actor=current_actor(request), period=period)
        except PortalError as exc:
            return await close_refused(request, form, exc)
        fragment = await progress_fragment(request, run_id) if is_htmx(request) else None
        return done(request, "Closing %(month)s started; its statements appear when the bar is "
                             "full.", None if fragment else f"/statements?run={run_id}",
                    fragment=fragment, month=period.strftime("%Y-%m"))

    @get("/close/{run_id:int}", guards=[FINANCE])
    async def progress(self, request: Request, run_id: FromPath[int]) -> Response:
        """The progress bar fragment, polled every second until the run is done."""
        return await progress_fragment(request, run_id)
