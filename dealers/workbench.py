"""The return-batch queues of each role's home page (issue 9 §1): one aggregate query, scoped
to what the actor may see (R1), whatever the number of batches."""
from __future__ import annotations

from datetime import datetime

from dealers.queries import QUEUES, UNREAD_RECEIPT
from portal import clock
from portal.actor import Actor
from portal.db import raw_fetch
from portal.network import scope_sql
from portal.workbench import SECTIONS, Queue, sections_of

# key: (title, what appears here and why when it is empty)
QUEUE_LABELS = {
    "drafts": ("Draft batches",
               "Start this month's batch on the return batches page; the draft waits here until "
               "you submit it in your return week."),
    "to_dispatch": ("Approved: dispatch them or dispose of them locally",
                    "When customer service approves a batch, it waits here until you send it "
                    "with its registration form, or record its local disposal."),
    "decided": ("Batches decided: read the receipt",
                "When customer service has decided every line of a batch, its receipt with the "
                "reasons appears here until someone at your office opens the batch."),
    "to_sign": ("Batches to sign",
                "Batches your offices submit appear here until you sign them or send them back "
                "for corrections."),
    "to_approve": ("Batches to approve",
                   "Batches signed by a manager wait here for customer service to approve or "
                   "refuse them."),
    "special": ("Special approvals asked for",
                "When an office asks to return outside its week, the request waits here for your "
                "decision."),
    "in_transit": ("On their way to head office",
                   "Approved batches the offices have dispatched appear here until they arrive."),
    "to_receive": ("Arrived, to count and inspect",
                   "Batches that arrived wait here until they are counted and inspected, by the "
                   "end of the day after arrival."),
    "to_decide": ("Counted, to decide line by line",
                  "Counted batches wait here for exchange, credit or rejection of each line, "
                  "within 3 days of arrival."),
    "breaching": ("Batches past their deadline",
                  "Batches not counted by the day after arrival, or not decided within 3 days, "
                  "appear here. None is late."),
    "to_verify": ("Quality disputes to verify on site",
                  "When an office disputes a batch's quality, it waits here for a technician's "
                  "visit, within 2 days."),
    "no_window": ("Regions without a return week",
                  "Regions with offices but no return week appear here; every region with "
                  "offices has a week."),
}
# Which queues each section shows, in order.
SECTION_QUEUES = {
    "dealer_clerk": ("drafts", "to_dispatch", "decided"),
    "manager": ("to_sign",),
    "hq_cs": ("to_approve", "special", "to_decide", "breaching"),
    "hq_logistics": ("in_transit", "to_receive", "breaching"),
    "hq_tech": ("to_verify",),
    "hq_admin": ("no_window",),
    "auditor": ("to_sign", "to_approve", "in_transit", "to_receive", "to_decide", "breaching"),
}
# The oldest item of each batch queue: the instant its wait started.
_SINCE = dict(  # SQL, not words: a dict() call keeps scripts/catalog.py from collecting it
    to_sign="b.submitted_at", to_approve="b.signed_at", to_dispatch="b.approved_at",
    in_transit="(b.dispatched_on::timestamp AT TIME ZONE 'Asia/Shanghai')",
    to_receive="b.arrived_at", to_decide="b.arrived_at", breaching="b.arrived_at",
)
_OWN = {
    # every open draft, this month's or one moved to next month because its window closed (R5)
    "drafts": ("b.status = 'draft'", "b.created_at"),
    "decided": (UNREAD_RECEIPT, "b.decided_at"),
}
_NO_WINDOW = (
    "(SELECT count(*) FROM region r WHERE EXISTS (SELECT 1 FROM organisation ro "
    "WHERE ro.region = r.id AND ro.kind IN ('office', 'agent') AND ro.active) AND "
    "(SELECT a.week FROM calendar_assignment a WHERE a.region = r.id AND a.effective_from <= {month} "
    "ORDER BY a.effective_from DESC, a.id DESC LIMIT 1) IS NULL) AS no_window_n")


# The batches any queue holds: these open states (index return_batch_queue), and decided ones
# whose receipt is unread (partial index return_batch_unread_receipt). Decided and read, closed,
# refused and withdrawn batches (the history) are never read, so a home's cost follows open
# work (issue 17 §3). Open quality disputes are counted from their own table (the partial index
# quality_dispute_one_open), whatever their batch's status.
_OPEN = ("draft", "submitted", "signed", "approved", "dispatched", "received")


def _statement(actor: Actor, keys: frozenset[str], now: datetime) -> tuple[str, list]:
    """One statement with the queues `keys` only (what the actor's sections show): each batch
    queue's count and oldest instant (FILTER per queue), and where wanted the open quality
    disputes, the special approvals asked for and the regions without a week. Asking for no
    more than is shown keeps the statement small: PostgreSQL plans it at every call."""
    args: list = [now]  # $1: the queues' and the disputes' deadlines are measured from it
    parts = ["$1::timestamptz AS as_of"]
    since = {**_SINCE, **{key: s for key, (_, s) in _OWN.items()}}
    filters = {**{key: sql for key, sql in QUEUES.items() if key != "to_verify"},
               **{key: sql for key, (sql, _) in _OWN.items()}}
    batch_keys = [key for key in filters if key in keys]
    for key in batch_keys:
        parts += [f"count(*) FILTER (WHERE {filters[key]}) AS {key}_n",
                  f"min({since[key]}) FILTER (WHERE {filters[key]}) AS {key}_at"]
    if "to_verify" in keys:
        disputes = ("FROM quality_dispute d JOIN return_batch db ON db.id = d.batch "
                    "JOIN organisation dso ON dso.id = db.organisation WHERE d.verified_at IS NULL "
                    f"AND {scope_sql(actor, 'dso.path', args)}")
        parts += [f"(SELECT count(*) {disputes}) AS to_verify_n",  # one open per batch
                  f"(SELECT min(d.raised_at) {disputes}) AS to_verify_at",
                  f"(SELECT count(*) {disputes} AND d.due_at <= $1) AS to_verify_late"]
    if "special" in keys:
        special = ("FROM special_approval s JOIN organisation so ON so.id = s.organisation "
                   f"WHERE s.status = 'requested' AND {scope_sql(actor, 'so.path', args)}")
        parts += [f"(SELECT count(*) {special}) AS special_n",
                  f"(SELECT min(s.requested_at) {special}) AS special_at"]
    if "no_window" in keys:
        args.append(clock.china_today(now).replace(day=1))
        parts.append(_NO_WINDOW.replace("{month}", f"${len(args)}"))
    if not batch_keys:
        return f"SELECT {', '.join(parts)}", args
    live = ", ".join(f"'{status}'" for status in _OPEN)
    return (f"SELECT {', '.join(parts)} FROM return_batch b "
            f"JOIN organisation o ON o.id = b.organisation "
            f"WHERE (b.status IN ({live}) OR ({UNREAD_RECEIPT})) "
            f"AND {scope_sql(actor, 'o.path', args)}"), args


def _link(key: str) -> str:
    return {"drafts": "/batches?status=draft",
            "decided": "/batches?queue=to_read",
            "special": "/special-approvals?status=requested",
            "no_window": "/calendar"}.get(key, f"/batches?queue={key}")


async def queues(actor: Actor, now: datetime) -> list[Queue]:
    mine = sections_of(actor)
    wanted = [(section, key) for section in SECTIONS if section in mine
              for key in SECTION_QUEUES.get(section, ())]
    if not wanted:
        return []
    sql, args = _statement(actor, frozenset(key for _, key in wanted), now)
    row = (await raw_fetch(sql, *args))[0]
    result = []
    for section, key in wanted:
        title, empty = QUEUE_LABELS[key]
        alarm = row[f"{key}_n"] > 0 if key == "breaching" else \
            key == "to_verify" and row["to_verify_late"] > 0
        result.append(Queue(key, title, row[f"{key}_n"], row.get(f"{key}_at"),
                            _link(key), empty, section, alarm=alarm))
    return result
