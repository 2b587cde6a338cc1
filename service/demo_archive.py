"""Demo data of the archive part of customer service (filled in with its pages)."""
from __future__ import annotations


async def load() -> bool:
    return False
