"""Every customer-service route, for the composition root (portal/app.py)."""
from __future__ import annotations

from service import archive_routes, call_routes, complaint_routes

HANDLERS = [*complaint_routes.HANDLERS, *call_routes.HANDLERS, *archive_routes.HANDLERS]
