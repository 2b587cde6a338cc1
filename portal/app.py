"""The composition root: create_app(settings) builds the one Litestar app from every domain."""
from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router

from dealers import evidence as dealers_evidence
from dealers import workbench as dealers_workbench
from dealers.api import CalendarApi
from dealers.batch_api import BatchApi
from dealers.batch_routes import BatchController
from dealers.checklist_routes import ChecklistController
from dealers.line_import import LineImportController
from dealers.receiving_routes import CountController, DockController
from dealers.registration_form import RegistrationFormController
from dealers.routes import CalendarAdminController, CalendarController, HomeController
from dealers.service_worker import service_worker as dock_service_worker
from dealers.special_api import SpecialApi
from dealers.special_routes import BatchIncidentController, SpecialApprovalController
from goods import rejected as goods_rejected
from goods import routes as goods_routes
from goods import statement_charges as goods_charges
from goods import workbench as goods_workbench
from oversight import rectification
from oversight import routes as oversight_routes
from oversight import workbench as oversight_workbench
from portal import (
    attachment_routes,
    attachments,
    clock,
    db,
    idcache,
    nav,
    notify,
    payments,
    replica,
    web,
    workbench,
)
from portal.api import PortalApi
from portal.catalog_routes import CatalogAdminController, CatalogController
from portal.csrf import csrf_protect
from portal.failures import HANDLERS
from portal.identity import identity_middleware
from portal.network_routes import NetworkController, OrganisationAdminController
from portal.openapi import TruthfulJsonRenderPlugin
from portal.people_routes import UserAdminController
from portal.routes import AuthController, SessionController
from portal.settings import Settings
from portal.validation import input_edge
from service import routes as service_routes
from service import workbench as service_workbench
from settlements import close_sql, payouts
from settlements import workbench as settlements_workbench
from settlements.api import SettlementsApi, StatementApi
from settlements.hq_routes import SettlementsController
from settlements.routes import StatementController
from spares import deposits as spares_deposits
from spares import repair_photos
from spares import workbench as spares_workbench
from spares.api import SparesApi
from spares.deposit_routes import StripeWebhookController
from spares.routes import RepairPointController
from spares.stock_routes import BatchSparesController, ExchangeController, StockTemplateController
from tower import handlers as tower_handlers
from tower import selfassessment

log = logging.getLogger("portal")
STATIC = Path(__file__).resolve().parent.parent / "static"
JOB_INTERVAL_SECONDS = 600

ROUTE_HANDLERS = [
    AuthController, SessionController, NetworkController, OrganisationAdminController,
    UserAdminController, CatalogController, CatalogAdminController,
    HomeController, CalendarController, CalendarAdminController,
    BatchController, DockController, CountController, RegistrationFormController,
    dock_service_worker, ChecklistController,
    SpecialApprovalController, BatchIncidentController, LineImportController,
    RepairPointController, ExchangeController, StripeWebhookController, BatchSparesController,
    StockTemplateController,
    StatementController, SettlementsController,
    PortalApi, CalendarApi, BatchApi, SpecialApi, SparesApi, StatementApi, SettlementsApi,
    *service_routes.HANDLERS,
    *goods_routes.HANDLERS,
    *tower_handlers.HANDLERS,
    *oversight_routes.HANDLERS,
    *attachment_routes.HANDLERS,
]


async def run_jobs_once(settings: Settings) -> None:
    """Periodic work: window reminders, then email delivery of queued notifications."""
    from dealers.calendar import remind_window_opening
    from dealers.rollover import roll_over_unsubmitted
    from goods import jobs as goods_jobs
    from service.archive import erase_expired_customers
    from service.complaints import escalate_overdue_complaints
    from tower.alerts import watch_daily

    await roll_over_unsubmitted(clock.now())
    await remind_window_opening(clock.now())
    await escalate_overdue_complaints(clock.now())  # R32: complaints past an SLA deadline
    await notify.send_pending_emails(settings)
    await payouts.reconcile_pending(settings)  # R27: payouts whose Stripe answer was lost
    await erase_expired_customers(clock.now())  # R34: personal data past HQ's retention
    await goods_jobs.run(clock.now())  # R13, R18: replacement orders, repeat claims
    await watch_daily(clock.now())  # R7, R16: last month's returns, once a day
    await attachments.sweep_orphans()  # files whose row was rolled back


# Files on records: each domain's rule for who sees and who adds them.
attachments.register_subject(rectification.EVIDENCE, rectification.evidence_owner,
                             rectification.may_add_evidence)  # R30: an order's evidence

for _subject in [*dealers_evidence.SUBJECTS, *repair_photos.SUBJECTS]:  # photos (issue 12 §5)
    attachments.register_subject(*_subject)
attachments.register_subject(goods_rejected.SUBJECT, goods_rejected.lot_owner,
                             goods_rejected.may_attach_certificate)  # a scrap lot's certificate
attachments.register_subject(selfassessment.SUBJECT, selfassessment.evidence_owner,
                             selfassessment.may_add_evidence)  # GB/T 27922 evidence (issue 15 §7)

# Stripe events each domain handles (payments.py calls them inside the event's transaction).
payments.on_event("payment_intent.succeeded", spares_deposits.on_deposit_paid)
payments.on_event("transfer.created", payouts.on_transfer_created)
payments.on_event("transfer.reversed", payouts.on_transfer_reversed)

# Statement lines owed to packages above settlements: the close runs them with its own steps.
close_sql.register_source(goods_charges.NAME, goods_charges.REJECTED_FREIGHT_SOURCE,
                          goods_charges.PARAMS)  # return freight of rejected goods

# The queues each domain adds to the home pages (issue 9 §1), in the order they are shown.
for provider in (dealers_workbench.queues, spares_workbench.queues, settlements_workbench.queues,
                 service_workbench.queues, goods_workbench.queues,
                 oversight_workbench.queues):
    workbench.register(provider)


def create_app(settings: Settings | None = None, *, run_jobs: bool = False,
               extra_handlers: Sequence[Any] = ()) -> Litestar:
    """`extra_handlers` lets tests mount a probe route (e.g. one that fails) on the real app."""
    settings = settings or Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if settings.db_pool:
            await db.start_pool(min_size=1, max_size=10)
        if settings.read_replica_url:
            await replica.start_replica_pool(settings.read_replica_url)
        listening = await idcache.listen(db.engine().config["dsn"])
        if settings.gc_tuned:
            tune_gc()
        task = asyncio.create_task(_job_loop(settings)) if run_jobs else None
        try:
            yield
        finally:
            if task:
                task.cancel()
            await idcache.stop(listening)
            if settings.db_pool:
                await db.engine().close_connection_pool()
            await replica.close_replica_pool()

    app = Litestar(
        route_handlers=[
            *ROUTE_HANDLERS,
            *extra_handlers,
            create_static_files_router(path="/static", directories=[STATIC], guards=[],
                                       include_in_schema=False),
        ],
        # identity first (request id, actor, language), then the validation edge (issue 10)
        middleware=[identity_middleware(settings), input_edge],
        before_request=nav.chain(csrf_protect, nav.count_unread),
        exception_handlers=HANDLERS,  # type: ignore[arg-type]
        lifespan=[lifespan],
        debug=settings.debug,
        openapi_config=OpenAPIConfig(
            title="After-sales portal API", version="1", path="/api/v1/schema",
            render_plugins=[TruthfulJsonRenderPlugin()],
        ),
    )
    app.state.settings = settings
    # Templates change with a release, not while it serves: no file check at every render
    # (PORTAL_DEBUG=1 to edit them live).
    web.ENV.auto_reload = settings.debug
    return app


GC_THRESHOLDS = (10_000, 50, 100)  # Python's are (700, 10, 10)


def tune_gc() -> None:
    """What is alive once the app has started lives as long as the process: moved out of the
    collector's sight (gc.freeze), so a collection walks only what requests make; and a
    request's few thousand short-lived objects no longer start one every 700 allocations.
    Measured in-process, interleaved: 7-20 % less CPU per page (README, "Over HTTP")."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def served_app() -> Litestar:
    """The app `portal serve --workers N` starts in each worker process (uvicorn's factory):
    settings from the environment, the served address from PORTAL_SERVED_BASE_URL when
    PORTAL_BASE_URL is not set, the periodic jobs on (one process at a time runs them)."""
    settings = Settings.from_env()
    served = os.environ.get("PORTAL_SERVED_BASE_URL")
    if served and not settings.base_url_configured:
        settings = Settings.from_env(base_url=served, base_url_configured=False)
    return create_app(settings, run_jobs=True)


async def _job_loop(settings: Settings) -> None:
    """Every worker process runs this loop; one at a time does the work (issue 17 §7)."""
    while True:
        try:
            async with db.exclusive(db.JOBS_LOCK) as mine:
                if mine:
                    await run_jobs_once(settings)
        except Exception:  # a failed run is logged and retried next time; the portal stays up
            log.exception("periodic jobs failed")
        await asyncio.sleep(JOB_INTERVAL_SECONDS)
