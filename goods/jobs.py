"""The goods part of the periodic jobs (portal.app.run_jobs_once): replacement orders for newly
decided batches (R13) and repeat claims among the batches at head office (R18)."""
from __future__ import annotations

from datetime import datetime

from goods import repeats, replacements


async def run(now: datetime) -> None:
    await replacements.open_replacements()
    await repeats.flag_waiting()
