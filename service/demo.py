"""Customer-service demo data (loaded after the other domains' demo): each part seeds its own,
each skipping itself when already there. Dates are relative to today, so the walkthrough works
on any day."""
from __future__ import annotations

from service import demo_archive, demo_calls, demo_complaints


async def load_service_demo() -> bool:
    return any([await demo_archive.load(), await demo_complaints.load(), await demo_calls.load()])
