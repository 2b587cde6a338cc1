"""Satisfaction surveys (R34): one per organisation and year; answers recorded (the customer
optional, satisfied or not, the main problem from HQ's short list or in the customer's words,
comments); the analysis groups the answers by problem in one statement and keeps the main ones
(most frequent first), each waiting for a corrective or preventive action with an owner and a
due date, which is then marked done."""
from __future__ import annotations

from datetime import timedelta

import asyncpg

from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from portal.handoffs import names, tell
from service import archive_queries, archive_rules
from service.inputs import ActionIn, AnswerIn, SurveyIn
from service.visits import LEAD_ONLY, check_visits, check_year, lead_organisation

ACTION_DAYS = 30  # an action's first due date, until its owner is named


@transactional
async def open_survey(*, actor: Actor, data: SurveyIn) -> int:
    org = await lead_organisation(actor, data.organisation_id)
    check_year(data.year)
    title = data.title.strip()
    if not title or len(title) > 120:
        raise ValidationFailed({"title": "Enter a title (up to 120 characters)."})
    try:
        rows = await raw_fetch(
            "INSERT INTO survey (organisation, year, title, created_by, created_at) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
            org["id"], data.year, title, actor.user_id, clock.now())
    except asyncpg.exceptions.UniqueViolationError:  # pragma: no cover - ON CONFLICT answers
        rows = []
    if not rows:
        raise Conflict("This organisation already has a survey for %(year)s.", year=data.year)
    await audit.record(actor=actor, object_type="survey", object_id=rows[0]["id"],
                       action="open", organisation_id=org["id"],
                       after={"year": data.year, "title": title})
    return rows[0]["id"]


async def get_survey(*, actor: Actor, survey_id: int) -> dict:
    check_visits(actor)
    survey = await archive_queries.survey_row(survey_id)
    if survey is None or not actor.can_see_path(survey["org_path"]):
        raise NotFound("Not found.")
    return survey


def is_leader(actor: Actor, survey: dict) -> bool:
    return not actor.read_only and archive_rules.may_lead_visits(actor, survey["organisation"])


async def survey_page(*, actor: Actor, survey_id: int) -> dict:
    """The survey, its problems grouped and ranked, the actions, the latest answers."""
    survey = await get_survey(actor=actor, survey_id=survey_id)
    groups = {g["problem"]: g["answers"] for g in await archive_queries.survey_groups(survey_id)}
    return {"survey": survey,
            "ranking": archive_rules.main_problems(groups, survey["answers"]),
            "problems": await archive_queries.survey_problems(survey_id),
            "answers": await archive_queries.survey_answers(survey_id),
            "actions": archive_rules.survey_actions(analysed=bool(survey["analysed_at"]),
                                            answers=survey["answers"],
                                            is_leader=is_leader(actor, survey)),
            "leader": is_leader(actor, survey)}


def _lead(actor: Actor, survey: dict) -> None:
    if not is_leader(actor, survey):
        raise Forbidden(LEAD_ONLY)


@transactional
async def record_answer(*, actor: Actor, survey_id: int, data: AnswerIn) -> int:
    survey = await get_survey(actor=actor, survey_id=survey_id)
    _lead(actor, survey)
    if survey["analysed_at"]:
        raise RuleViolation("The survey is analysed: it takes no more answers.")
    errors: dict[str, str] = {}
    problem = data.problem.strip()
    if problem and problem not in archive_rules.SURVEY_PROBLEM_LABELS:
        errors["problem"] = "Choose a problem from the list, or write it in the customer's words."
    problem = problem or data.other_problem.strip()
    if len(problem) > 40:
        errors["other_problem"] = "At most 40 characters."
    if len(data.comments) > 2000:
        errors["comments"] = "At most 2,000 characters."
    if data.customer_id is not None:
        found = await raw_fetch(
            "SELECT 1 FROM customer c JOIN organisation o ON o.id = c.organisation "
            "WHERE c.id = $1 AND o.path LIKE $2 || '%'", data.customer_id, survey["org_path"])
        if not found:
            errors["customer_id"] = "Choose a customer of this organisation."
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    answer_id = (await raw_fetch(
        "INSERT INTO survey_answer (survey, customer, satisfied, problem, comments, recorded_by, "
        "recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id", survey_id,
        data.customer_id, data.satisfied, problem, data.comments.strip(), actor.user_id,
        now))[0]["id"]
    if data.customer_id is not None:
        await raw_fetch("UPDATE customer SET last_activity_at = greatest(last_activity_at, $2) "
                        "WHERE id = $1", data.customer_id, now)
    await audit.record(actor=actor, object_type="survey", object_id=survey_id, action="answer",
                       organisation_id=survey["organisation"],
                       after={"satisfied": data.satisfied, "problem": problem})
    return answer_id


@transactional
async def analyse_survey(*, actor: Actor, survey_id: int) -> int:
    """R34: group the answers by problem (one statement) and keep the MAIN_PROBLEMS most
    frequent as the survey's main problems, each waiting for its action (owner: the analyst
    until one is named). Returns how many main problems were found."""
    survey = await get_survey(actor=actor, survey_id=survey_id)
    _lead(actor, survey)
    if not survey["answers"]:
        raise RuleViolation("Record at least one answer before analysing.")
    marked = await raw_fetch("UPDATE survey SET analysed_at = $2 WHERE id = $1 AND "
                             "analysed_at IS NULL RETURNING id", survey_id, clock.now())
    if not marked:
        raise Conflict("The survey is already analysed.")
    rows = await raw_fetch(
        "INSERT INTO survey_problem (survey, problem, answers, action_kind, action, owner, "
        "due_on) SELECT $1, g.problem, g.answers, '', '', $2, $3 "
        f"FROM ({archive_queries.PROBLEM_GROUPS}) g ORDER BY g.answers DESC, g.problem LIMIT $4 "
        "RETURNING id", survey_id, actor.user_id,
        clock.china_today() + timedelta(days=ACTION_DAYS), archive_rules.MAIN_PROBLEMS)
    await audit.record(actor=actor, object_type="survey", object_id=survey_id, action="analyse",
                       organisation_id=survey["organisation"],
                       after={"answers": survey["answers"], "main_problems": len(rows)})
    return len(rows)


async def _problem(actor: Actor, survey_id: int, problem_id: int) -> tuple[dict, dict]:
    survey = await get_survey(actor=actor, survey_id=survey_id)
    rows = await raw_fetch("SELECT * FROM survey_problem WHERE id = $1 AND survey = $2 "
                           "FOR UPDATE", problem_id, survey_id)
    if not rows:
        raise NotFound("Not found.")
    return survey, rows[0]


@transactional
async def record_action(*, actor: Actor, survey_id: int, problem_id: int,
                        data: ActionIn) -> None:
    """R34: the corrective or preventive action a main problem leads to, its owner, its due
    date. The owner is told."""
    survey, problem = await _problem(actor, survey_id, problem_id)
    _lead(actor, survey)
    if problem["action"]:
        raise Conflict("This problem already has its action.")
    errors: dict[str, str] = {}
    if data.action_kind not in archive_rules.ACTION_KIND_LABELS:
        errors["action_kind"] = "Choose corrective or preventive."
    if not data.action.strip() or len(data.action) > 2000:
        errors["action"] = "Say what will be done (up to 2,000 characters)."
    if data.due_on < clock.china_today():
        errors["due_on"] = "The due date cannot be in the past."
    owners = {o["id"] for o in await archive_queries.action_owners(survey["organisation"])}
    if data.owner_id not in owners:
        errors["owner_id"] = "Choose a manager of the office or head office customer service."
    if errors:
        raise ValidationFailed(errors)
    await raw_fetch("UPDATE survey_problem SET action_kind = $2, action = $3, owner = $4, "
                    "due_on = $5 WHERE id = $1", problem_id, data.action_kind,
                    data.action.strip(), data.owner_id, data.due_on)
    await audit.record(actor=actor, object_type="survey", object_id=survey_id, action="action",
                       organisation_id=survey["organisation"],
                       after={"problem": problem["problem"], "kind": data.action_kind,
                              "owner": data.owner_id, "due_on": data.due_on})
    await tell("survey_action_owned", actor=actor, user_ids=[data.owner_id],
               dedupe_key=str(problem_id),
               params={"survey_id": survey_id, "problem": problem_text(problem["problem"]),
                       "action": data.action.strip(), "due": data.due_on.isoformat(),
                       "office": names(survey, "org_name")})


def problem_text(problem: str) -> dict[str, str]:
    """A problem as each reader reads it: the listed problem's words, or the customer's."""
    from portal.i18n import translate

    label = archive_rules.SURVEY_PROBLEM_LABELS.get(problem)
    if label is None:
        return {"zh_CN": problem, "en": problem}
    return {"zh_CN": translate(label, "zh_CN"), "en": label}


@transactional
async def mark_action_done(*, actor: Actor, survey_id: int, problem_id: int) -> None:
    survey, problem = await _problem(actor, survey_id, problem_id)
    if actor.read_only or not (is_leader(actor, survey) or problem["owner"] == actor.user_id):
        raise Forbidden("Only the action's owner, the office's manager or head office customer "
                        "service may do this.")
    if not problem["action"]:
        raise RuleViolation("Record the action before marking it done.")
    if problem["done_at"]:
        raise Conflict("This action is already done.")
    await raw_fetch("UPDATE survey_problem SET done_at = $2 WHERE id = $1", problem_id,
                    clock.now())
    await audit.record(actor=actor, object_type="survey", object_id=survey_id, action="done",
                       organisation_id=survey["organisation"],
                       after={"problem": problem["problem"]})
