"""GB/T 27922 self-assessment pages, export and API twins (issue 15 §7): the years, a year's
indicators with their points, total and grade, an indicator's evidence and scores. Handlers
parse, call tower/selfassessment.py, render; head office only."""
from __future__ import annotations

import functools

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody

from portal import attachments, clock, listing
from portal.actions import act
from portal.api import api_token_required
from portal.i18n import gettext, local_name
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor, login_required, render
from tower import rules
from tower import selfassessment as sa
from tower.inputs import EvidenceScoreIn, SelfAssessmentIn
from tower.selfassessment_live import live_scores

COLUMN_LABELS = {"code": "Clause", "name": "Indicator", "source": "Source",
                 "max": "Maximum points", "points": "Points", "detail": "Figures or note",
                 "files": "Evidence files"}


def _column(key: str) -> listing.Column:
    return listing.Column(COLUMN_LABELS[key], lambda row: row[key],
                          "int" if key in ("max", "points") else "text")


EXPORT_COLUMNS = [_column(k) for k in COLUMN_LABELS]


def _pct(bp: int) -> str:
    return f"{bp / 100:.2f}".rstrip("0").rstrip(".") + " %"


def live_text(live: dict) -> str:
    """A live indicator's figure with its counts and target, in the reader's language."""
    value = (gettext("too few cases (%(n)s)", n=live["den"]) if live["status"] == "few"
             else f"{_pct(live['value_bp'])} ({live['num']} / {live['den']})")
    target = gettext(rules.DIRECTION_LABELS[live["direction"]], target=_pct(live["target_bp"]))
    return f"{value} · {gettext('Target')}: {target}"


def _context(request: Request, **extra) -> dict:
    return dict(extra, may_score=sa.may_score(current_actor(request)), live_text=live_text,
                source_labels=sa.SOURCE_LABELS, grade_labels=rules.GBT_GRADE_LABELS)


async def list_page(request: Request, *, status_code: int = 200, errors: dict | None = None,
                    form: dict | None = None) -> Response:
    rows = await sa.list_years(actor=current_actor(request))
    return render(request, "tower/selfassessments.html", status_code=status_code, rows=rows,
                  errors=errors or {}, form=form or {"year": clock.china_today().year},
                  **_context(request))


async def item_page(request: Request, item_id: int, *, status_code: int = 200,
                    errors: dict | None = None, form: dict | None = None) -> Response:
    actor = current_actor(request)
    item = await sa.get_item(actor=actor, item_id=item_id)
    live = await live_scores(actor=actor, year=item["year"], max_points={
        item["code"]: item["max_points"]}) if item["source"] == "live" else {}
    return render(request, "tower/selfassessment_item.html", status_code=status_code,
                  item=item, live=live.get(item["code"]), errors=errors or {}, form=form or {},
                  history=await sa.score_history(item_id), subject=sa.SUBJECT,
                  subject_id=item_id, files=await attachments.list_for(sa.SUBJECT, item_id),
                  can_attach=sa.may_score(actor) and item["source"] == "evidence",
                  **_context(request))


def export_rows(data: dict) -> list[dict]:
    """Every indicator, then the total and the grade (the XLSX's rows)."""
    rows = [{"code": i["code"], "name": local_name(i), "source": gettext(
        sa.SOURCE_LABELS[i["source"]]), "max": i["max_points"], "points": i["points"],
        "detail": live_text(i["live"]) if i["live"] else (i["note"] or ""),
        "files": ", ".join(f["filename"] for f in i["files"])} for i in data["items"]]
    blank = dict.fromkeys(COLUMN_LABELS, "")
    rows.append(dict(blank, name=gettext("Total"), max=data["max_total"], points=data["total"]))
    rows.append(dict(blank, name=gettext("Grade"),
                     detail=gettext(rules.GBT_GRADE_LABELS[data["grade"]])))
    return rows


class SelfAssessmentController(Controller):
    path = "/tower/self-assessments"
    guards = [login_required]

    @get("/")
    async def years(self, request: Request) -> Response:
        """The years' self-assessments (head office)."""
        return await list_page(request)

    @post("/")
    async def open_year(self, request: Request) -> Response:
        actor = current_actor(request)
        return await act(request, SelfAssessmentIn,
                         lambda data: sa.open_year(actor=actor, data=data),
                         page=functools.partial(list_page, request),
                         success="Self-assessment opened for the year.",
                         location="/tower/self-assessments")

    @get("/{assessment_id:int}")
    async def detail(self, request: Request, assessment_id: FromPath[int]) -> Response:
        """A year's indicators, their points, the total and its grade."""
        data = await sa.view(actor=current_actor(request), assessment_id=assessment_id)
        return render(request, "tower/selfassessment.html", d=data, **_context(request))

    @get("/{assessment_id:int}/export")
    async def export(self, request: Request, assessment_id: FromPath[int]) -> Response:
        """The year as an XLSX: every indicator, its source, points, figures or note and
        evidence files; the total and the grade."""
        data = await sa.view(actor=current_actor(request), assessment_id=assessment_id)
        name = f"gbt27922-{data['assessment']['year']}"
        return await listing.export_response("xlsx", EXPORT_COLUMNS, export_rows(data), name)

    @get("/items/{item_id:int}")
    async def item(self, request: Request, item_id: FromPath[int]) -> Response:
        """One indicator: its evidence, its scores (newest first) and the scoring form."""
        return await item_page(request, item_id)

    @post("/items/{item_id:int}/score")
    async def score(self, request: Request, item_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        await sa.get_item(actor=actor, item_id=item_id)  # 404 before anything is read
        return await act(request, EvidenceScoreIn,
                         lambda data: sa.score_evidence(actor=actor, item_id=item_id, data=data),
                         page=functools.partial(item_page, request, item_id),
                         success="Score saved; the total is updated.",
                         location=f"/tower/self-assessments/items/{item_id}")


def _item_out(item: dict) -> dict:
    return {"id": item["id"], "code": item["code"], "name_zh": item["name_zh"],
            "name_en": item["name_en"], "source": item["source"],
            "max_points": item["max_points"], "points": item["points"], "note": item["note"],
            "live": item["live"], "files": [f["filename"] for f in item["files"]]}


class SelfAssessmentApi(Controller):
    path = "/api/v1/tower/self-assessments"
    guards = [api_token_required]
    tags = ["control tower"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/")
    async def years(self, request: Request) -> list[dict]:
        """The years' self-assessments (head office)."""
        return [{k: r[k] for k in ("id", "year", "opened_at", "unscored")}
                for r in await sa.list_years(actor=current_actor(request))]

    @post("/", status_code=201)
    async def open_year(self, request: Request, data: JSONBody[SelfAssessmentIn]) -> dict:
        """Open a year's self-assessment (CS or the HQ administrator)."""
        return {"id": await sa.open_year(actor=current_actor(request), data=data)}

    @get("/{assessment_id:int}")
    async def detail(self, request: Request, assessment_id: FromPath[int]) -> dict:
        """A year's indicators with their points, the total and its grade."""
        d = await sa.view(actor=current_actor(request), assessment_id=assessment_id)
        return {"id": d["assessment"]["id"], "year": d["assessment"]["year"],
                "total": d["total"], "max_total": d["max_total"], "grade": d["grade"],
                "unscored": d["unscored"], "items": [_item_out(i) for i in d["items"]]}

    @post("/items/{item_id:int}/score", status_code=201)
    async def score(self, request: Request, item_id: FromPath[int],
                    data: JSONBody[EvidenceScoreIn]) -> dict:
        """Score an evidence indicator, 0 to its points, with a note."""
        await sa.score_evidence(actor=current_actor(request), item_id=item_id, data=data)
        return {"id": item_id, "points": data.points}
