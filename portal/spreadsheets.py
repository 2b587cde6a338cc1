"""Spreadsheets in and out: the one bounded reader for every file a user imports as a table
(return lines, purchase volumes, any later import), and the one place that turns values into
CSV/XLSX cells for downloads.

Reading (issue 10 §1). openpyxl trusts a sheet's declared `<dimension>`: a 5 KB XLSX declaring
`A1:XFD1048576` once grew the server to 23 GB. So, whatever the file says about itself:
- the bytes are counted before anything is parsed (`UPLOADS.max_bytes`);
- an XLSX is a zip: the members' declared sizes are added up before one is inflated
  (`UPLOADS.max_unzipped_bytes`), and a member packed more tightly than 100:1 is refused (Apache
  POI's rule: real workbooks are nowhere near it, a bomb always is). CPython's zipfile never
  inflates a member past its declared size (it stops there and the CRC check fails), so the
  declared sizes do bound the work. openpyxl parses the shared strings whole and at about
  13 µs an entry, so the unzipped limit is also the bound on CPU time;
- at most `max_rows` rows under the header and `max_cols` columns are read: the declared
  dimension is dropped and explicit bounds are passed to `iter_rows`, which streams the sheet.
  Reading stops at the first run of `EMPTY_RUN` empty rows (nothing below it is read), and a
  value in a row past the limit refuses the file rather than being dropped;
- CSV is UTF-8 (with or without BOM) or GB18030, NUL refused, one field at most 32,767
  characters (Excel's own cell limit), with the same row and column bounds;
- the parse runs on a worker thread, so a big file never stalls the event loop, and at most
  `PARALLEL_PARSES` run at once, so a burst of uploads cannot multiply the memory.
Every refusal is `ValidationFailed({"file": message})`.

Writing (issue 10 §3, OWASP "CSV injection"): text that starts with `=`, `+`, `-`, `@`, a tab or
a carriage return would be a live formula in a spreadsheet program. In CSV it gets a leading
apostrophe; in XLSX it is an explicit string cell (with Excel's quote prefix), never a formula.
Numbers (int, Decimal, float) stay numbers, so a negative amount is still a number."""
from __future__ import annotations

import csv
import io
import re
import threading
import zipfile
from collections.abc import Generator, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import anyio.to_thread

from portal import i18n
from portal.errors import ValidationFailed
from portal.settings import UPLOADS

MAX_BYTES = UPLOADS.max_bytes
MAX_UNZIPPED_BYTES = UPLOADS.max_unzipped_bytes
MAX_COLUMNS = UPLOADS.max_columns
VOLUME_ROWS = UPLOADS.volume_rows
MAX_MEMBERS = 1_000            # an XLSX has a dozen parts; thousands is not a workbook
MAX_INFLATE_RATIO = 100        # inflated / compressed, checked on members over 1 MB inflated
PARALLEL_PARSES = 2
_parsing = threading.BoundedSemaphore(PARALLEL_PARSES)  # taken on the worker thread, not the loop
EMPTY_RUN = 1_000              # this many empty rows in a row end the table
MAX_FIELD_CHARS = 32_767       # Excel's limit for one cell
# The request around the file: multipart boundaries and headers, the CSRF token, a month. A
# body over this is refused by Litestar with 413 before the handler runs.
BODY_LIMIT = MAX_BYTES + 64 * 1024

# Process-wide, and this is the process's only CSV reader (the default is 131,072).
csv.field_size_limit(MAX_FIELD_CHARS)


class _Unreadable(Exception):
    pass


class _Unzipped(Exception):
    """The XLSX would inflate past the limit (a zip bomb, or simply far too big)."""


class _TooManyRows(Exception):
    pass


class _Bomb(Exception):
    """A member packed far more tightly than any real workbook."""


def size_text(n: int) -> str:
    """5242880 -> '5 MB': how a limit in bytes is said to people."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= scale and n % scale == 0:
            return f"{n // scale:,} {unit}"
    return f"{n:,} B"


async def read_table(filename: str, content: bytes, *, max_rows: int,
                     max_cols: int = MAX_COLUMNS) -> list[list[Any]]:
    """The rows of an XLSX (first sheet) or CSV file, header first, as lists of cell values.
    Empty rows inside the table are kept (row numbers stay the spreadsheet's); trailing ones are
    dropped, as are trailing empty cells of each row. At most `max_rows` rows under the header."""
    # The limits are part of these messages, so they are translated here with their figures
    # (a translated text passes unchanged through the later translation of field errors).
    if len(content) > MAX_BYTES:
        raise ValidationFailed({"file": i18n.gettext(
            "The file is larger than %(limit)s: split it or remove what is not needed.",
            limit=size_text(MAX_BYTES))})
    try:
        return await anyio.to_thread.run_sync(_read, filename, content, max_rows, max_cols)
    except _Unreadable:
        raise ValidationFailed({"file": "This file cannot be read as XLSX or CSV."}) from None
    except _Unzipped:
        raise ValidationFailed({"file": i18n.gettext(
            "The workbook unpacks to more than %(limit)s: save it again without images or "
            "unused sheets.", limit=size_text(MAX_UNZIPPED_BYTES))}) from None
    except _Bomb:
        raise ValidationFailed({"file": "This workbook is packed unusually tightly, like a zip "
                                        "bomb, and is not opened: save it again from Excel."}
                               ) from None
    except _TooManyRows:
        raise ValidationFailed({"file": i18n.gettext(
            "At most %(limit)s rows under the header: this file has more.",
            limit=f"{max_rows:,}")}) from None


def _read(filename: str, content: bytes, max_rows: int, max_cols: int) -> list[list[Any]]:
    """On a worker thread: never on the event loop."""
    with _parsing:
        return _parse(filename, content, max_rows, max_cols)


def _parse(filename: str, content: bytes, max_rows: int, max_cols: int) -> list[list[Any]]:
    if content[:2] == b"PK" or filename.lower().endswith((".xlsx", ".xlsm")):
        _check_zip(content, (max_rows + 1) * max_cols)
        rows = _xlsx_rows(content, max_rows + 1 + EMPTY_RUN, max_cols)
    else:
        rows = _csv_rows(content)
    try:
        return _collect(rows, max_rows, max_cols)
    finally:
        rows.close()


def _check_zip(content: bytes, max_cells: int) -> None:
    """Refuse before inflating anything: too many members, or too many bytes once inflated;
    and before openpyxl loads it, a shared-string table longer than the cells we would read."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
            _check_members(members)
            shared = [m for m in members if m.filename.lower().endswith("sharedstrings.xml")]
            for member in shared:
                with archive.open(member) as stream:
                    if _count_shared_strings(stream, max_cells) > max_cells:
                        raise _TooManyRows()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise _Unreadable() from None


_SHARED_STRING = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s>/]")


def _count_shared_strings(stream: Any, stop_after: int) -> int:
    """openpyxl reads the whole shared-string table before the first row (about 13 µs and
    150 bytes an entry): a compact 2 MB workbook of 800,000 strings would hold a worker for
    seconds. Count the entries first, streaming, and stop as soon as there are too many."""
    count, tail = 0, b""
    while chunk := stream.read(256 * 1024):
        block = tail + chunk
        count += len(_SHARED_STRING.findall(block))
        if count > stop_after:
            return count
        # keep the last bytes so a tag split across two reads is seen once, in the next block
        cut = max(len(block) - 16, 0)
        lt = block.rfind(b"<", cut)
        tail = block[lt:] if lt >= 0 and not _SHARED_STRING.match(block, lt) else b""
    return count


def _check_members(members: list[zipfile.ZipInfo]) -> None:
    if len(members) > MAX_MEMBERS:
        raise _Unzipped()
    total = 0
    for member in members:
        total += member.file_size
        if total > MAX_UNZIPPED_BYTES:
            raise _Unzipped()
        if member.file_size > 2**20 and \
                member.file_size > MAX_INFLATE_RATIO * max(member.compress_size, 1):
            raise _Bomb()


def _xlsx_rows(content: bytes, last_row: int, max_cols: int) -> Generator[Sequence[Any], None, None]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged file
        raise _Unreadable() from None
    try:
        sheet = book.active
        sheet.reset_dimensions()  # never trust the declared <dimension>
        # Explicit bounds: openpyxl pads every row to max_col and the sheet to max_row.
        yield from sheet.iter_rows(min_row=1, max_row=last_row, min_col=1, max_col=max_cols,
                                   values_only=True)
    except Exception:
        raise _Unreadable() from None
    finally:
        book.close()


def _csv_rows(content: bytes) -> Generator[Sequence[Any], None, None]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _Unreadable()
    if "\x00" in text:  # a binary file, and PostgreSQL refuses NUL in text anyway
        raise _Unreadable()
    try:
        yield from csv.reader(io.StringIO(text))
    except csv.Error:  # a field over the limit, or a malformed quote
        raise _Unreadable() from None


def cell_text(value: Any) -> str:
    """A cell as the importers compare it: stripped text, whole floats without '.0' (Excel
    stores 12 as 12.0), dates as YYYYMMDD (how date codes are written)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (datetime, date)):
        return value.strftime("%Y%m%d")
    return str(value).strip()


def _has_value(cell: Any) -> bool:
    return cell is not None and not (isinstance(cell, str) and not cell.strip())


def _collect(rows: Iterator[Sequence[Any]], max_rows: int, max_cols: int) -> list[list[Any]]:
    """Rows up to the last one with a value; a value past row `max_rows + 1` refuses the file;
    reading stops at the first run of `EMPTY_RUN` empty rows."""
    table: list[list[Any]] = []
    last = 0  # the number of the last row with a value (the header is row 1)
    for number, row in enumerate(rows, start=1):
        cells = list(row[:max_cols])
        while cells and (cells[-1] is None or cells[-1] == ""):
            cells.pop()
        if any(_has_value(c) for c in cells):
            if number > max_rows + 1:
                raise _TooManyRows()
            last = number
        elif number - last >= EMPTY_RUN:
            break
        table.append(cells)
    del table[last:]
    return table


# --- writing ---------------------------------------------------------------------------------

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in XML 1.0


def formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_LEADS)


def safe_cell(value: Any) -> Any:
    """A value as it may go into a CSV cell: numbers and dates unchanged, None as empty, text
    that a spreadsheet would take for a formula behind an apostrophe (OWASP's advice)."""
    if value is None:
        return ""
    if isinstance(value, (bool, int, float, Decimal, date, datetime)):
        return value
    text = str(value)
    return "'" + text if formula_like(text) else text


def _csv_text(value: Any) -> str:
    value = safe_cell(value)
    if isinstance(value, Decimal):
        return format(value, "f")  # never '1E+2'
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def csv_bytes(rows: Iterable[Sequence[Any]], *, bom: bool = True) -> bytes:
    """A UTF-8 CSV of `rows`, every cell through `safe_cell`. With a BOM, Excel opens it as
    UTF-8 rather than the system code page."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_csv_text(v) for v in row])
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


def append_row(sheet: Any, values: Sequence[Any]) -> tuple[Any, ...]:
    """Append `values` to an openpyxl sheet as the next row and return its cells. Text is always
    a string cell: openpyxl would make any text starting with '=' a formula, so formula-like
    text is typed explicitly as a string and quote-prefixed (Excel keeps it text on edit)."""
    clean = [_ILLEGAL_XML.sub("", v) if isinstance(v, str) else v for v in values]
    sheet.append(clean)
    if not clean:
        return ()
    cells = tuple(sheet.cell(row=sheet.max_row, column=i) for i in range(1, len(clean) + 1))
    for cell, value in zip(cells, clean, strict=True):
        if formula_like(value):
            cell.data_type = "s"  # openpyxl bound '=...' as a formula: make it text again
            cell.quotePrefix = True
    return cells
