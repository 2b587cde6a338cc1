"""What each customer-service action takes: one dataclass per action, read from the posted form
by the page (portal.actions.form_input) and from JSON by its API twin."""
from __future__ import annotations

from dataclasses import dataclass  # noqa: F401
from datetime import date  # noqa: F401

# --- complaints (R32) --------------------------------------------------------------------------

# --- service calls and opinion cards (R33) ------------------------------------------------------

# --- return visits, surveys, the customer archive (R34) ----------------------------------------
