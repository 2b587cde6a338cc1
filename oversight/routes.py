"""Every oversight route, for the composition root (portal/app.py)."""
from __future__ import annotations

HANDLERS: list = []
