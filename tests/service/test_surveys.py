"""Satisfaction surveys (R34): one per organisation and year, answers, the analysis by problem
(its counts equal a hand count), the main problems' corrective or preventive actions with owner
and due date, the home flags; siblings never see each other's surveys (R1)."""
from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal import clock
from portal.db import count_queries, raw_fetch
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from service import archive_rules, surveys
from service.archive_queues import queues
from service.inputs import ActionIn, AnswerIn, SurveyIn
from tests.helpers import api_token, client, login
from tests.service.test_archive import world

CHINA = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 10, tzinfo=CHINA)
FREE = ["灯罩发黄", "  灯罩发黄 ", "安装师傅迟到"]  # free text groups trimmed, case-folded


@pytest.fixture(autouse=True)
def frozen_clock():
    with clock.frozen(NOW):
        yield


async def _survey(w: dict, who: str = "manager") -> int:
    return await surveys.open_survey(actor=w["actors"][who], data=SurveyIn(2026, "2026 年满意度调查"))


async def _answers(w: dict, survey_id: int, n: int, seed: int = 7) -> list[AnswerIn]:
    rng = random.Random(seed)
    choices = [*archive_rules.SURVEY_PROBLEM_LABELS, "", "", *FREE]
    given = []
    for _ in range(n):
        problem = rng.choice(choices)
        listed = problem in archive_rules.SURVEY_PROBLEM_LABELS
        answer = AnswerIn(satisfied=rng.random() < 0.7, problem=problem if listed else "",
                          other_problem="" if listed else problem)
        await surveys.record_answer(actor=w["actors"]["manager"], survey_id=survey_id,
                                    data=answer)
        given.append(answer)
    return given


async def test_r34_one_survey_per_organisation_and_year():
    w = await world()
    await _survey(w)
    with pytest.raises(Conflict):
        await _survey(w)
    with pytest.raises(Conflict):  # HQ CS for the same office
        await surveys.open_survey(actor=w["actors"]["cs"],
                                  data=SurveyIn(2026, "x", w["orgs"]["a"]["id"]))
    await _survey(w, "gd.manager")  # a sibling office has its own
    token = await api_token(w["users"]["manager"])
    async with client() as c:
        r = await c.post("/api/v1/surveys", json={"year": 2026, "title": "again"},
                         headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 409


@pytest.mark.parametrize(("n", "seed"), [(1, 1), (12, 2), (60, 3)])
async def test_r34_analysis_counts_equal_a_hand_count(n, seed):
    w = await world()
    survey_id = await _survey(w)
    given = await _answers(w, survey_id, n, seed)
    hand = Counter(archive_rules.problem_key(a.problem or a.other_problem) for a in given)
    hand.pop("", None)
    with count_queries() as counter:
        page = await surveys.survey_page(actor=w["actors"]["manager"], survey_id=survey_id)
    assert counter.count <= 6
    assert {r["problem"]: r["answers"] for r in page["ranking"]} == dict(hand)
    ranked = sorted(hand.items(), key=lambda kv: (-kv[1], kv[0]))
    assert [(r["problem"], r["answers"]) for r in page["ranking"]] == ranked
    for r in page["ranking"]:
        assert r["share"] == round(100 * r["answers"] / n, 1)
    assert page["survey"]["satisfied"] == sum(a.satisfied for a in given)
    found = await surveys.analyse_survey(actor=w["actors"]["manager"], survey_id=survey_id)
    stored = await raw_fetch("SELECT problem, answers, action FROM survey_problem "
                             "ORDER BY answers DESC, problem")
    assert found == len(stored) == min(archive_rules.MAIN_PROBLEMS, len(hand))
    assert [(s["problem"], s["answers"]) for s in stored] == ranked[:archive_rules.MAIN_PROBLEMS]
    assert all(s["action"] == "" for s in stored)


async def test_r34_answers_and_analysis_refusals():
    w = await world()
    survey_id = await _survey(w)
    manager = w["actors"]["manager"]
    with pytest.raises(RuleViolation):  # nothing to analyse
        await surveys.analyse_survey(actor=manager, survey_id=survey_id)
    with pytest.raises(ValidationFailed):  # not on the list
        await surveys.record_answer(actor=manager, survey_id=survey_id,
                                    data=AnswerIn(problem="made-up"))
    with pytest.raises(ValidationFailed):  # a customer of the sibling office
        await surveys.record_answer(actor=manager, survey_id=survey_id,
                                    data=AnswerIn(customer_id=w["other"]))
    await surveys.record_answer(actor=manager, survey_id=survey_id,
                                data=AnswerIn(True, "price", customer_id=w["customer"]))
    with pytest.raises(Forbidden):
        await surveys.record_answer(actor=w["actors"]["auditor"],
                                    survey_id=survey_id, data=AnswerIn())
    with pytest.raises(NotFound):
        await surveys.record_answer(actor=w["actors"]["gd.manager"], survey_id=survey_id,
                                    data=AnswerIn())
    await surveys.analyse_survey(actor=manager, survey_id=survey_id)
    with pytest.raises(Conflict):
        await surveys.analyse_survey(actor=manager, survey_id=survey_id)
    with pytest.raises(RuleViolation):
        await surveys.record_answer(actor=manager, survey_id=survey_id, data=AnswerIn())


async def test_r34_each_main_problem_gets_an_action_with_owner_and_due_date():
    w = await world()
    survey_id = await _survey(w)
    await _answers(w, survey_id, 20)
    await surveys.analyse_survey(actor=w["actors"]["manager"], survey_id=survey_id)
    problems = await raw_fetch("SELECT id FROM survey_problem ORDER BY id")
    manager = w["actors"]["manager"]
    home = {q.key: q for q in await queues(manager, NOW)}
    assert home["survey_no_action"].count == len(problems) == 3
    first = problems[0]["id"]
    good = ActionIn("corrective", "维修点增加备件库存。", w["users"]["manager"]["id"],
                    date(2026, 12, 15))
    for bad in (ActionIn("other", "x", good.owner_id, good.due_on),
                ActionIn("preventive", " ", good.owner_id, good.due_on),
                ActionIn("preventive", "x", w["users"]["clerk"]["id"], good.due_on),
                ActionIn("preventive", "x", w["users"]["gd.manager"]["id"], good.due_on),
                ActionIn("preventive", "x", good.owner_id, date(2026, 11, 19))):
        with pytest.raises(ValidationFailed):
            await surveys.record_action(actor=manager, survey_id=survey_id, problem_id=first,
                                        data=bad)
    await surveys.record_action(actor=manager, survey_id=survey_id, problem_id=first,
                                data=ActionIn("corrective", "维修点增加备件库存。",
                                              w["users"]["cs"]["id"], date(2026, 12, 15)))
    with pytest.raises(Conflict):
        await surveys.record_action(actor=manager, survey_id=survey_id, problem_id=first,
                                    data=good)
    told = await raw_fetch("SELECT \"user\", link FROM notification WHERE kind = "
                           "'survey_action_owned'")
    assert told == [{"user": w["users"]["cs"]["id"], "link": f"/surveys/{survey_id}"}]
    home = {q.key: q for q in await queues(manager, NOW)}
    assert home["survey_no_action"].count == 2 and home["survey_overdue"].count == 0
    later = NOW + timedelta(days=30)  # past the due date
    home = {q.key: q for q in await queues(manager, later)}
    assert home["survey_overdue"].count == 1 and home["survey_overdue"].alarm
    with pytest.raises(Forbidden):  # neither owner nor leader
        await surveys.mark_action_done(actor=w["actors"]["auditor"], survey_id=survey_id,
                                       problem_id=first)
    with pytest.raises(RuleViolation):
        await surveys.mark_action_done(actor=manager, survey_id=survey_id,
                                       problem_id=problems[1]["id"])
    await surveys.mark_action_done(actor=w["actors"]["cs"], survey_id=survey_id,
                                   problem_id=first)  # the owner
    with pytest.raises(Conflict):
        await surveys.mark_action_done(actor=manager, survey_id=survey_id, problem_id=first)
    home = {q.key: q for q in await queues(manager, later)}
    assert home["survey_overdue"].count == 0
    # the sibling office's manager sees none of it on their home
    assert all(q.count == 0 for q in await queues(w["actors"]["gd.manager"], later))


async def test_r34_the_managers_home_flags_an_analysed_survey_without_actions():
    w = await world()
    survey_id = await _survey(w)
    await _answers(w, survey_id, 10)
    await surveys.analyse_survey(actor=w["actors"]["manager"], survey_id=survey_id)
    async with client() as c:
        await login(c, "manager")
        home = await c.get("/")
        assert 'id="queue-survey_no_action"' in home.text
        listed = await c.get("/surveys?waiting=action")
        assert f'id="survey-{survey_id}"' in listed.text
        sibling_survey = await _survey(w, "gd.manager")
        assert f'id="survey-{sibling_survey}"' not in (await c.get("/surveys")).text


@pytest.mark.parametrize(("viewer", "status"), [
    ("manager", 200), ("cs", 200), ("auditor", 200), ("gd.manager", 404), ("store", 403)])
async def test_r1_survey_pages_and_api_by_viewer(viewer, status):
    w = await world()
    survey_id = await _survey(w)
    token = await api_token(w["users"][viewer])
    async with client() as c:
        await login(c, viewer)
        page = await c.get(f"/surveys/{survey_id}")
        api = await c.get(f"/api/v1/surveys/{survey_id}",
                          headers={"Authorization": f"Bearer {token}"})
        listing = await c.get("/api/v1/surveys", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == api.status_code == status
    if status == 200:
        assert [s["id"] for s in listing.json()] == [survey_id]
    elif status == 404:
        assert listing.json() == []


async def test_r34_the_survey_through_its_pages():
    w = await world()
    async with client() as c:
        csrf = await login(c, "manager")
        r = await c.post("/surveys", data={"_csrf": csrf, "year": "2026", "title": "年度调查"})
        assert r.status_code == 303
        survey_id = int(r.headers["location"].rsplit("/", 1)[1])
        for problem in ("price", "price", "parts"):
            r = await c.post(f"/surveys/{survey_id}/answers",
                             data={"_csrf": csrf, "satisfied": "0", "problem": problem})
            assert r.status_code == 303
        r = await c.post(f"/surveys/{survey_id}/analyse", data={"_csrf": csrf})
        assert r.status_code == 303
        page = await c.get(f"/surveys/{survey_id}")
        assert page.text.count('class="problem-row"') == 2
        problem = (await raw_fetch("SELECT id FROM survey_problem WHERE problem = 'price'"))[0]
        r = await c.post(f"/surveys/{survey_id}/problems/{problem['id']}/action",
                         data={"_csrf": csrf, "action_kind": "preventive", "action": "公示价格",
                               "owner_id": str(w["users"]["manager"]["id"]),
                               "due_on": "2026-12-31"})
        assert r.status_code == 303
        r = await c.post(f"/surveys/{survey_id}/problems/{problem['id']}/done",
                         data={"_csrf": csrf})
        assert r.status_code == 303
        again = await c.post(f"/surveys/{survey_id}/problems/{problem['id']}/done",
                             data={"_csrf": csrf})
        assert again.status_code == 409


@pytest.mark.parametrize(("analysed", "answers", "leader", "expected"), [
    (False, 0, True, {"answer": None, "analyse": "Record at least one answer before analysing."}),
    (False, 3, True, {"answer": None, "analyse": None}),
    (True, 3, True, {}),
    (False, 3, False, {}),
])
def test_r34_survey_actions_shown_with_their_reason(analysed, answers, leader, expected):
    assert archive_rules.survey_actions(analysed=analysed, answers=answers, is_leader=leader) == expected
