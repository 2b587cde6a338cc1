"""The one bounded reader of uploaded tables and the one writer of download cells (issue 10 §1
and §3). A sheet's declared size is never trusted (a 5 KB XLSX declaring A1:XFD1048576 once grew
the server to 23 GB), a zip bomb is refused before anything is inflated, rows, columns and bytes
are bounded, the parse runs off the event loop; text a spreadsheet would run as a formula is
written as text while numbers stay numbers."""
from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from openpyxl import Workbook, load_workbook

from portal import i18n, spreadsheets
from portal.errors import ValidationFailed
from portal.spreadsheets import append_row, csv_bytes, read_table, safe_cell
from settlements import volume_import

ROOT = Path(__file__).resolve().parents[2]
SHEET = "xl/worksheets/sheet1.xml"
FAR = ('<row r="1048575"><c r="A1048575" t="inlineStr"><is><t>x</t></is></c></row>'
       '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>far</t></is></c>'
       '<c r="XFC1048576"><v>1</v></c></row>')


def xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rewrite(content: bytes, member: str, change) -> bytes:
    """The same workbook with one member's text changed (as a hostile uploader would)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info.filename, change(data.decode()).encode() if info.filename == member
                         else data)
    return out.getvalue()


def hostile(far_cells: bool) -> bytes:
    """A volumes file of one row whose sheet declares A1:XFD1048576, and optionally has cells
    at the sheet's far corner (XFD1048576)."""
    content = rewrite(xlsx([["dealer", "amount"], ["1", "2"]]), SHEET, lambda x: re.sub(
        r'<dimension ref="[^"]*"', '<dimension ref="A1:XFD1048576"', x))
    if far_cells:
        content = rewrite(content, SHEET, lambda x: x.replace("</sheetData>", FAR + "</sheetData>"))
    return content


# Runs in a child process so that its peak memory is its own; the address space is capped so
# that the old reader (which materialised every declared cell) fails fast instead of eating
# the machine. Works against the importer, whichever reader it uses.
PROBE = r"""
import asyncio, inspect, json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))
from settlements import volume_import
content = sys.stdin.buffer.read()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
cpu, wall = time.process_time(), time.perf_counter()
try:
    result = volume_import.parse_volumes("volumes.xlsx", content)
    if inspect.isawaitable(result):
        result = asyncio.run(result)
except BaseException as exc:
    result = repr(exc)[:300]
print(json.dumps({"result": result, "cpu": time.process_time() - cpu,
                  "wall": time.perf_counter() - wall,
                  "grew_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024}))
"""


@pytest.mark.parametrize("far_cells", [False, True], ids=["declared-dimension", "far-cells"])
def test_hostile_dimension_xlsx_is_read_in_bounds_within_a_second_and_100_mb(far_cells):
    content = hostile(far_cells)
    assert len(content) < 6_000  # a few kilobytes
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", PROBE], input=content, capture_output=True,
                          cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    probe = json.loads(done.stdout.decode().strip().splitlines()[-1])
    print(probe)  # figures for the record: cpu and wall seconds, MB grown
    # The one row under the header, nothing of the far corner (past the rows and columns read)
    assert probe["result"] == [[2, "1", 200]], probe
    assert probe["grew_mb"] < 100, probe
    assert probe["cpu"] < 1.0, probe


async def test_a_value_in_a_far_row_within_reach_refuses_the_file_naming_the_limit():
    # Rows past the limit are read while they are empty; a value there is more rows than
    # allowed, not something silently dropped.
    far = rewrite(xlsx([["dealer", "amount"], ["1", "2"]]), SHEET, lambda x: x.replace(
        "</sheetData>", '<row r="9"><c r="B9"><v>5</v></c></row></sheetData>'))
    assert await read_table("v.xlsx", far, max_rows=8) == [["dealer", "amount"], ["1", "2"]] + \
        [[]] * 6 + [[None, 5]]
    with pytest.raises(ValidationFailed) as refused:
        await read_table("v.xlsx", far, max_rows=7)
    assert refused.value.errors["file"] == i18n.gettext(
        "At most %(limit)s rows under the header: this file has more.", limit="7")


def zip_bomb(inflated: int) -> bytes:
    """A real workbook whose sheet inflates to `inflated` bytes of blanks (a few KB zipped)."""
    good = xlsx([["dealer", "amount"], ["1", "2"]])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != SHEET:
                dst.writestr(info.filename, src.read(info.filename))
                continue
            with dst.open(SHEET, "w") as sheet:
                head = src.read(SHEET)
                sheet.write(head[:head.index(b"<sheetData>")])
                chunk = b" " * 2**20
                for _ in range(inflated // len(chunk)):
                    sheet.write(chunk)
                sheet.write(b"<sheetData/></worksheet>")
    return out.getvalue()


async def test_a_zip_bomb_is_refused_before_any_member_is_inflated(monkeypatch):
    bomb = zip_bomb(spreadsheets.MAX_UNZIPPED_BYTES + 2**20)
    tight = zip_bomb(5 * 2**20)  # under the size limit, packed 1000:1
    assert len(bomb) < 200_000 and len(tight) < 20_000

    def inflating(*args, **kwargs):
        raise AssertionError("a member was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", inflating)
    monkeypatch.setattr(openpyxl, "load_workbook", inflating)
    with i18n_locale("en"), pytest.raises(ValidationFailed) as refused:
        await volume_import.parse_volumes("volumes.xlsx", bomb)
    assert refused.value.errors["file"] == (
        "The workbook unpacks to more than 20 MB: save it again without images or unused "
        "sheets.")
    # Under the size limit but packed as no real workbook is (Apache POI's 100:1 rule)
    with pytest.raises(ValidationFailed) as refused:
        await volume_import.parse_volumes("volumes.xlsx", tight)
    assert refused.value.errors["file"].startswith("This workbook is packed unusually tightly")


async def test_the_byte_limit_is_checked_before_parsing(monkeypatch):
    monkeypatch.setattr(spreadsheets, "_read", lambda *a: pytest.fail("parsed"))
    with i18n_locale("en"), pytest.raises(ValidationFailed) as refused:
        await read_table("v.csv", b"a" * (spreadsheets.MAX_BYTES + 1), max_rows=10)
    assert refused.value.errors["file"] == (
        "The file is larger than 5 MB: split it or remove what is not needed.")


async def test_too_many_rows_are_refused_naming_the_limit_and_trailing_blanks_do_not_count():
    rows = "dealer,amount\n" + "1,2\n" * 3
    assert len(await read_table("v.csv", (rows + ",\n" * 50).encode(), max_rows=3)) == 4
    with i18n_locale("en"), pytest.raises(ValidationFailed) as refused:
        await read_table("v.csv", (rows + "1,2\n").encode(), max_rows=3)
    assert refused.value.errors["file"] == "At most 3 rows under the header: this file has more."
    with pytest.raises(ValidationFailed) as in_chinese:  # the reader's language, with the figure
        await read_table("v.csv", ("h\n" + "1\n" * 20_001).encode(), max_rows=20_000)
    assert "20,000" in in_chinese.value.errors["file"]
    assert in_chinese.value.errors["file"] != \
        "At most 20,000 rows under the header: this file has more."


async def test_reading_stops_at_a_run_of_empty_rows():
    content = ("dealer,amount\n1,2\n" + ",\n" * spreadsheets.EMPTY_RUN + "3,4\n").encode()
    assert await read_table("v.csv", content, max_rows=5_000) == [["dealer", "amount"],
                                                                  ["1", "2"]]
    content = ("dealer,amount\n1,2\n" + ",\n" * (spreadsheets.EMPTY_RUN - 1) + "3,4\n").encode()
    assert (await read_table("v.csv", content, max_rows=5_000))[-1] == ["3", "4"]


async def test_columns_past_the_limit_are_not_read_in_csv_or_xlsx():
    wide = ",".join(str(i) for i in range(100_000)) + "\n"
    rows = await read_table("w.csv", wide.encode(), max_rows=10, max_cols=5)
    assert rows == [["0", "1", "2", "3", "4"]]
    sheet = await read_table("w.xlsx", xlsx([list(range(60))]), max_rows=10)
    assert sheet == [list(range(spreadsheets.MAX_COLUMNS))]


async def test_csv_in_utf8_with_or_without_bom_and_gb18030_reads_the_same():
    text = "经销商,金额\n江苏办事处,88.8\n"
    expected = [["经销商", "金额"], ["江苏办事处", "88.8"]]
    for content in (text.encode("utf-8"), ("\ufeff" + text).encode("utf-8"),
                    text.encode("gb18030")):
        assert await read_table("v.csv", content, max_rows=10) == expected


@pytest.mark.parametrize("name, content", [
    ("v.xlsx", b"PK\x03\x04 not really a workbook"),
    ("v.xlsx", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
    ("v.csv", b"dealer,amount\n1,\x002\n"),                 # NUL: a binary file
    ("v.csv", b"\xff\xfe\xff\xfe\xff"),                      # neither UTF-8 nor GB18030
    ("v.csv", b'dealer,amount\n"' + b"x" * 40_000 + b'",1\n'),  # a cell past Excel's limit
])
async def test_what_is_neither_xlsx_nor_csv_is_refused_clearly(name, content):
    with pytest.raises(ValidationFailed) as refused:
        await read_table(name, content, max_rows=10)
    assert refused.value.errors == {"file": "This file cannot be read as XLSX or CSV."}


async def test_the_parse_does_not_block_the_event_loop():
    content = xlsx([["dealer", "amount"]] + [[f"经销商{i}", i] for i in range(20_000)])
    ticks, done = 0, False

    async def ticker():
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    ticks = 0  # count only while the file is being read
    rows = await read_table("v.xlsx", content, max_rows=20_000)
    seen, done = ticks, True
    await task
    assert len(rows) == 20_001
    # A parse on the loop would let the ticker run once at most (when the read first awaits).
    assert seen > 10


# --- writing ---------------------------------------------------------------------------------

HOSTILE_TEXT = ['=HYPERLINK("http://x","click")', "+1+1", "-2+3", "@SUM(A1)", "\t=1+1",
                "\r=1+1"]


def test_safe_cell_neutralises_formula_like_text_and_keeps_numbers():
    for text in HOSTILE_TEXT:
        assert safe_cell(text) == "'" + text
    assert safe_cell("Rebate") == "Rebate" and safe_cell(None) == ""
    assert safe_cell(Decimal("-12.50")) == Decimal("-12.50") and safe_cell(-3) == -3


def test_csv_and_xlsx_writers_keep_text_as_text_and_numbers_as_numbers():
    rows = [[text, Decimal("-12.50"), -3] for text in HOSTILE_TEXT]
    parsed = list(csv.reader(io.StringIO(csv_bytes(rows).decode("utf-8-sig"))))
    assert parsed == [["'" + text, "-12.50", "-3"] for text in HOSTILE_TEXT]
    book = Workbook()
    for row in rows:
        append_row(book.active, row)
    out = io.BytesIO()
    book.save(out)
    sheet = load_workbook(io.BytesIO(out.getvalue())).active
    for text, (name, amount, count) in zip(HOSTILE_TEXT, sheet.iter_rows(), strict=True):
        # XML reads a carriage return back as a line feed; what matters is: text, no formula
        assert name.data_type == "s" and name.value in (text, text.replace("\r", "\n"))
        assert amount.data_type == "n" and amount.value == Decimal("-12.5")
        assert count.data_type == "n" and count.value == -3


class i18n_locale:
    """Read messages in one language for the block."""

    def __init__(self, locale: str):
        self.locale = locale

    def __enter__(self):
        self.token = i18n.current_locale.set(self.locale)

    def __exit__(self, *exc):
        i18n.current_locale.reset(self.token)


def with_shared_strings(content: bytes, entries: str) -> bytes:
    """The workbook with a shared-string table (openpyxl writes none) wired in as Excel does."""
    table = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats'
             f'.org/spreadsheetml/2006/main">{entries}</sst>')
    rel = ('<Relationship Id="rIdSST" Target="sharedStrings.xml" Type="http://schemas.'
           'openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>')
    kind = ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
    content = rewrite(content, "xl/_rels/workbook.xml.rels",
                      lambda x: x.replace("</Relationships>", rel + "</Relationships>"))
    content = rewrite(content, "[Content_Types].xml",
                      lambda x: x.replace("</Types>", kind + "</Types>"))
    out = io.BytesIO(content)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", table)
    return out.getvalue()


async def test_a_shared_string_table_longer_than_the_cells_read_is_refused_before_openpyxl(
        monkeypatch):
    """openpyxl loads every shared string before the first row: 200,000 unused entries in a
    workbook of two rows would hold a worker for seconds. They are counted first, streaming."""
    many = "".join(f"<si><t>s{i}</t></si>" for i in range(200_000))
    content = with_shared_strings(xlsx([["dealer", "amount"], ["one", "2"]]), many)
    assert len(content) < spreadsheets.MAX_BYTES
    monkeypatch.setattr(openpyxl, "load_workbook",
                        lambda *a, **k: pytest.fail("openpyxl was asked to load it"))
    with i18n_locale("en"), pytest.raises(ValidationFailed) as refused:
        await read_table("lines.xlsx", content, max_rows=2_000, max_cols=11)
    assert refused.value.errors["file"] == (
        "At most 2,000 rows under the header: this file has more.")
    # the same workbook with a table of an ordinary size still reads
    monkeypatch.undo()
    fine = with_shared_strings(xlsx([["dealer", "amount"], ["one", "2"]]),
                               "<si><t>unused</t></si>")
    assert await read_table("lines.xlsx", fine, max_rows=2_000, max_cols=11) == [
        ["dealer", "amount"], ["one", "2"]]


async def test_shared_strings_split_across_reads_are_counted_once():
    body = b"".join(b"<si><t>x</t></si>" for _ in range(50_000))  # 850,000 bytes, 4 reads
    assert spreadsheets._count_shared_strings(io.BytesIO(body), 10**9) == 50_000
    prefixed = body.replace(b"<si>", b"<x:si>")
    assert spreadsheets._count_shared_strings(io.BytesIO(prefixed), 10**9) == 50_000
