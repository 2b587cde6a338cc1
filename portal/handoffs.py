"""Who is told of what: every hand-off notifies the people who must act next (issue 9).

`HANDOFFS` is the one table. A row names an event, who hears of it (audiences, below), the
subject and body msgids (English; zh_CN in the catalog) and the page where they act. Services
call `tell(event, ...)` inside the transaction that makes the change, so a notice exists exactly
when the change commits; the person acting is never told of their own action.

Why the table lives here, in the shell, and not in rows each domain registers: it names only
events, audiences and words, never a domain's table or rule, so `portal` still imports no
domain; and one literal dict is what a reader (and `tests/portal/test_handoffs.py`, which walks
it row by row) can take in at a glance. A registry filled at import time would scatter it again.

Audiences are resolved to active users with the notification rows written in ONE statement
(`INSERT … SELECT`): one round trip per hand-off, whatever the number of recipients. It writes
the same `notification` rows as `portal.notify.notify` (same de-duplication, same e-mail queue).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from portal import clock
from portal.actor import Actor
from portal.db import engine, raw_fetch
from portal.i18n import LOCALES, translate


@dataclass(frozen=True)
class Handoff:
    audience: tuple[str, ...]
    subject: str  # msgid, %(name)s parameters
    body: str  # msgid
    link: str  # the page where they act, {name} parameters
    pending: str = ""  # declared but not yet sent through `tell`: where it is still sent from


# Audience -> condition on `u` (portal_user), `o` (its organisation) and `p` (the call: org, the
# office or dealer concerned; point, a repair point; ids, named users).
AUDIENCES = dict(  # SQL, not words: a dict() call, which scripts/catalog.py does not collect
    office_managers="u.organisation = p.org AND 'manager' = ANY(u.roles)",
    office_clerks="u.organisation = p.org AND 'dealer_clerk' = ANY(u.roles)",
    dealer_people="u.organisation = p.org",
    # a regional manager (HQ) covering the office, or an office above it (Actor.covered_paths)
    covering_regional_managers=(
        "'manager' = ANY(u.roles) AND EXISTS (SELECT 1 FROM manager_coverage mc "
        "JOIN organisation c ON c.id = mc.organisation JOIN organisation t ON t.id = p.org "
        "WHERE mc.\"user\" = u.id AND t.path LIKE c.path || '%')"),
    point_staff="u.organisation = p.point AND 'repair_staff' = ANY(u.roles)",
    hq_cs="o.kind = 'hq' AND 'hq_cs' = ANY(u.roles)",
    hq_logistics="o.kind = 'hq' AND 'hq_logistics' = ANY(u.roles)",
    hq_tech="o.kind = 'hq' AND 'hq_tech' = ANY(u.roles)",
    hq_finance="o.kind = 'hq' AND 'hq_finance' = ANY(u.roles)",
    vice_president="o.kind = 'hq' AND 'vice_president' = ANY(u.roles)",
    named="u.id = ANY(p.ids)",  # the proposer, the submitter, ... passed as user_ids
)

_BATCH = "/batches/{batch_id}"
_POINT = "/repair-points/{point_id}"

HANDOFFS: dict[str, Handoff] = {
    # --- return batches (dealers/batches.py, dealers/receiving.py) ------------------------------
    "batch_submitted": Handoff(
        audience=("office_managers", "covering_regional_managers"),
        subject="Return batch %(number)s waits for your signature",
        body="%(office)s submitted return batch %(number)s with %(lines)s lines. Appraise the "
             "goods, then sign it or send it back for corrections.",
        link=_BATCH),
    "batch_sent_back": Handoff(
        audience=("office_clerks", "named"),
        subject="Return batch %(number)s was sent back for corrections",
        body="Correct the batch and submit it again. The manager wrote: %(reason)s",
        link=_BATCH),
    "batch_signed": Handoff(
        audience=("hq_cs",),
        subject="Return batch %(number)s waits for approval",
        body="The manager of %(office)s signed return batch %(number)s. Approve it (return to "
             "the factory or dispose of locally) or refuse it.",
        link=_BATCH),
    "batch_approved": Handoff(
        audience=("office_clerks", "office_managers"),
        subject="Return batch %(number)s approved: send it to head office",
        body="Customer service approved the return to the factory. Print the registration "
             "form, send it with the goods and record the dispatch.",
        link=_BATCH),
    "batch_approved_dispose": Handoff(
        audience=("office_clerks", "office_managers"),
        subject="Return batch %(number)s approved: dispose of it locally",
        body="Customer service approved disposing of the goods locally. Dispose of them and "
             "record the evidence on the batch page.",
        link=_BATCH),
    "batch_refused": Handoff(
        audience=("office_clerks", "office_managers"),
        subject="Return batch %(number)s refused",
        body="Customer service refused the batch. Reason: %(reason)s",
        link=_BATCH),
    "batch_dispatched": Handoff(
        audience=("hq_logistics",),
        subject="Return batch %(number)s is on its way",
        body="%(office)s sent %(packages)s packages with %(carrier)s (waybill %(waybill)s) on "
             "%(date)s. Scan the registration form when the goods arrive.",
        link=_BATCH),
    "batch_arrived": Handoff(
        audience=("office_clerks", "office_managers", "hq_cs"),
        subject="Return batch %(number)s arrived at head office",
        body="The goods arrived on %(date)s. Head office counts them by the end of "
             "%(count_by)s and decides every line by the end of %(decide_by)s.",
        link=_BATCH),
    "count_difference": Handoff(
        audience=("office_clerks", "office_managers", "hq_cs"),
        subject="Return batch %(number)s: the count differs from the form",
        body="Head office counted return batch %(number)s: %(n)s lines differ from the form. "
             "Head office's count applies; the batch page shows each difference.",
        link=_BATCH),
    "receipt_ready": Handoff(
        audience=("office_clerks", "office_managers", "hq_cs"),
        subject="Return batch %(number)s decided",
        body="Exchanged %(exchanged)s, credited %(credited)s, rejected %(rejected)s. The "
             "receipt lists the reasons.",
        link=_BATCH),
    # --- repair points, spares, deposits (spares/service.py) ------------------------------------
    "repair_point_proposed": Handoff(
        audience=("hq_cs",),
        subject="New repair point proposed: %(name)s",
        body="%(office)s proposes the repair point %(name)s at %(address)s, with a monthly "
             "repair fee of %(fee)s. Approve or refuse it.",
        link="/repair-points?waiting=proposed"),
    "repair_point_approved": Handoff(
        audience=("named",),
        subject="Repair point %(name)s approved",
        body="Customer service approved the repair point. It pays a deposit of %(deposit)s; "
             "its first stock ships once the deposit is paid.",
        link=_POINT),
    "repair_point_refused": Handoff(
        audience=("named",),
        subject="Repair point %(name)s refused",
        body="Customer service refused the proposed repair point. Reason: %(reason)s",
        link="/repair-points"),
    "deposit_credited": Handoff(
        audience=("point_staff",),
        subject="Deposit payment received: %(amount)s",
        body="%(point)s: %(amount)s received. Paid so far: %(balance)s of %(required)s.",
        link=_POINT),
    "deposit_paid": Handoff(
        audience=("hq_logistics",),
        subject="Deposit of %(point)s paid: ship the first stock",
        body="%(point)s has paid its deposit of %(required)s in full. Its first stock can ship "
             "now.",
        link=_POINT),
    "exchange_requested": Handoff(
        audience=("office_clerks", "office_managers"),
        subject="%(point)s asks for an old-for-new exchange",
        body="%(point)s asks to exchange %(qty)s × %(part)s. Hand over good parts, take the "
             "faulty ones back and mark the exchange completed.",
        link="/repair-points/exchanges?status=requested"),
    "exchange_completed": Handoff(
        audience=("point_staff",),
        subject="Exchange completed: %(qty)s × %(part)s",
        body="%(office)s handed over %(qty)s good %(part)s and took the faulty ones back. Your "
             "stock is updated.",
        link=_POINT),
    # --- repair fees and consumer disputes (spares/oversight.py) --------------------------------
    "fee_proposed": Handoff(
        audience=("hq_cs",),
        subject="Repair fee proposed for %(point)s: %(amount)s a month",
        body="A monthly repair fee of %(amount)s is proposed for %(point)s from %(month)s. "
             "Approve or refuse it.",
        link=_POINT),
    "fee_approved": Handoff(
        audience=("named", "point_staff"),
        subject="Repair fee for %(point)s approved: %(amount)s a month",
        body="Customer service approved the monthly repair fee of %(amount)s for %(point)s. It "
             "is paid from %(month)s.",
        link=_POINT),
    "fee_refused": Handoff(
        audience=("named", "point_staff"),
        subject="Repair fee for %(point)s refused",
        body="Customer service refused the proposed monthly fee of %(amount)s. Reason: "
             "%(reason)s",
        link=_POINT),
    "dispute_recorded": Handoff(
        audience=("office_managers", "covering_regional_managers"),
        subject="Consumer dispute at %(point)s: please mediate",
        body="Mediate it: settle it, or pass it to customer service for a final ruling. "
             "%(customer)s says: %(description)s",
        link=_POINT),
    "dispute_settled": Handoff(
        audience=("point_staff",),
        subject="Consumer dispute at %(point)s settled",
        body="The dispute with %(customer)s is settled: %(notes)s",
        link=_POINT),
    "dispute_escalated": Handoff(
        audience=("hq_cs",),
        subject="Consumer dispute at %(point)s needs your ruling",
        body="The office could not settle the dispute with %(customer)s: give the final "
             "ruling. The office's notes: %(notes)s",
        link=_POINT),
    "dispute_ruled": Handoff(
        audience=("point_staff", "office_managers"),
        subject="Final ruling on the dispute at %(point)s",
        body="Customer service ruled on the dispute with %(customer)s: %(ruling)s",
        link=_POINT),
    # --- statements (settlements/notices.py) -----------------------------------------------------
    "statement_approved": Handoff(
        audience=("dealer_people",),
        subject="Your statement for %(month)s is approved: %(amount)s",
        body="It is frozen now; payment follows. Corrections go into a later statement.",
        link="/statements/{statement_id}"),
    "statement_paid": Handoff(
        audience=("dealer_people",),
        subject="Your statement for %(month)s is paid: %(amount)s",
        body="HQ has paid statement %(id)s; the payment reference is on its page.",
        link="/statements/{statement_id}"),
    # --- special approvals, roll-over, batch quality disputes (dealers/special_cases.py) ---------
    "special_requested": Handoff(
        audience=("hq_cs",),
        subject="Special approval requested by %(org)s",
        body="%(org)s asks for a special approval: %(reason)s",
        link="/special-approvals"),
    "special_approved": Handoff(
        audience=("named", "office_clerks"),
        subject="Special approval granted to %(org)s",
        body="Customer service granted the special approval. The office's batch for %(month)s "
             "may now be submitted outside the return window.",
        link="/special-approvals"),
    "special_refused": Handoff(
        audience=("named", "office_clerks"),
        subject="Special approval refused for %(org)s",
        body="Customer service refused the special approval. Reason: %(reason)s",
        link="/special-approvals"),
    "rolled_over": Handoff(
        audience=("office_clerks", "office_managers"),
        subject="Return batch %(number)s moved to %(month)s",
        body="It was not submitted in this month's window, so it is not accepted this month. "
             "Submit it in the %(month)s window.",
        link=_BATCH),
    "rollover_blocked": Handoff(
        audience=("office_clerks", "office_managers"),
        subject="Return batch %(number)s was not submitted in time",
        body="It could not move to %(month)s because that month already has a batch. Move its "
             "lines there or withdraw it.",
        link=_BATCH),
    "quality_dispute": Handoff(
        audience=("hq_cs", "hq_tech"),
        subject="Batch quality dispute on %(number)s",
        body="%(office)s reports a batch quality problem. HQ tech verifies it on site by "
             "%(due)s.",
        link=_BATCH),
    "quality_confirmed": Handoff(
        audience=("office_clerks", "office_managers", "hq_cs"),
        subject="Quality problem on %(number)s confirmed",
        body="HQ tech confirmed the quality problem: the company takes the whole batch back and "
             "bears all freight.",
        link=_BATCH),
    "quality_not_confirmed": Handoff(
        audience=("office_clerks", "office_managers", "hq_cs"),
        subject="Quality problem on %(number)s not confirmed",
        body="HQ tech did not confirm the quality problem: %(findings)s",
        link=_BATCH),
    # --- customer service: complaints (service/complaints.py, R32) ------------------------------
    "complaint_recorded": Handoff(
        audience=("hq_cs",),
        subject="New complaint %(reference)s: judge it",
        body="%(org)s received complaint %(reference)s. Judge whether it stands, its kind and "
             "whether it is major by %(due)s (China time).",
        link="/complaints/{complaint_id}"),
    "complaint_major": Handoff(
        audience=("vice_president",),
        subject="Major complaint %(reference)s",
        body="Customer service judged complaint %(reference)s (%(org)s) a major complaint. It "
             "is handled at your level: you approve its resolution, and it closes only with a "
             "preventive action.",
        link="/complaints/{complaint_id}"),
    "complaint_not_standing": Handoff(
        audience=("dealer_people",),
        subject="Complaint %(reference)s does not stand",
        body="Customer service judged that complaint %(reference)s does not stand and answered "
             "the customer. Reason: %(reason)s",
        link="/complaints/{complaint_id}"),
    "complaint_assigned": Handoff(
        audience=("named",),
        subject="Complaint %(reference)s is assigned to you",
        body="Customer service assigned complaint %(reference)s (%(org)s) to your unit. "
             "Investigate the cause and who is responsible, then propose a resolution.",
        link="/complaints/{complaint_id}"),
    "complaint_investigated": Handoff(
        audience=("hq_cs",),
        subject="Complaint %(reference)s investigated",
        body="The responsible unit recorded the cause of complaint %(reference)s; its proposed "
             "resolution follows.",
        link="/complaints/{complaint_id}"),
    "complaint_proposed": Handoff(
        audience=("hq_cs",),
        subject="Complaint %(reference)s: a resolution to approve",
        body="The responsible unit proposed a resolution for complaint %(reference)s (%(org)s). "
             "Approve it or send it back.",
        link="/complaints/{complaint_id}"),
    "complaint_proposed_major": Handoff(
        audience=("vice_president",),
        subject="Major complaint %(reference)s: a resolution to approve",
        body="The responsible unit proposed a resolution for the major complaint %(reference)s "
             "(%(org)s). Approve it or send it back.",
        link="/complaints/{complaint_id}"),
    "complaint_refused": Handoff(
        audience=("named",),
        subject="Complaint %(reference)s: resolution sent back",
        body="Your proposed resolution for complaint %(reference)s was not approved: "
             "%(reason)s. Propose another.",
        link="/complaints/{complaint_id}"),
    "complaint_approved": Handoff(
        audience=("dealer_people",),
        subject="Complaint %(reference)s: resolution approved, tell the customer",
        body="The resolution of complaint %(reference)s is approved. Tell the customer, record "
             "how, then close the complaint.",
        link="/complaints/{complaint_id}"),
    "complaint_approved_hq": Handoff(
        audience=("hq_cs",),
        subject="Complaint %(reference)s: resolution approved, tell the customer",
        body="The resolution of complaint %(reference)s is approved. Tell the customer, record "
             "how, then close the complaint.",
        link="/complaints/{complaint_id}"),
    "complaint_told": Handoff(
        audience=("hq_cs",),
        subject="Complaint %(reference)s: the customer is told",
        body="%(org)s told the customer the resolution of complaint %(reference)s. It closes "
             "with accountability and an improvement action.",
        link="/complaints/{complaint_id}"),
    "complaint_major_closed": Handoff(
        audience=("vice_president",),
        subject="Major complaint %(reference)s closed",
        body="The major complaint %(reference)s (%(org)s) is closed with its accountability, "
             "improvement and preventive actions.",
        link="/complaints/{complaint_id}"),
    "complaint_overdue": Handoff(
        audience=("hq_cs",),
        subject="Complaint %(reference)s is past its deadline",
        body="Complaint %(reference)s was %(what)s (due %(due)s, China time). Take it up now.",
        link="/complaints/{complaint_id}"),
    "complaint_overdue_major": Handoff(
        audience=("hq_cs", "vice_president"),
        subject="Major complaint %(reference)s is past its deadline",
        body="The major complaint %(reference)s was %(what)s (due %(due)s, China time). Take "
             "it up now.",
        link="/complaints/{complaint_id}"),
    # --- customer service: service calls and opinion cards (service/calls.py, R33) --------------
    "call_recorded": Handoff(
        audience=("point_staff",),
        subject="Service call %(number)s: visit the customer by %(visit_by)s",
        body="%(point)s: a customer called for a repair. Visit on site by %(visit_by)s (China "
             "time), within 24 hours of the call. The problem: %(problem)s",
        link="/service-calls/{call_id}"),
    "call_cancelled": Handoff(
        audience=("point_staff", "named"),
        subject="Service call %(number)s cancelled",
        body="No visit is needed any more. Reason: %(reason)s",
        link="/service-calls/{call_id}"),
    # --- customer service: return visits, surveys, the customer archive (service/archive.py, R34)
    "return_visit_plan_drawn": Handoff(
        audience=("office_managers",),
        subject="Return visits %(year)s: %(planned)s customers to visit",
        body="%(office)s: %(planned)s of the year's %(customers)s customers were drawn for a "
             "return visit. Visit each of them and record what they say.",
        link="/return-visits/{plan_id}"),
    "survey_action_owned": Handoff(
        audience=("named",),
        subject="A survey action is yours: %(problem)s",
        body="The satisfaction survey of %(office)s named the problem \"%(problem)s\". You own "
             "its action: %(action)s Due by %(due)s.",
        link="/surveys/{survey_id}"),
    # --- goods after the decision: replacements (goods/replacements.py, R13) -----------------
    "replacement_opened": Handoff(
        audience=("office_clerks", "office_managers", "hq_logistics"),
        subject="Return batch %(number)s: replacement goods ordered",
        body="%(office)s: %(owed)s exchanged items are owed and will ship from head office; "
             "%(credited)s are credited instead, as head office has none of the model.",
        link="/goods/replacements/{replacement_id}"),
    "replacement_shipped": Handoff(
        audience=("office_clerks", "office_managers"),
        subject="Return batch %(number)s: replacement goods shipped",
        body="Head office shipped %(quantity)s items with %(carrier)s (waybill %(waybill)s) on "
             "%(date)s. Confirm what arrives, line by line.",
        link="/goods/replacements/{replacement_id}"),
    "replacement_credited": Handoff(
        audience=("office_clerks", "office_managers"),
        subject="Return batch %(number)s: replacement credited instead",
        body="%(quantity)s exchanged items will not ship; they are credited to your account "
             "instead. Reason: %(reason)s",
        link="/goods/replacements/{replacement_id}"),
    "replacement_short": Handoff(
        audience=("hq_logistics", "hq_cs"),
        subject="Return batch %(number)s: replacement delivery short",
        body="%(office)s received %(quantity)s items fewer than shipped (waybill %(waybill)s). "
             "Ship the shortfall again or credit it.",
        link="/goods/replacements/{replacement_id}"),
    "replacement_short_resolved": Handoff(
        audience=("office_clerks", "office_managers"),
        subject="Return batch %(number)s: the shortfall is resolved",
        body="The %(quantity)s missing items are %(resolution)s.",
        link="/goods/replacements/{replacement_id}"),
    "rejected_goods_chosen": Handoff(
        audience=("hq_logistics",),
        subject="Return batch %(number)s: rejected goods to be %(choice)s",
        body="%(office)s asks for its %(quantity)s rejected items to be %(choice)s.",
        link="/goods/batches/{batch_id}/rejected"),
    "rejected_goods_sent": Handoff(
        audience=("office_clerks", "office_managers"),
        subject="Return batch %(number)s: rejected goods sent back",
        body="Head office sent your %(quantity)s rejected items back with %(carrier)s (waybill "
             "%(waybill)s) on %(date)s.",
        link="/goods/batches/{batch_id}/rejected"),
    # --- goods after the decision: supplier claims (goods/suppliers.py, R13, R16) ---------------
    # Tech answers for which component failed, so it checks and sends the claims; finance
    # books what the supplier accepts and settles it.
    "supplier_claims_drawn_up": Handoff(
        audience=("hq_tech",),
        subject="Supplier claims for %(month)s wait to be sent",
        body="%(lines)s confirmed defects of %(month)s were added to %(claims)s supplier claims. "
             "Check each claim and send it to its supplier.",
        link="/goods/suppliers"),
    "supplier_claim_sent": Handoff(
        audience=("hq_finance",),
        subject="Supplier claim sent: %(supplier)s, %(month)s",
        body="A claim of %(amount)s for %(quantity)s defective items was sent to %(supplier)s. "
             "Its answer is recorded on the claim; you settle what the supplier accepts.",
        link="/goods/supplier-claims/{claim_id}"),
    "supplier_claim_answered": Handoff(
        audience=("hq_finance",),
        subject="Supplier claim to settle: %(supplier)s, %(month)s",
        body="%(supplier)s accepted %(accepted)s of the %(amount)s claimed. Settle the claim "
             "when the amount is received or set off. The answer: %(answer)s",
        link="/goods/supplier-claims/{claim_id}"),
    "supplier_claim_settled": Handoff(
        audience=("hq_tech",),
        subject="Supplier claim settled: %(supplier)s, %(month)s",
        body="%(supplier)s settled %(settled)s of the %(amount)s claimed for %(month)s.",
        link="/goods/supplier-claims/{claim_id}"),
    # --- audits of offices (oversight/audits.py, R30) ------------------------------------------
    # An unannounced audit tells the audited office nothing before its visit: only
    # "audit_announced" (sent for announced audits) reaches the office before then.
    "audit_plan_submitted": Handoff(
        audience=("vice_president",),
        subject="Audit plan for %(office)s waits for your approval",
        body="The audit group submitted its plan for %(office)s (report due %(deadline)s). "
             "Approve it or return it with your reason.",
        link="/audits/{audit_id}"),
    "audit_plan_returned": Handoff(
        audience=("named",),
        subject="Audit plan for %(office)s returned",
        body="The vice-president returned the plan: %(note)s Revise it and submit it again.",
        link="/audits/{audit_id}"),
    "audit_plan_approved": Handoff(
        audience=("named",),
        subject="Audit plan for %(office)s approved",
        body="The vice-president approved the audit of %(office)s. Record the visit, then file "
             "the report by %(deadline)s.",
        link="/audits/{audit_id}"),
    "audit_announced": Handoff(
        audience=("office_managers",),
        subject="Head office will audit %(office)s",
        body="Head office's audit group will audit %(office)s; its report is due %(deadline)s. "
             "Make the staff and the books available.",
        link="/audits/{audit_id}"),
    "audit_reported": Handoff(
        audience=("vice_president",),
        subject="Audit report on %(office)s filed",
        body="The audit group filed its report on %(office)s. Instruct rectification if it is "
             "needed.",
        link="/audits/{audit_id}"),
    "rectification_instructed": Handoff(
        audience=("covering_regional_managers",),
        subject="Rectification to order at %(office)s",
        body="The vice-president instructs a rectification order for %(office)s after its "
             "audit. Issue it to the office with what to put right and by when.",
        link="/audits/{audit_id}"),
    "rectification_issued": Handoff(
        audience=("office_managers",),
        subject="Rectification order for %(office)s",
        body="Head office orders a rectification after the audit, due %(due)s. Attach your "
             "evidence and answer the order.",
        link="/audits/{audit_id}"),
    "rectification_answered": Handoff(
        audience=("named",),
        subject="%(office)s answered its rectification order",
        body="The office answered the rectification order with its evidence. Close the order "
             "or send it back.",
        link="/audits/{audit_id}"),
    "rectification_closed": Handoff(
        audience=("office_managers",),
        subject="Rectification order for %(office)s closed",
        body="Head office closed the rectification order. %(note)s",
        link="/audits/{audit_id}"),
    "rectification_reopened": Handoff(
        audience=("office_managers",),
        subject="Rectification order for %(office)s sent back",
        body="Head office sent the answer back: %(note)s Answer the order again.",
        link="/audits/{audit_id}"),
}

def _for_locale(params: dict, locale: str) -> dict:
    """Parameters as one reader sees them: {locale: text} values pick that locale's text."""
    return {k: (v.get(locale) or next(iter(v.values()), "")) if isinstance(v, dict) else v
            for k, v in params.items()}


def names(row: dict, base: str = "name") -> dict[str, str]:
    """An organisation's (or part's) name in each language, for a parameter."""
    zh = row.get(f"{base}_zh") or row.get(base) or ""
    return {"zh_CN": zh, "en": row.get(f"{base}_en") or zh}


def china_day(at: datetime | date) -> str:
    """A date as people in China read it (business dates are China dates, R3)."""
    if isinstance(at, datetime):
        at = at.astimezone(clock.CHINA).date()
    return at.isoformat()


def _sql(audience: tuple[str, ...]) -> str:
    who = " OR ".join(f"({AUDIENCES[a]})" for a in audience)
    return (
        "WITH p AS (SELECT $4::int AS org, $5::int AS point, $6::int[] AS ids, $12::int AS actor) "
        "INSERT INTO notification (\"user\", kind, dedupe_key, subject, body, link, created_at) "
        "SELECT u.id, $1, $2, CASE WHEN u.locale = 'en' THEN $9 ELSE $7 END, "
        "CASE WHEN u.locale = 'en' THEN $10 ELSE $8 END, $3, $11 "
        "FROM portal_user u JOIN organisation o ON o.id = u.organisation CROSS JOIN p "
        f"WHERE u.active AND o.active AND u.id IS DISTINCT FROM p.actor AND ({who}) "
        "ON CONFLICT (\"user\", kind, dedupe_key) DO NOTHING RETURNING \"user\"")


async def tell(event: str, *, actor: Actor | None, params: dict, dedupe_key: str,
               org_id: int | None = None, point_id: int | None = None,
               user_ids: list[int] | tuple[int, ...] = ()) -> list[int]:
    """Notify the row's audiences of `event`, each in their language, in the caller's
    transaction; never `actor`. A repeat (same event and key) tells nobody twice. Returns the
    user ids told now."""
    row = HANDOFFS[event]
    if engine().current_transaction.get() is None:
        raise RuntimeError("tell() runs inside the transaction that makes the change")
    texts = {}  # zh_CN, the default, for every locale but en (as portal.i18n.translate does)
    for locale in LOCALES:
        local = _for_locale(params, locale)
        texts[locale] = (translate(row.subject, locale, **local)[:200],
                         translate(row.body, locale, **local))
    link = row.link.format(**_for_locale(params, "en"))
    rows = await raw_fetch(
        _sql(row.audience), event, dedupe_key[:80], link[:200], org_id, point_id,
        list(user_ids), *texts["zh_CN"], *texts["en"], clock.now(),
        actor.user_id if actor else None)
    return [r["user"] for r in rows]

