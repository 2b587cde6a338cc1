"""Every oversight route, for the composition root (portal/app.py)."""
from __future__ import annotations

from oversight.audit_api import AuditApi
from oversight.audit_routes import AuditController

HANDLERS: list = [AuditController, AuditApi]
