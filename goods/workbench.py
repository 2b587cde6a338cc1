"""Goods queues on the home pages (issue 9 §1 pattern): each part adds its own, one aggregate
query each."""
from __future__ import annotations

from datetime import datetime

from goods import repeats, replacement_queues
from portal.actor import Actor
from portal.workbench import Queue, sections_of

REPEAT_QUEUE_LABELS = {"goods_repeat_claims": (
    "Batches with lines claimed before",
    "A batch at head office with a line whose goods were claimed in an earlier batch appears "
    "here until customer service decides it.")}


async def repeat_queues(actor: Actor, now: datetime) -> list[Queue]:
    """R18: customer service is told of batches waiting with repeat claims (one query)."""
    if "hq_cs" not in sections_of(actor):
        return []
    row = await repeats.open_flagged_count()
    title, empty = REPEAT_QUEUE_LABELS["goods_repeat_claims"]
    return [Queue("goods_repeat_claims", title, row["n"], row["since"], "/goods/repeat-claims",
                  empty, "hq_cs")]


async def queues(actor: Actor, now: datetime) -> list[Queue]:
    return [*await replacement_queues.queues(actor, now), *await repeat_queues(actor, now)]
