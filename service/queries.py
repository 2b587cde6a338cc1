"""Customer-service reads: lists and details, scoped (R1) with portal.network.scope_sql, a fixed
number of queries per page whatever the number of rows."""
from __future__ import annotations

from portal.db import raw_fetch  # noqa: F401
from portal.network import scope_sql  # noqa: F401

# --- complaints (R32) --------------------------------------------------------------------------

# --- service calls and opinion cards (R33) ------------------------------------------------------

# --- return visits, surveys, the customer archive (R34) ----------------------------------------
