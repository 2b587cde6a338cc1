"""Pages and API twins of the archive part of customer service (filled in with its pages)."""
from __future__ import annotations

HANDLERS: list = []
