"""GB/T 27922 self-assessment (issue 15 §7): the indicator list, live indicators computed from a
seeded year equal a hand computation, evidence scoring refuses bad input and changes nothing,
the grade bands at their edges, the XLSX export, and head office only (an office gets 403/404,
its evidence files 404)."""
from __future__ import annotations

import io
from datetime import date, datetime

import openpyxl
import pytest

from portal import attachments, clock
from portal.db import raw_fetch
from portal.errors import Forbidden, NotFound, ValidationFailed
from tests.helpers import actor_of, api_token, client, csrf_from, login
from tests.tower import factory as f
from tests.tower.test_kpis import min_cases, seed_month
from tower import gbt27922, rules
from tower import selfassessment as sa
from tower.inputs import EvidenceScoreIn, SelfAssessmentIn

TODAY = datetime(2026, 12, 5, 10, tzinfo=f.CHINA)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def frozen_clock():
    with clock.frozen(TODAY):
        yield


def test_the_indicator_list_is_the_seeds_table_out_of_100():
    codes = [i.code for i in gbt27922.INDICATORS]
    assert len(codes) == len(set(codes)) == 35  # seed 004 §0.7's clauses with a row of their own
    assert sum(i.max_points for i in gbt27922.INDICATORS) == 100
    live = {i.live for i in gbt27922.INDICATORS if i.source == "live"}
    assert live == set(rules.MEASURES) | {"audits", "return_visits"}
    assert all(i.source in ("live", "evidence") and i.name_zh and i.name_en
               for i in gbt27922.INDICATORS)


@pytest.mark.parametrize("total,grade", [
    (0, "not_passed"), (69, "not_passed"), (70, "passed"), (79, "passed"), (80, "fairly_good"),
    (89, "fairly_good"), (90, "excellent"), (94, "excellent"), (95, "outstanding"),
    (100, "outstanding")])
def test_grade_bands_at_their_edges(total, grade):
    """Seed 004 §10 (R36): below 70 fails, 70 passes, 80 fairly good, 90 excellent; 95 five
    stars (the standard's certification rule)."""
    assert rules.gbt_grade(total) == grade


@pytest.mark.parametrize("most,num,den,points", [
    (6, 90, 100, 5), (5, 88, 100, 4), (3, 1, 2, 2), (4, 1, 3, 1), (3, 5, 2, 3), (3, 0, 0, 0),
    (5, 1, 10, 1), (5, 1, 11, 0)])
def test_share_points_round_half_up_and_never_exceed_the_maximum(most, num, den, points):
    assert rules.share_points(most, num, den) == points


async def _year(w: f.World) -> int:
    return await sa.open_year(actor=w.actors["cs"], data=SelfAssessmentIn(year=2026))


async def _item(assessment_id: int, code: str) -> int:
    return (await raw_fetch("SELECT id FROM self_assessment_item WHERE assessment = $1 "
                            "AND code = $2", assessment_id, code))[0]["id"]


async def _seed_oversight(w: f.World) -> None:
    """An audit report for office A in 2026 (1 of 3 offices); 40 customers on file in 2026, one
    visited (2.5 %: half of R34's 5 %)."""
    hq, a = w.orgs["hq"]["id"], w.orgs["a"]["id"]
    admin = w.users["admin"]["id"]
    await raw_fetch(
        "INSERT INTO office_audit (office, cost_bearer, kind, scope, method, deadline, status, "
        "created_by, created_at, decided_by, decided_at, visited_at, score, reported_by, "
        "reported_at) VALUES ($1, $2, 'periodic', 's', 'm', $3, 'reported', $4, $5, $4, $5, $5, "
        "88, $4, $5)", a, hq, date(2026, 9, 30), admin, f.at(date(2026, 9, 10)))
    have = (await raw_fetch("SELECT count(*)::int AS n FROM customer"))[0]["n"]
    for _ in range(40 - have):
        await f.customer(w, "a_store")
    await raw_fetch("UPDATE customer SET opened_at = $1", f.at(date(2026, 6, 1)))
    plan = (await raw_fetch(
        "INSERT INTO return_visit_plan (organisation, year, customers, planned, led_by, "
        "created_at) VALUES ($1, 2026, 40, 2, $2, now()) RETURNING id", a,
        w.users["manager"]["id"]))[0]["id"]
    customer = (await raw_fetch("SELECT min(id) AS id FROM customer"))[0]["id"]
    await raw_fetch(
        "INSERT INTO return_visit (plan, customer, visited_at, visited_by, satisfied) "
        "VALUES ($1, $2, $3, $4, TRUE)", plan, customer, f.at(date(2026, 7, 1)),
        w.users["manager"]["id"])


async def test_live_indicators_equal_the_hand_computation_of_a_seeded_year():
    w = await f.world()
    await seed_month(w)  # October and November 2026 (tests/tower/test_kpis.py)
    await min_cases(3)
    await _seed_oversight(w)
    year = await _year(w)
    data = await sa.view(actor=w.actors["cs"], assessment_id=year)
    live = {i["code"]: i["live"] for i in data["items"] if i["source"] == "live"}
    counts = {code: (r["num"], r["den"], r["points"]) for code, r in live.items()}
    # network, October + November: on site 10 of 11 (90.91 % of 100 %: 90 of 100 -> 6 x 0.90
    # = 5.4 -> 5); fixed first time 8 of 10 (80 % of above 90 %: 88 -> 5 x 0.88 = 4.4 -> 4);
    # quality complaints 5 per 1,299 units (0.38 %, below 1 %: all 5); returns 16 per 1,299
    # (1.23 %, at most 2 %: all 5); satisfied 9 of 11 (81.82 % of 95 %: 86 -> 4.3 -> 4);
    # resolved in time 2 of 3 (66.67 % of 97 %: 68 -> 3.4 -> 3); offices audited 1 of 3
    # (4 x 1/3 = 1.33 -> 1); customers visited 1 of 40 (2.5 %, half of 5 %: 3 x 0.5 -> 2)
    assert counts == {
        "5.2.4.1": (10, 11, 5), "5.2.4.2": (8, 10, 4), "5.2.5.1": (5, 1299, 5),
        "5.2.5.3": (16, 1299, 5), "5.3.1.4": (9, 11, 4), "5.3.2.2": (2, 3, 3),
        "5.1.5": (1, 3, 1), "5.3.1.5": (1, 40, 2)}
    assert data["total"] == 29 and data["grade"] == "not_passed"
    assert data["unscored"] == 27 and data["max_total"] == 100
    assert live["5.2.4.1"]["link"] == "/service-calls?called_from=2026-01-01&called_to=2026-12-31"
    # every evidence indicator at its maximum: 29 + 62 = 91, excellent
    for item in data["items"]:
        if item["source"] == "evidence":
            await sa.score_evidence(actor=w.actors["admin"], item_id=item["id"],
                                    data=EvidenceScoreIn(points=item["max_points"]))
    after = await sa.view(actor=w.actors["cs"], assessment_id=year)
    assert (after["total"], after["grade"], after["unscored"]) == (91, "excellent", 0)


async def test_opening_a_year_is_validated_and_kept_once():
    w = await f.world()
    with pytest.raises(ValidationFailed) as future:
        await sa.open_year(actor=w.actors["cs"], data=SelfAssessmentIn(year=2027))
    assert "year" in future.value.errors
    with pytest.raises(Forbidden):
        await sa.open_year(actor=w.actors["auditor"], data=SelfAssessmentIn(year=2026))
    await _year(w)
    with pytest.raises(ValidationFailed):
        await _year(w)
    assert (await raw_fetch("SELECT count(*)::int AS n FROM self_assessment_item"))[0]["n"] == 35


async def _scores() -> int:
    return (await raw_fetch("SELECT count(*)::int AS n FROM self_assessment_score"))[0]["n"]


async def test_evidence_scores_refuse_bad_input_with_clear_errors_and_change_nothing():
    w = await f.world()
    year = await _year(w)
    item = await _item(year, "5.1.1")  # at most 3 points
    live_item = await _item(year, "5.2.4.1")
    token = {"Authorization": f"Bearer {await api_token(w.users['cs'])}"}
    async with client() as c:
        await login(c, "cs")
        page = await c.get(f"/tower/self-assessments/items/{item}")
        assert page.status_code == 200 and 'id="score-form"' in page.text
        csrf = csrf_from(page.text)
        url = f"/tower/self-assessments/items/{item}/score"
        for points, note in (("4", ""), ("-1", ""), ("abc", ""), ("", ""), ("2", "bad\x1bnote"),
                             ("2", "x" * 1001)):
            r = await c.post(url, data={"_csrf": csrf, "points": points, "note": note})
            assert r.status_code == 422, (points, note, r.status_code)
            assert 'class="field-error"' in r.text or "field-error" in r.text
        r = await c.post(url, data={"_csrf": csrf, "points": "4"})
        assert "Enter whole points from 0 to the indicator&#39;s maximum." in r.text
        api = f"/api/v1/tower/self-assessments/items/{item}/score"
        for body in ({"points": 4}, {"points": -1}, {"points": "2"}, {"points": 1.5},
                     {"points": 2, "note": "a\x00b"}, {"points": 2 ** 40}):
            r = await c.post(api, json=body, headers=token)
            assert 400 <= r.status_code < 500, (body, r.status_code)
        # a live indicator takes no score, on the page or through the API
        r = await c.post(f"/tower/self-assessments/items/{live_item}/score",
                         data={"_csrf": csrf, "points": "1"})
        assert r.status_code == 422
        r = await c.post(f"/api/v1/tower/self-assessments/items/{live_item}/score",
                         json={"points": 1}, headers=token)
        assert r.status_code == 422
        assert await _scores() == 0
        # in Chinese too
        await c.post("/lang", data={"_csrf": csrf, "locale": "zh_CN", "next": "/"})
        r = await c.post(url, data={"_csrf": csrf, "points": "9"})
        assert r.status_code == 422
        ok = await c.post(url, data={"_csrf": csrf, "points": "2", "note": "制度文件齐全"})
        assert ok.status_code == 303
    assert await _scores() == 1


async def test_export_has_every_indicator_its_source_points_files_total_and_grade():
    w = await f.world()
    year = await _year(w)
    item = await _item(year, "5.1.1")
    await attachments.attach(actor=w.actors["cs"], subject_name=sa.SUBJECT, subject_id=item,
                             filename="organisation-chart.pdf", data=PDF)
    await sa.score_evidence(actor=w.actors["cs"], item_id=item,
                            data=EvidenceScoreIn(points=3, note="chart and job list"))
    async with client() as c:
        await login(c, "cs")
        page = await c.get(f"/tower/self-assessments/{year}")
        assert page.status_code == 200 and "organisation-chart.pdf" in page.text
        r = await c.get(f"/tower/self-assessments/{year}/export")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml")
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = [list(row) for row in sheet.iter_rows(min_row=1, max_row=40, max_col=7,
                                                 values_only=True)]
    assert rows[0] == ["Clause", "Indicator", "Source", "Maximum points", "Points",
                       "Figures or note", "Evidence files"]
    body = [r for r in rows[1:] if r[0]]
    assert [r[0] for r in body] == [i.code for i in gbt27922.INDICATORS]
    first = body[0]
    assert first == ["5.1.1", "Organisation structure", "from evidence", 3, 3,
                     "chart and job list", "organisation-chart.pdf"]
    on_site = next(r for r in body if r[0] == "5.2.4.1")
    assert on_site[2] == "from the records" and on_site[4] == 0
    assert "too few cases (0)" in on_site[5]
    total = next(r for r in rows if r[1] == "Total")
    grade = next(r for r in rows if r[1] == "Grade")
    # nothing in the records, one evidence indicator scored: 3 points, audits and return
    # visits 0 -> not passed
    assert (total[3], total[4]) == (100, 3) and grade[5] == "not passed"


@pytest.mark.parametrize("who", ["manager", "staff", "regional", "c_manager"])
async def test_only_head_office_sees_it_an_office_gets_403_or_404(who):
    w = await f.world()
    year = await _year(w)
    item = await _item(year, "5.1.1")
    file_id = await attachments.attach(actor=w.actors["cs"], subject_name=sa.SUBJECT,
                                       subject_id=item, filename="chart.pdf", data=PDF)
    token = {"Authorization": f"Bearer {await api_token(w.users[who])}"}
    async with client() as c:
        csrf = await login(c, who)
        for url, expected in (("/tower/self-assessments", 403),
                              (f"/tower/self-assessments/{year}", 403),
                              (f"/tower/self-assessments/{year}/export", 403),
                              (f"/tower/self-assessments/items/{item}", 404),
                              (f"/attachments/{file_id}", 404)):
            assert (await c.get(url)).status_code == expected, url
        for url, expected in (("/api/v1/tower/self-assessments", 403),
                              (f"/api/v1/tower/self-assessments/{year}", 403)):
            assert (await c.get(url, headers=token)).status_code == expected, url
        r = await c.post(f"/tower/self-assessments/items/{item}/score",
                         data={"_csrf": csrf, "points": "1"})
        assert r.status_code == 404
        r = await c.post(f"/api/v1/tower/self-assessments/items/{item}/score",
                         json={"points": 1}, headers=token)
        assert r.status_code == 404
        r = await c.post("/tower/self-assessments", data={"_csrf": csrf, "year": "2025"})
        assert r.status_code == 403
        dashboard = await c.get("/tower")
        assert "/tower/self-assessments" not in dashboard.text
    assert await _scores() == 0
    with pytest.raises(NotFound):
        await attachments.open_file(actor=w.actors[who], attachment_id=file_id)


async def test_the_auditor_reads_but_neither_scores_nor_uploads():
    w = await f.world()
    year = await _year(w)
    item = await _item(year, "5.1.1")
    async with client() as c:
        csrf = await login(c, "auditor")
        assert (await c.get(f"/tower/self-assessments/{year}")).status_code == 200
        page = await c.get(f"/tower/self-assessments/items/{item}")
        assert page.status_code == 200 and 'id="score-form"' not in page.text
        r = await c.post(f"/tower/self-assessments/items/{item}/score",
                         data={"_csrf": csrf, "points": "1"})
        assert r.status_code == 403
    with pytest.raises(Forbidden):
        await attachments.attach(actor=w.actors["auditor"], subject_name=sa.SUBJECT,
                                 subject_id=item, filename="x.pdf", data=PDF)


async def test_api_twin_opens_a_year_and_reads_the_same_figures_as_the_page():
    w = await f.world()
    token = {"Authorization": f"Bearer {await api_token(w.users['admin'])}"}
    async with client() as c:
        r = await c.post("/api/v1/tower/self-assessments", json={"year": 2026}, headers=token)
        assert r.status_code == 201
        year = r.json()["id"]
        again = await c.post("/api/v1/tower/self-assessments", json={"year": 2026},
                             headers=token)
        assert again.status_code == 422
        item = await _item(year, "5.2.2")
        r = await c.post(f"/api/v1/tower/self-assessments/items/{item}/score",
                         json={"points": 3, "note": "hotline log"}, headers=token)
        assert r.status_code == 201
        d = (await c.get(f"/api/v1/tower/self-assessments/{year}", headers=token)).json()
    assert d["year"] == 2026 and d["total"] == 3 and d["grade"] == "not_passed"
    row = next(i for i in d["items"] if i["code"] == "5.2.2")
    assert (row["points"], row["note"], row["source"]) == (3, "hotline log", "evidence")
    assert len(d["items"]) == 35


async def test_the_demo_shows_last_years_graded_and_this_years_under_way():
    from portal.cli import _load_demo
    from tests.service.test_archive_demo import _login

    assert await _load_demo() is True
    years = {r["year"]: r["id"] for r in await raw_fetch("SELECT id, year FROM self_assessment")}
    assert set(years) == {2025, 2026}
    cs = await actor_of((await raw_fetch(
        "SELECT id FROM portal_user WHERE username = 'hq.cs'"))[0])
    last = await sa.view(actor=cs, assessment_id=years[2025])
    assert last["unscored"] == 0 and last["total"] > 50
    assert (await sa.view(actor=cs, assessment_id=years[2026]))["unscored"] > 0
    async with client() as c:
        await _login(c, "hq.cs")
        assert "/tower/self-assessments" in (await c.get("/tower")).text
        page = await c.get(f"/tower/self-assessments/{years[2025]}")
        assert page.status_code == 200 and "组织机构图.pdf" in page.text
        assert f"{last['total']} 分" in page.text
