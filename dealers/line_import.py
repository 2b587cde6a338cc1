"""Importing return lines from an XLSX or CSV file of up to 2,000 lines. Every bad row is
reported by its spreadsheet row number and nothing is imported until the file is clean. The file
is read by `portal.spreadsheets` (bounded bytes, rows and columns, off the event loop)."""
from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from dealers import batch_lines, batches, rules
from dealers.batch_lines import LineErrors, LineInput
from dealers.tables import ReasonCode
from portal.actor import Actor
from portal.db import raw_fetch
from portal.errors import ValidationFailed
from portal.i18n import gettext
from portal.spreadsheets import BODY_LIMIT, cell_text, csv_bytes, read_table
from portal.web import current_actor, done, login_required

# header (Chinese or English, lower-cased) -> field
HEADERS = {
    "规格型号": "model", "model": "model", "数量": "quantity", "quantity": "quantity",
    "返厂原因": "reason", "reason": "reason", "说明": "details", "details": "details",
    "日期码": "date_code", "date_code": "date_code", "购买日期": "purchase_date",
    "purchase_date": "purchase_date", "能亮": "lights", "lights": "lights",
    "灯头成新": "cap_percent", "cap_percent": "cap_percent", "灯管变灰": "tube_greyed",
    "tube_greyed": "tube_greyed", "接桥发黑": "bridge_blackened",
    "bridge_blackened": "bridge_blackened", "破碎": "broken", "broken": "broken",
}
REQUIRED = ("model", "quantity", "reason")
TRUE, FALSE = {"是", "yes", "y", "1", "true", "√"}, {"否", "no", "n", "0", "false", ""}
TEMPLATE_HEADER = ["规格型号", "数量", "返厂原因", "说明", "日期码", "购买日期", "能亮", "灯头成新",
                   "灯管变灰", "接桥发黑", "破碎"]


def _flag(value: Any, errors: dict[str, str], field: str) -> bool:
    text = cell_text(value).lower()
    if text in TRUE:
        return True
    if text not in FALSE:
        errors[field] = "Answer yes or no (是/否)."
    return False


def _int(value: Any, errors: dict[str, str], field: str, message: str) -> int | None:
    text = cell_text(value)
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        errors[field] = message
        return None


def _date(value: Any, errors: dict[str, str], field: str, message: str) -> date | None:
    text = cell_text(value)
    if not text:
        return None
    try:
        return rules.parse_date_code(text)
    except ValueError:
        errors[field] = message
        return None


async def parse_lines_file(filename: str, content: bytes) -> tuple[list[LineInput], dict[int, dict[str, str]]]:
    rows = await read_table(filename, content, max_rows=batch_lines.MAX_LINES)
    if not rows:
        raise ValidationFailed({"file": "The file is empty."})
    columns = {i: HEADERS.get(cell_text(h).lower()) for i, h in enumerate(rows[0])}
    missing = [f for f in REQUIRED if f not in columns.values()]
    if missing:
        raise ValidationFailed({"file": "The header row needs the columns 规格型号/model, 数量/quantity and 返厂原因/reason."})
    data = rows[1:]
    records = [{columns[i]: cell for i, cell in enumerate(row) if columns.get(i)} for row in data]
    models = {cell_text(r.get("model")) for r in records}
    products = {r["model"]: r["id"] for r in await raw_fetch(
        "SELECT id, model FROM product WHERE active AND model = ANY($1::text[])", sorted(models))}
    reasons: dict[str, int] = {}
    for r in await ReasonCode.select().where((ReasonCode.kind == "defect") & (ReasonCode.active == True)):  # noqa: E712
        for key in (r["code"], r["name_zh"], r["name_en"]):
            reasons[key.lower()] = r["id"]
    lines, problems = [], {}
    for number, record in enumerate(records, start=2):
        errors: dict[str, str] = {}
        line = LineInput(
            product_id=products.get(cell_text(record.get("model"))),
            quantity=_int(record.get("quantity"), errors, "quantity",
                          "Quantity must be a whole number from 1 to 100,000."),
            reason_id=reasons.get(cell_text(record.get("reason")).lower()),
            reason_text=cell_text(record.get("details"))[:200],
            date_code=_date(record.get("date_code"), errors, "date_code",
                            "Date codes look like 20250315 (year, month, day)."),
            purchase_date=_date(record.get("purchase_date"), errors, "purchase_date",
                                "Enter a date as YYYY-MM-DD."),
            lights=_flag(record.get("lights"), errors, "lights"),
            cap_percent=_int(record.get("cap_percent"), errors, "cap_percent", "Between 0 and 100."),
            tube_greyed=_flag(record.get("tube_greyed"), errors, "tube_greyed"),
            bridge_blackened=_flag(record.get("bridge_blackened"), errors, "bridge_blackened"),
            broken=_flag(record.get("broken"), errors, "broken"),
        )
        lines.append(line)
        if errors:
            problems[number] = errors
    return lines, problems


async def import_lines(*, actor: Actor, batch_id: int, filename: str, content: bytes) -> int:
    """All or nothing: parse errors and rule errors of every row are reported together."""
    await batches.get_batch(actor=actor, batch_id=batch_id)  # scope first: no probing by upload
    lines, problems = await parse_lines_file(filename, content)
    terms = await batch_lines.category_terms(sorted({l.product_id for l in lines if l.product_id}))
    reason_ids = await batch_lines.defect_reason_ids()
    for number, line in enumerate(lines, start=2):
        errors = batch_lines.check_line(line, terms.get(line.product_id or 0, (None, None))[1],
                                    reason_ids)
        if errors:
            problems[number] = {**errors, **problems.get(number, {})}
    if problems:
        raise LineErrors(problems)
    return await batch_lines.add_lines(actor=actor, batch_id=batch_id, lines=lines)


def import_template() -> bytes:
    return csv_bytes([TEMPLATE_HEADER, ["CFL-13W", "12", "NO_LIGHT", "客户退回", "20250315", "",
                                        "否", "90", "否", "否", "否"]])


class LineImportController(Controller):
    guards = [login_required]

    @get("/batches/import-template.csv")
    async def template(self) -> Response:
        return Response(content=import_template(), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="return-lines.csv"'})

    @post("/batches/{batch_id:int}/import", request_max_body_size=BODY_LIMIT)
    async def upload(self, request: Request, batch_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        try:
            filename, content = await read_upload(request)
            count = await import_lines(actor=actor, batch_id=batch_id, filename=filename,
                                       content=content)
        except ValidationFailed as exc:
            return await import_refused(request, batch_id, exc)
        batch = await batches.get_batch(actor=actor, batch_id=batch_id)
        return done(request, "%(n)s lines imported into batch %(number)s.", f"/batches/{batch_id}",
                    n=count, number=batch["number"])


async def read_upload(request: Request) -> tuple[str, bytes]:
    upload = (await request.form()).get("file")
    if upload is None or not hasattr(upload, "read"):
        raise ValidationFailed({"file": "Choose an XLSX or CSV file."})
    return upload.filename or "", await upload.read()


async def import_refused(request: Request, batch_id: int, exc: ValidationFailed) -> Response:
    """Nothing imported: every row's first problem, by its spreadsheet row, on the batch page."""
    from dealers.batch_routes import batch_page

    if isinstance(exc, LineErrors):
        messages = [gettext("Row %(row)s: %(problem)s", row=row,
                            problem=gettext(next(iter(errors.values()))))
                    for row, errors in sorted(exc.problems.items())]
    else:
        messages = [gettext(m) for m in exc.errors.values()]
    return await batch_page(request, batch_id, status_code=422, errors={"import": messages})
