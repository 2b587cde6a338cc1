"""Home-page queues of service calls (R33): one aggregate statement per home, scoped (R1),
whatever the number of calls. A repair point's staff: calls to visit and those already past
their 24 hours (red); an office's clerks and managers (and a regional manager): their points'
open calls and breaches; HQ customer service: breaches across the network."""
from __future__ import annotations

from datetime import datetime

from portal.actor import Actor
from portal.db import raw_fetch
from portal.network import scope_sql
from portal.workbench import SECTIONS, Queue, sections_of

QUEUE_LABELS = {
    "calls_to_visit": ("Service calls to visit",
                       "Repair calls routed to your point wait here until you record the visit, "
                       "within 24 hours of the call."),
    "calls_breaching": ("Service calls past 24 hours without a visit",
                        "Calls not visited within 24 hours of the call appear here in red. "
                        "None is late."),
    "point_calls_open": ("Your repair points' service calls to visit",
                         "Repair calls waiting for your repair points' visit appear here."),
    "point_calls_breaching": ("Your repair points' calls past 24 hours",
                              "Calls your repair points have not visited within 24 hours "
                              "appear here in red. None is late."),
    "network_calls_breaching": ("Service calls past 24 hours in the network",
                                "Calls any repair point has not visited within 24 hours of "
                                "the call appear here in red. None is late."),
}
SECTION_QUEUES = {
    "repair_staff": ("calls_to_visit", "calls_breaching"),
    "dealer_clerk": ("point_calls_open", "point_calls_breaching"),
    "manager": ("point_calls_open", "point_calls_breaching"),
    "hq_cs": ("network_calls_breaching",),
}
LINKS = {"open": "/service-calls?status=open",
         "breaching": "/service-calls?status=open&breaching=1"}


async def queues(actor: Actor, now: datetime) -> list[Queue]:
    mine = sections_of(actor)
    wanted = [(section, key) for section in SECTIONS if section in mine
              for key in SECTION_QUEUES.get(section, ())]
    if not wanted:
        return []
    args: list = [now]
    scope = scope_sql(actor, "o.path", args)
    row = (await raw_fetch(
        "SELECT count(*) AS open_n, min(c.called_at) AS open_at, "
        "count(*) FILTER (WHERE c.visit_by < $1) AS late_n, "
        "min(c.called_at) FILTER (WHERE c.visit_by < $1) AS late_at "
        "FROM service_call c JOIN organisation o ON o.id = c.organisation "
        f"WHERE c.status = 'open' AND {scope}", *args))[0]
    result = []
    for section, key in wanted:
        late = key.endswith("breaching")
        count = row["late_n" if late else "open_n"]
        title, empty = QUEUE_LABELS[key]
        result.append(Queue(key, title, count, row["late_at" if late else "open_at"],
                            LINKS["breaching" if late else "open"], empty, section,
                            alarm=late and count > 0))
    return result
