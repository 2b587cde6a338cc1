"""Every oversight route, for the composition root (portal/app.py)."""
from __future__ import annotations

from oversight.audit_api import AuditApi
from oversight.audit_routes import AuditController
from oversight.locator_routes import LocatorController, PublicEntryApi, PublicEntryController
from oversight.point_routes import PointOversightApi, PointOversightController

HANDLERS: list = [AuditController, AuditApi, LocatorController, PublicEntryController,
                  PublicEntryApi, PointOversightController, PointOversightApi]
