"""A statement for people to keep (issue 5 §6): what each line is in words, and the XLSX and CSV
downloads in the reader's language (zh or en). Amounts stay integer fen until the last step:
the CSV writes yuan with two decimals, the XLSX writes numbers (Decimal, never float). Every cell
goes through `portal.spreadsheets`, which keeps text that looks like a formula (a dealer's own
organisation or repair-point name, an adjustment reason) from ever becoming one."""
from __future__ import annotations

import io
from decimal import Decimal

from portal import i18n
from portal.spreadsheets import append_row, csv_bytes
from settlements.rules import statement_number

# line kind -> its name for people (msgid)
KIND_LABELS = {
    "rebate": "Rebate", "repair_fee": "Repair fee", "credit": "Return credit",
    "freight": "Freight", "charge": "Charge", "adjustment": "Adjustment",
    "carry": "Carried balance",
}
STATUS_LABELS = {"draft": "draft", "second_approval": "awaiting second approval",
                 "approved": "approved", "paid": "paid"}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def yuan(amount_fen: int) -> Decimal:
    """-1234 -> Decimal('-12.34'): exact, from integer fen, always two decimals. A number, so
    the writers keep it a number (a negative amount is not formula-like text)."""
    return Decimal(int(amount_fen)).scaleb(-2)


def kind_label(kind: str) -> str:
    return i18n.gettext(KIND_LABELS.get(kind, kind))


def status_label(status: str) -> str:
    return i18n.gettext(STATUS_LABELS.get(status, status))


def line_source(line: dict) -> str:
    """What the line comes from, in the current language (the drill-down's words)."""
    g = i18n.gettext
    if line["kind"] == "rebate" and line["volume_fen"] is not None:
        return g("Purchases of %(period)s: %(amount)s", period=line["volume_period"].strftime(
            "%Y-%m"), amount=i18n.money(line["volume_fen"]))
    if line["batch_number"]:
        return g("Return batch %(number)s", number=line["batch_number"])
    if line["repair_point"]:
        return i18n.local_name({"name": line["point_name"], "name_en": line["point_name_en"]})
    if line["kind"] in ("adjustment", "charge") and line["adjustment_reason"] is not None:
        if line["corrects_id"]:
            return g("%(reason)s (corrects statement %(number)s)",
                     reason=line["adjustment_reason"],
                     number=statement_number(line["corrects_period"], line["corrects_dealer"]))
        return line["adjustment_reason"]
    if line["carried_id"]:
        return g("Carried from statement %(number)s",
                 number=statement_number(line["carried_period"], line["carried_dealer"]))
    return line["description"]


def dealer_name(statement: dict) -> str:
    return i18n.local_name({"name": statement["dealer_name"],
                            "name_en": statement["dealer_name_en"]})


def _summary(statement: dict) -> list[tuple[str, str]]:
    g = i18n.gettext
    return [(g("Statement"), statement["number"]), (g("Organisation"), dealer_name(statement)),
            (g("Month"), statement["period"].strftime("%Y-%m")),
            (g("Status"), status_label(statement["status"]))]


def _header() -> list[str]:
    g = i18n.gettext
    return [g("Kind"), g("Source"), g("Amount (¥)")]


def filename(statement: dict, extension: str) -> str:
    """The statement's number people read (ST-202611-00042.xlsx): it names month and dealer."""
    return f"{statement['number']}.{extension}"


def in_language(locale: str, build, *args):
    """Run `build` with `locale` as the current language (a download may ask for the other)."""
    token = i18n.current_locale.set(locale if locale in i18n.LOCALES else i18n.DEFAULT_LOCALE)
    try:
        return build(*args)
    finally:
        i18n.current_locale.reset(token)


def to_csv(statement: dict, lines: list[dict]) -> bytes:
    rows: list[list] = [[label, value] for label, value in _summary(statement)]
    rows += [[], _header()]
    rows += [[kind_label(line["kind"]), line_source(line), yuan(line["amount_fen"])]
             for line in lines]
    rows.append([i18n.gettext("Total"), "", yuan(statement["total_fen"])])
    return csv_bytes(rows)  # with a BOM: Excel opens it as UTF-8


def to_xlsx(statement: dict, lines: list[dict]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "statement"
    for label, value in _summary(statement):
        append_row(sheet, [label, value])
    append_row(sheet, [])
    for cell in append_row(sheet, _header()):
        cell.font = Font(bold=True)
    first = sheet.max_row + 1
    for line in lines:
        append_row(sheet, [kind_label(line["kind"]), line_source(line), yuan(line["amount_fen"])])
    append_row(sheet, [i18n.gettext("Total"), "", yuan(statement["total_fen"])])
    for row in sheet.iter_rows(min_row=first, min_col=3, max_col=3):
        row[0].number_format = "#,##0.00"
    sheet[f"A{sheet.max_row}"].font = Font(bold=True)
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 48
    sheet.column_dimensions["C"].width = 16
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
