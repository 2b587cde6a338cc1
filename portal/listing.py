"""Lists people can work with (issue 9 §5): the search fields every list reads from its query
string, and the CSV/XLSX export of exactly what a list's filter shows.

Reading: each parse returns a value or puts a message (a msgid) under the field's name, so a
list answers 422 with the message beside the field instead of silently dropping a bad filter.
Control characters in the query are refused earlier, by the validation edge
(portal/validation.py); integers obey its int4 bounds.

Writing: one sheet, a header row in the reader's language, then one row per record, every cell
through `portal.spreadsheets` (formula-like text is neutralised there). Money is yuan: a number
with two decimals in both formats (`Decimal`, never float); China dates as dates."""
from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
from litestar import Response

from portal import clock, i18n
from portal.clock import CHINA
from portal.spreadsheets import append_row, csv_bytes
from portal.validation import parse_int

EXPORT_LIMIT = 50_000  # rows in one export; above it the reader is asked to narrow the filter
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# msgids (a dict, so scripts/catalog.py collects them)
MESSAGES = {
    "month": "Enter a month as YYYY-MM.",
    "date": "Enter a date as YYYY-MM-DD.",
    "order": "The start is after the end.",
    "long": "At most %(n)s characters.",
    "choice": "Choose one of the listed values.",
    "too_many": "More than %(n)s rows match: narrow the filter (for example to a few months) "
                "and export again.",
}
_MONTH = re.compile(r"\d{4}-\d{2}(-\d{2})?")


def text_param(query: Mapping[str, str], name: str, errors: dict[str, str],
               limit: int = 100) -> str:
    """Stripped search text; longer than `limit` is refused (a message under `name`)."""
    value = (query.get(name) or "").strip()
    if len(value) > limit:
        errors[name] = i18n.gettext(MESSAGES["long"], n=limit)
        return ""
    return value


def int_param(query: Mapping[str, str], name: str, errors: dict[str, str]) -> int | None:
    """An optional id (int4); malformed or out of range is refused."""
    raw = (query.get(name) or "").strip()
    if not raw:
        return None
    value, problem = parse_int(raw, name)
    if problem:
        errors[name] = problem
    return value


def month_param(query: Mapping[str, str], name: str, errors: dict[str, str]) -> date | None:
    """'2026-11' (or '2026-11-05') -> the first of that month."""
    raw = (query.get(name) or "").strip()
    if not raw:
        return None
    try:
        if not _MONTH.fullmatch(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw[:7] + "-01")
    except ValueError:
        errors[name] = MESSAGES["month"]
        return None


def date_param(query: Mapping[str, str], name: str, errors: dict[str, str]) -> date | None:
    raw = (query.get(name) or "").strip()
    if not raw:
        return None
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = MESSAGES["date"]
        return None


def choice_param(query: Mapping[str, str], name: str, choices, errors: dict[str, str]) -> str | None:
    raw = (query.get(name) or "").strip()
    if not raw:
        return None
    if raw not in choices:
        errors[name] = MESSAGES["choice"]
        return None
    return raw


def check_order(errors: dict[str, str], start: date | None, end: date | None, end_name: str) -> None:
    if start and end and start > end:
        errors[end_name] = MESSAGES["order"]


def china_day_range(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """China dates from/to (inclusive) -> instants [from 00:00, the day after `end` 00:00)."""
    return (datetime.combine(start, time(), CHINA) if start else None,
            datetime.combine(end + timedelta(days=1), time(), CHINA) if end else None)


def like_pattern(text: str) -> str:
    """'%' + text + '%' with LIKE's own characters taken literally (ESCAPE '\\')."""
    return "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"


def query_string(values: Mapping[str, Any], **extra: Any) -> str:
    """The non-empty filters as a query string, for the "More" button and the export links."""
    pairs = {k: v for k, v in {**values, **extra}.items() if v not in (None, "")}
    return urlencode(pairs)


# --- export --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    header: str                      # msgid, translated when written
    value: Callable[[dict], Any]     # the cell's value from a row
    kind: str = "text"               # text | money (fen in, yuan out) | date | int


def yuan(amount_fen: int | None) -> Decimal | None:
    """Integer fen -> Decimal yuan with two decimals (a number in both formats)."""
    return None if amount_fen is None else Decimal(int(amount_fen)).scaleb(-2)


def china_date(instant: datetime | None) -> date | None:
    return instant.astimezone(CHINA).date() if instant else None


def _cells(columns: list[Column], row: dict) -> list[Any]:
    cells = []
    for column in columns:
        value = column.value(row)
        cells.append(yuan(value) if column.kind == "money" else value)
    return cells


def _write(kind: str, header: list[str], kinds: list[str], rows: list[list[Any]],
           title: str) -> bytes:
    """On a worker thread: 50,000 rows of XLSX take seconds, not to be spent on the loop."""
    if kind == "csv":
        return csv_bytes([header, *rows])
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    for cell in append_row(sheet, header):
        cell.font = Font(bold=True)
    formats = {"money": "#,##0.00", "date": "yyyy-mm-dd"}
    for values in rows:
        for cell, column_kind in zip(append_row(sheet, values), kinds, strict=False):
            if column_kind in formats:
                cell.number_format = formats[column_kind]
    for i, column_kind in enumerate(kinds, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = 28 if column_kind == "text" else 14
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def export_bytes(kind: str, columns: list[Column], rows: list[dict], title: str) -> bytes:
    """The header in the reader's language, then one row per record (cells computed here, in
    the request's language; the file written on a worker thread)."""
    header = [i18n.gettext(c.header) for c in columns]
    cells = [_cells(columns, r) for r in rows]
    return await anyio.to_thread.run_sync(_write, kind, header, [c.kind for c in columns],
                                          cells, title)


async def export_response(kind: str, columns: list[Column], rows: list[dict],
                          name: str) -> Response:
    """The file as a download named `<name>-<China date>.<kind>`."""
    stamp = clock.china_today().strftime("%Y%m%d")
    content = await export_bytes(kind, columns, rows, name)
    media = XLSX_TYPE if kind == "xlsx" else "text/csv; charset=utf-8"
    return Response(content=content, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}-{stamp}.{kind}"'})
