"""Customer archive, return-visit and survey rules (R34), pure."""
from __future__ import annotations

from datetime import datetime

from service.rules import mask_name, mask_phone

RETURN_VISIT_SHARE_PERCENT = 5  # R34: at least 5 % of the year's customers


def visits_needed(customers: int) -> int:
    """R34: the fewest return visits a year's plan may hold: 5 % of the customers, rounded up."""
    return -(-customers * RETURN_VISIT_SHARE_PERCENT // 100)


ARCHIVE_ORG_KINDS = frozenset({"store", "subdistributor", "office", "agent", "repair_point"})
PRAISE_MIN_SCORE = 4  # R34 praise: an opinion card with every score at least this
VISITS_LATE_FROM = (12, 1)  # R34: from 1 December unvisited customers of the year's plan are late
MAIN_PROBLEMS = 3  # R34: the survey's most frequent problems, each needing an action
# The short list of problems a survey answer may name (R34); free text is accepted too.
SURVEY_PROBLEM_LABELS = {
    "quality": "Product quality",
    "repair_slow": "Repairs take too long",
    "attitude": "Staff attitude",
    "price": "Repair or parts price",
    "parts": "Spare parts not available",
    "information": "Hard to find the repair point",
}
ACTION_KIND_LABELS = {"corrective": "Corrective action", "preventive": "Preventive action"}


def may_open_archive(actor) -> bool:
    """R34: who opens the customer archive at all: the organisations that serve customers, a
    regional manager, HQ customer service and the auditor (the rest of HQ has no need)."""
    if actor.organisation_kind == "hq":
        return actor.has("hq_cs", "auditor") or (actor.has("manager") and bool(actor.covered_paths))
    return actor.organisation_kind in ARCHIVE_ORG_KINDS


def may_open_visits(actor) -> bool:
    """R34: return-visit plans and surveys are the office manager's (the sales-service manager),
    HQ customer service's, and the auditor reads them."""
    if actor.organisation_kind == "hq":
        return actor.has("hq_cs", "auditor")
    return actor.organisation_kind in ("office", "agent") and actor.has("manager")


def may_lead_visits(actor, organisation_id: int) -> bool:
    """R34: the plan and the survey are led by the office's manager or by HQ customer service."""
    if actor.organisation_kind == "hq":
        return actor.has("hq_cs")
    return actor.organisation_id == organisation_id and actor.has("manager") \
        and actor.organisation_kind in ("office", "agent")


def sees_personal_data(actor, holding_org_id: int) -> bool:
    """R34: name, phone and address in full only to those who need them: the people of the
    organisation holding the file, and HQ customer service. Everyone else who may see the file
    (an office above a store, a regional manager, the auditor) reads them masked."""
    if actor.organisation_kind == "hq":
        return actor.has("hq_cs")
    return actor.organisation_id == holding_org_id


def contact(row: dict, full: bool) -> dict:
    """A file's name, phone and address as this reader may see them (masked, or erased: '')."""
    if row.get("erased_at"):
        return {"name": "", "phone": "", "address": ""}
    if full:
        return {"name": row["name"], "phone": row["phone"], "address": row["address"]}
    return {"name": mask_name(row["name"]), "phone": mask_phone(row["phone"]),
            "address": "*" * min(len(row["address"]), 6) if row["address"] else ""}


def is_praise(attitude: int | None, skill: int | None, punctuality: int | None) -> bool:
    """R34 praise: an opinion card scoring every question at least PRAISE_MIN_SCORE."""
    scores = (attitude, skill, punctuality)
    return all(s is not None and s >= PRAISE_MIN_SCORE for s in scores)


def retention_cutoff(now: datetime, months: int) -> datetime:
    """R34: a file whose last activity is before this instant has been idle `months` calendar
    months (the same day of the month, clamped to the month's end)."""
    month = now.month - 1 - months
    year, month = now.year + month // 12, month % 12 + 1
    days = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30,
            31, 31, 30, 31, 30, 31][month - 1]
    return now.replace(year=year, month=month, day=min(now.day, days))


def plan_refusal(customers: int, planned: int) -> tuple[str, dict] | None:
    """R34: why a plan of `planned` visits over `customers` customers is refused, or None."""
    if customers == 0:
        return ("No customers bought or were served in that year: there is nobody to visit.", {})
    if planned > customers:
        return ("The plan cannot visit more than the %(customers)s customers of the year.",
                {"customers": customers})
    needed = visits_needed(customers)
    if planned < needed:
        return ("At least 5 %% of the year's customers get a return visit: visit at least "
                "%(needed)s of the %(customers)s customers.",
                {"needed": needed, "customers": customers})
    return None


def visits_late(year: int, today) -> bool:
    """R34: the year's plan is late from 1 December of its year on (unvisited customers are
    flagged), and after its year."""
    month, day = VISITS_LATE_FROM
    return (today.year, today.month, today.day) >= (year, month, day)


def problem_key(text: str) -> str:
    """How answers naming the same problem group: the listed code, or the free text trimmed
    and lower-cased (the SQL groups by the same expression: lower(btrim(problem)))."""
    return text.strip().lower()


def main_problems(counts: dict[str, int], answers: int) -> list[dict]:
    """R34: the survey's problems, most frequent first (then by name), each with its count and
    its share of all answers in %; the first MAIN_PROBLEMS are the main ones."""
    ranked = sorted(((k, n) for k, n in counts.items() if k), key=lambda kn: (-kn[1], kn[0]))
    return [{"problem": k, "answers": n, "share": round(100 * n / answers, 1) if answers else 0,
             "main": i < MAIN_PROBLEMS} for i, (k, n) in enumerate(ranked)]


def survey_actions(*, analysed: bool, answers: int, is_leader: bool) -> dict[str, str | None]:
    """The survey's actions this person sees: action -> None when possible, else why not."""
    if not is_leader:
        return {}
    if analysed:  # nothing left to do with answers: the actions follow the main problems
        return {}
    return {"answer": None,
            "analyse": None if answers else "Record at least one answer before analysing."}
