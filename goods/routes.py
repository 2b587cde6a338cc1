"""Every goods route, for the composition root (portal/app.py)."""
from __future__ import annotations

from goods import (
    batch_panel,
    rejected_routes,
    replacement_api,
    replacement_routes,
    supplier_routes,
)

HANDLERS = [replacement_routes.ReplacementController, replacement_api.ReplacementApi,
            batch_panel.BatchGoodsController, batch_panel.RepeatClaimsController,
            rejected_routes.RejectedController,
            rejected_routes.RejectedApi, supplier_routes.SupplierController,
            supplier_routes.SupplierApi]
