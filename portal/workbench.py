"""Workbenches (issue 9 §1): the home page of each role lists the queues that wait for this
user, each with its count, its oldest item and that item's age, and a link to the list
filtered to exactly those items.

`portal` may not import the domains (layering), so each domain exposes
`<domain>.workbench.queues(actor, now)` and the composition root (`portal/app.py`) registers it
here, as it registers Stripe webhook handlers with `portal.payments`. Each provider issues one
aggregate query whatever the number of items, so every home page is flat in queries.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from portal.actor import Actor
from portal.clock import CHINA
from portal.db import raw_fetch


@dataclass(frozen=True)
class Queue:
    """One queue of work on a home page. `title_msgid` and `empty_msgid` are English msgids
    (translated when shown); `empty_msgid` says what will appear here and why."""

    key: str
    title_msgid: str
    count: int
    oldest_at: datetime | None
    link: str | None
    empty_msgid: str
    section: str
    alarm: bool = False  # a deadline is breached: shown in red

    def age(self, now: datetime) -> tuple[int, str] | None:
        """(n, "days" | "hours") since the oldest item; None when the queue is empty."""
        if not self.count or self.oldest_at is None:
            return None
        seconds = max((now - self.oldest_at).total_seconds(), 0)
        if seconds >= 86400:
            return int(seconds // 86400), "days"
        return int(seconds // 3600), "hours"

    def oldest_china(self) -> str:
        return self.oldest_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if self.oldest_at else ""


Provider = Callable[[Actor, datetime], Awaitable[list[Queue]]]
_providers: list[Provider] = []

# The sections of a home, in the order they are shown: one per role (SPEC §1). A user holding
# several roles sees the section of each.
SECTION_LABELS = {
    "dealer_clerk": "Your office's returns and statements",
    "store": "Your statements and repair points",
    "manager": "Waiting for your signature or mediation",
    "repair_staff": "Your repair point",
    "hq_cs": "Customer service",
    "hq_logistics": "Goods on their way and at the dock",
    "hq_tech": "Quality verifications",
    "hq_finance": "Finance",
    "hq_admin": "Administration",
    "auditor": "Overview (you read, you do not change)",
    "vice_president": "Major complaints and audits",
}
SECTIONS = tuple(SECTION_LABELS)


def register(provider: Provider) -> None:
    """Called by the composition root, once per domain."""
    if provider not in _providers:
        _providers.append(provider)


async def gather(actor: Actor, now: datetime) -> list[tuple[str, list[Queue]]]:
    """Every registered provider's queues for `actor`, grouped by section in display order.
    A queue two roles share (same key) is shown once, in the first section."""
    seen: set[str] = set()
    grouped: dict[str, list[Queue]] = {s: [] for s in SECTIONS}
    for provider in _providers:
        for queue in await provider(actor, now):
            if queue.key in seen:
                continue
            seen.add(queue.key)
            grouped.setdefault(queue.section, []).append(queue)
    return [(section, queues) for section, queues in grouped.items() if queues]


def sections_of(actor: Actor) -> set[str]:
    """Which sections this actor's roles and organisation call for."""
    kind, found = actor.organisation_kind, set()
    if kind in ("office", "agent") and actor.has("dealer_clerk"):
        found.add("dealer_clerk")
    if kind in ("store", "subdistributor"):
        found.add("store")
    if actor.has("manager") and (kind in ("office", "agent") or actor.covered_paths):
        found.add("manager")
    if kind == "repair_point" and actor.has("repair_staff"):
        found.add("repair_staff")
    if kind == "hq":
        found.update(r for r in ("hq_cs", "hq_logistics", "hq_tech", "hq_finance", "hq_admin",
                                 "auditor", "vice_president") if actor.has(r))
    return found


# --- the shell's own queues (the HQ administrator's) ---------------------------------------

QUEUE_LABELS = {
    "users": ("Active users",
              "Everyone who can sign in appears here; add people on the users page."),
    "policies": ("Business policies (fee rate, deposit ratio, approval limit)",
                 "The policies HQ sets appear here; each is changed from a date on."),
    "scheduled": ("Policy changes not yet in force",
                  "A policy change set for a later date appears here until it applies."),
}


async def portal_queues(actor: Actor, now: datetime) -> list[Queue]:
    """The HQ administrator's: people and policies (one query)."""
    if "hq_admin" not in sections_of(actor):
        return []
    row = (await raw_fetch(
        "SELECT (SELECT count(*) FROM portal_user WHERE active) AS users_n, "
        "(SELECT count(DISTINCT key) FROM policy_value) AS policies_n, "
        "(SELECT count(*) FROM policy_value WHERE effective_from > $1) AS scheduled_n, "
        "(SELECT min(created_at) FROM policy_value WHERE effective_from > $1) AS scheduled_at",
        now.astimezone(CHINA).date()))[0]
    links = {"users": "/admin/users", "policies": "/catalog", "scheduled": "/catalog"}
    return [Queue(key, QUEUE_LABELS[key][0], row[f"{key}_n"], row.get(f"{key}_at"), links[key],
                  QUEUE_LABELS[key][1], "hq_admin") for key in QUEUE_LABELS]


register(portal_queues)


def count_columns(parts: Mapping[str, tuple[str, str | None]], keys: Iterable[str],
                  scope: str) -> list[str]:
    """The columns of a domain's one counting statement: per queue its count and, where it
    has one, the time of its oldest item. `parts[key]` is (FROM ... WHERE ... {scope}, the
    column whose minimum is the oldest, or None)."""
    columns = []
    for key in dict.fromkeys(keys):
        source, since = parts[key]
        source = source.replace("{scope}", scope)
        columns.append(f"(SELECT count(*) {source}) AS {key}_n")
        if since:
            columns.append(f"(SELECT min({since}) {source}) AS {key}_at")
    return columns
