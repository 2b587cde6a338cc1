"""What people read about a complaint (R32): words for its codes, its steps' success
messages, its export's columns and its history in plain words, in China time."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from portal import clock, listing
from portal.i18n import gettext, local_name

# Words for codes (msgids; the catalog collects *_LABELS).
STATUS_LABELS = {
    "recorded": "Recorded: to judge", "judged": "Stands: to assign",
    "not_standing": "Does not stand (answered)", "assigned": "Assigned: to investigate",
    "investigated": "Investigated: to propose a resolution",
    "proposed": "Resolution proposed: to approve", "approved": "Approved: tell the customer",
    "told": "Customer told: to close", "closed": "Closed",
}
KIND_LABELS = {"quality": "Product quality", "service": "Service", "suggestion": "Suggestion"}
CHANNEL_LABELS = {"phone": "Phone", "web": "Web (public form)", "letter": "Letter",
                  "visit": "Visit", "card": "Opinion card"}
ABOUT_LABELS = {"product": "A product", "repair_point": "A repair point", "office": "An office",
                "person": "A person", "other": "Something else"}
ASSIGNEE_LABELS = {
    "management": "Top management (marketing vice-president): contract disputes",
    "hq_logistics": "HQ logistics: transport", "hq_tech": "HQ tech: product quality",
    "hq_cs": "Customer service: suggestions and other matters",
    "unit": "The office or repair point concerned: service",
}
STEP_LABELS = {
    "recorded": "Recorded", "judged": "Judged: it stands",
    "not_standing": "Judged: it does not stand; the customer was answered",
    "assigned": "Assigned", "investigated": "Investigated", "proposed": "Resolution proposed",
    "approved": "Resolution approved", "proposal_refused": "Resolution sent back",
    "told": "Customer told", "closed": "Closed", "escalated": "Escalated: past a deadline",
}
DETAIL_LABELS = {
    "kind": "Kind", "major": "Major complaint",
    "assigned_to": "Responsible", "cause": "Cause", "responsible": "Who is responsible",
    "resolution": "Resolution", "told_how": "How the customer was told",
    "accountability": "Accountability", "improvement": "Improvement action",
    "preventive": "Preventive action", "reference": "Reference", "channel": "Channel",
    "about": "About", "acknowledge_by": "To be judged by", "resolve_by": "Customer told by",
    "escalated": "Late",
}
LATE_LABELS = {"ack": "not judged in time",
               "late": "not answered in time: the customer has not been told"}
WORDS = {"status": STATUS_LABELS, "kind": KIND_LABELS, "channel": CHANNEL_LABELS,
         "about": ABOUT_LABELS, "assigned_to": ASSIGNEE_LABELS, "step": STEP_LABELS,
         "detail": DETAIL_LABELS, "escalated": LATE_LABELS}
# What each step says once it worked: what happened, who was told.
DONE = {
    "record": "Complaint %(reference)s recorded; customer service has been told.",
    "judge": "Complaint %(reference)s judged.",
    "assign": "Complaint %(reference)s assigned; the responsible unit has been told.",
    "investigate": "Investigation of %(reference)s recorded; customer service has been told.",
    "propose": "Resolution of %(reference)s proposed; it waits for approval.",
    "approve": "Decision on the resolution of %(reference)s recorded; the next person has been "
               "told.",
    "tell": "Complaint %(reference)s: the customer is told. Close it with accountability and an "
            "improvement action.",
    "close": "Complaint %(reference)s closed.",
}



def china_time(at: datetime | None) -> str:
    return at.astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M") if at else ""


def word(group: str, code: Any) -> str:
    labels = WORDS[group]
    return gettext(labels[code]) if code in labels else str(code or "")


EXPORT_COLUMNS = [
    listing.Column("Reference", lambda c: c["reference"]),
    listing.Column("Recorded on", lambda c: listing.china_date(c["recorded_at"]), "date"),
    listing.Column("Held by", lambda c: local_name(c, "org_name")),
    listing.Column("Customer", lambda c: c["name_shown"]),
    listing.Column("Phone", lambda c: c["phone_shown"]),
    listing.Column("Channel", lambda c: word("channel", c["channel"])),
    listing.Column("About", lambda c: word("about", c["about"])),
    listing.Column("Kind", lambda c: word("kind", c["kind"])),
    listing.Column("Major complaint", lambda c: gettext("yes") if c["major"] else ""),
    listing.Column("Status", lambda c: word("status", c["status"])),
    listing.Column("To be judged by", lambda c: china_time(c["acknowledge_by"])),
    listing.Column("Customer told by", lambda c: china_time(c["resolve_by"])),
    listing.Column("Past a deadline", lambda c: gettext("yes") if c["breaching"] else ""),
]


def history_entries(rows: list[dict]) -> list[dict]:
    """The audit rows of a complaint as people read them: the step, who, when (China time),
    why, and what it set, in words."""
    entries = []
    for row in rows:
        details = []
        for key, value in (row["to_state"] or {}).items():
            if key not in DETAIL_LABELS or value in (None, ""):
                continue
            if key in ("acknowledge_by", "resolve_by") and isinstance(value, str):
                value = china_time(datetime.fromisoformat(value))
            elif isinstance(value, bool):
                value = gettext("yes") if value else gettext("no")
            elif key in WORDS:
                value = word(key, value)
            details.append((gettext(DETAIL_LABELS[key]), str(value)))
        # the job's reason is a msgid kept for the audit: its detail says it in words
        reason = "" if row["action"] == "escalated" else row["reason"]
        entries.append({"at": china_time(row["at"]), "who": row["actor_name"],
                        "step": word("step", row["action"]), "action": row["action"],
                        "reason": reason, "details": details})
    return entries

