"""Goods queues on the home pages (issue 9 §1 pattern): each part adds its own, one aggregate
query each."""
from __future__ import annotations

from datetime import datetime

from goods import replacement_queues
from portal.actor import Actor
from portal.workbench import Queue


async def queues(actor: Actor, now: datetime) -> list[Queue]:
    return [*await replacement_queues.queues(actor, now)]
