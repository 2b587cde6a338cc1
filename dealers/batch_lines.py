"""The lines of a return batch: as typed or imported (`LineInput`), checked (R8, and R18d for
CFLs' date codes), previewed with their expected verdict (R17, R18) and added to a draft all or
nothing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from dealers import rules
from dealers.batches import get_batch, require_staff, require_status
from dealers.tables import ReasonCode, ReturnLine
from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import NotFound, ValidationFailed

MAX_LINES = 2000


@dataclass(frozen=True)
class LineInput:
    """One line as typed or imported, already parsed; validated by `check_line`."""

    product_id: int | None
    quantity: int | None
    reason_id: int | None = None
    reason_text: str = ""
    date_code: date | None = None
    purchase_date: date | None = None
    lights: bool = False
    cap_percent: int | None = None
    tube_greyed: bool = False
    bridge_blackened: bool = False
    broken: bool = False

    @property
    def condition(self) -> rules.Condition:
        return rules.Condition(self.lights, self.cap_percent, self.tube_greyed,
                               self.bridge_blackened, self.broken)


async def category_terms(product_ids: list[int]) -> dict[int, tuple[str, rules.CategoryTerms]]:
    """product id -> (model, warranty terms), one query for any number of products."""
    terms, _ = await validation_data(product_ids)
    return terms


async def validation_data(product_ids: list[int]) -> tuple[dict, set[int]]:
    """What line validation needs, in one query: the products' warranty terms and the active
    defect reason ids."""
    rows = await raw_fetch(
        "SELECT 'p' AS what, p.id, p.model, c.warranty_months, c.is_cfl FROM product p "
        "JOIN product_category c ON c.id = p.category WHERE p.active AND p.id = ANY($1::int[]) "
        "UNION ALL SELECT 'r', id, '', 0, false FROM reason_code WHERE kind = 'defect' AND active",
        product_ids)
    terms = {r["id"]: (r["model"], rules.CategoryTerms(r["warranty_months"], r["is_cfl"]))
             for r in rows if r["what"] == "p"}
    return terms, {r["id"] for r in rows if r["what"] == "r"}


def check_line(line: LineInput, terms: rules.CategoryTerms | None,
               reason_ids: set[int]) -> dict[str, str]:
    """Field errors of one line (R8: product, quantity, reason; CFLs also the date code)."""
    errors: dict[str, str] = {}
    if line.product_id is None or terms is None:
        errors["product"] = "Unknown product: choose a model from the catalogue."
    if line.quantity is None or not 1 <= line.quantity <= rules.MAX_LINE_QUANTITY:
        errors["quantity"] = "Quantity must be a whole number from 1 to 100,000."
    if line.reason_id is None or line.reason_id not in reason_ids:
        errors["reason"] = "Choose a defect reason."
    if len(line.reason_text) > 200:
        errors["reason_text"] = "Up to 200 characters."
    if terms is not None and terms.is_cfl and line.date_code is None:
        errors["date_code"] = "CFLs need the printed date code, e.g. 20250315 (R18d)."
    if line.cap_percent is not None and not 0 <= line.cap_percent <= 100:
        errors["cap_percent"] = "Between 0 and 100."
    today = clock.china_today()
    for name, value in (("date_code", line.date_code), ("purchase_date", line.purchase_date)):
        if value is not None and value > today:
            errors[name] = "This date is in the future."
    return errors


async def defect_reason_ids() -> set[int]:
    return {r["id"] for r in await ReasonCode.select(ReasonCode.id).where(
        (ReasonCode.kind == "defect") & (ReasonCode.active == True))}  # noqa: E712


async def preview_line(line: LineInput) -> tuple[dict[str, str], rules.Verdict | None]:
    """The expected verdict shown while the dealer types (R17, R18): errors, or the verdict."""
    terms = (await category_terms([line.product_id] if line.product_id else [])).get(
        line.product_id or 0)
    errors = check_line(line, terms[1] if terms else None, await defect_reason_ids())
    errors.pop("reason", None)  # not needed to show a verdict
    if terms is None or "date_code" in errors:
        return errors, None
    return errors, rules.expected_verdict(terms[1], line.condition, on=clock.china_today(),
                                          date_code=line.date_code,
                                          purchase_date=line.purchase_date)


@transactional
async def add_lines(*, actor: Actor, batch_id: int, lines: list[LineInput]) -> int:
    """Add lines to a draft, all or nothing: every bad line is reported by its position and
    nothing is written until all are clean. Bulk insert: a fixed number of queries at any size."""
    if not lines:
        raise ValidationFailed({"lines": "No lines to add."})
    if len(lines) > MAX_LINES:
        raise ValidationFailed({"lines": "At most 2,000 lines per batch."})
    terms, reasons = await validation_data(sorted({l.product_id for l in lines if l.product_id}))
    problems = {}
    for index, line in enumerate(lines, start=1):
        errors = check_line(line, terms.get(line.product_id or 0, (None, None))[1], reasons)
        if errors:
            problems[index] = errors
    if problems:
        raise LineErrors(problems)
    batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
    require_staff(actor, batch)
    require_status(batch, "draft")
    if batch["line_count"] + len(lines) > MAX_LINES:
        raise ValidationFailed({"lines": "At most 2,000 lines per batch."})
    await _insert_lines(batch, lines, audit.entry(
        actor=actor, object_type="return_batch", object_id=batch_id, action="add_lines",
        organisation_id=batch["organisation"],
        after={"lines": len(lines), "quantity": sum(l.quantity or 0 for l in lines)}))
    return len(lines)


_LINE_FIELDS = ("product", "quantity", "reason", "reason_text", "date_code", "purchase_date",
                "lights", "cap_percent", "tube_greyed", "bridge_blackened", "broken")
_LINE_TYPES = ("int", "int", "int", "text", "date", "date", "bool", "int", "bool", "bool", "bool")


async def _insert_lines(batch: dict, lines: list[LineInput], audit_row: tuple) -> None:
    """All lines and their audit row in one statement (unnest of column arrays): the number of
    round trips does not grow with the number of lines."""
    columns = [[l.product_id for l in lines], [l.quantity for l in lines],
               [l.reason_id for l in lines], [l.reason_text for l in lines],
               [l.date_code for l in lines], [l.purchase_date for l in lines],
               [l.lights for l in lines], [l.cap_percent for l in lines],
               [l.tube_greyed for l in lines], [l.bridge_blackened for l in lines],
               [l.broken for l in lines]]
    arrays = ", ".join(f"${i + 3}::{t}[]" for i, t in enumerate(_LINE_TYPES))
    first = 3 + len(columns)
    audit_params = audit.placeholders_from(first)
    fields = ", ".join(_LINE_FIELDS)
    await raw_fetch(
        f"WITH added AS (INSERT INTO return_line (batch, line_no, {fields}, extra, decision_note) "
        f"SELECT $1, $2 + t.ord, {', '.join('t.' + f for f in _LINE_FIELDS)}, false, '' "
        f"FROM unnest({arrays}) WITH ORDINALITY AS t({fields}, ord) RETURNING 1) "
        f"INSERT INTO audit_entry ({audit.COLUMNS}) VALUES ({audit_params})",
        batch["id"], batch["last_line_no"], *columns, *audit_row)


class LineErrors(ValidationFailed):
    """Errors per line number (row number of an import)."""

    def __init__(self, problems: dict[int, dict[str, str]]):
        super().__init__({f"line {n}": next(iter(e.values())) for n, e in problems.items()})
        self.problems = problems


@transactional
async def remove_line(*, actor: Actor, batch_id: int, line_id: int) -> None:
    batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
    require_staff(actor, batch)
    require_status(batch, "draft")
    removed = await ReturnLine.delete().where(
        (ReturnLine.id == line_id) & (ReturnLine.batch == batch_id)).returning(
        ReturnLine.line_no, ReturnLine.product, ReturnLine.quantity)
    if not removed:
        raise NotFound("Not found.")
    await audit.record(actor=actor, object_type="return_batch", object_id=batch_id,
                       action="remove_line", organisation_id=batch["organisation"],
                       before=removed[0])
