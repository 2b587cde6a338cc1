"""The customer-service queues on the home pages (issue 9 §1 pattern): each part of the domain
adds its own, one aggregate query each."""
from __future__ import annotations

from datetime import datetime

from portal.actor import Actor
from portal.workbench import Queue
from service import archive_queues, call_queues, complaint_queues


async def queues(actor: Actor, now: datetime) -> list[Queue]:
    return [*await complaint_queues.queues(actor, now), *await call_queues.queues(actor, now),
            *await archive_queues.queues(actor, now)]
