"""Importing lines from XLSX/CSV (up to 2,000): every bad row reported by row number, nothing
imported until the file is clean; query count flat with the number of lines."""
import io

import pytest
from openpyxl import Workbook

from dealers import line_import
from dealers.batch_lines import LineErrors
from dealers.batches import create_draft
from dealers.tables import ReturnLine
from portal import clock, i18n, spreadsheets
from portal.db import count_queries
from portal.errors import NotFound, ValidationFailed
from tests.dealers.factory import IN_WINDOW, network
from tests.helpers import actor_of, client, login

HEADER = "规格型号,数量,返厂原因,说明,日期码,能亮,灯头成新\n"


def csv_bytes(rows: list[str], encoding: str = "utf-8-sig", header: str = HEADER) -> bytes:
    return (header + "\n".join(rows) + "\n").encode(encoding)


async def _draft(net) -> int:
    return await create_draft(actor=net["actors"]["clerk"])


async def test_clean_csv_imports_every_line():
    net = await network()
    with clock.frozen(IN_WINDOW):
        batch_id = await _draft(net)
        added = await line_import.import_lines(
            actor=net["actors"]["clerk"], batch_id=batch_id, filename="lines.csv",
            content=csv_bytes(["CFL-1,12,NO_LIGHT,客户退回,20260301,否,90",
                               "CEILING-1,3,不亮,,,,"]))
    assert added == 2
    rows = await ReturnLine.select().order_by(ReturnLine.line_no)
    assert [(r["quantity"], r["cap_percent"]) for r in rows] == [(12, 90), (3, None)]


async def test_xlsx_and_gb18030_csv():
    net = await network()
    book = Workbook()
    sheet = book.active
    sheet.append(["Model", "Quantity", "Reason", "Date_code"])
    sheet.append(["CFL-1", 5, "Does not light", "20260301"])
    buffer = io.BytesIO()
    book.save(buffer)
    with clock.frozen(IN_WINDOW):
        batch_id = await _draft(net)
        assert await line_import.import_lines(actor=net["actors"]["clerk"], batch_id=batch_id,
                                              filename="lines.xlsx", content=buffer.getvalue()) == 1
        gb = csv_bytes(["CEILING-1,2,破碎,灯罩碎裂,,,"], encoding="gb18030")
        assert await line_import.import_lines(actor=net["actors"]["clerk"], batch_id=batch_id,
                                              filename="lines.csv", content=gb) == 1
    assert await ReturnLine.count() == 2


async def test_every_bad_row_reported_by_row_number_and_nothing_imported():
    net = await network()
    rows = ["CFL-1,12,NO_LIGHT,,20260301,否,90",     # row 2: fine
            "CFL-1,0,NO_LIGHT,,20260301,否,90",      # row 3: quantity 0
            "CFL-1,1000000000000,NO_LIGHT,,20260301,否,90",  # row 4: 10^12
            "NO-SUCH-MODEL,1,NO_LIGHT,,,,",          # row 5: unknown product
            "CFL-1,1,NO_LIGHT,,2026-3-1,否,90",      # row 6: malformed date code
            "CFL-1,1,NO_LIGHT,,,否,90",              # row 7: CFL without date code
            "CFL-1,1,NO_LIGHT,,20260301,也许,90"]     # row 8: not yes/no
    with clock.frozen(IN_WINDOW):
        batch_id = await _draft(net)
        with pytest.raises(LineErrors) as caught:
            await line_import.import_lines(actor=net["actors"]["clerk"], batch_id=batch_id,
                                           filename="lines.csv", content=csv_bytes(rows))
    problems = caught.value.problems
    assert sorted(problems) == [3, 4, 5, 6, 7, 8]
    assert "quantity" in problems[3] and "quantity" in problems[4]
    assert "product" in problems[5] and "date_code" in problems[6] and "date_code" in problems[7]
    assert await ReturnLine.count() == 0


async def test_2001_lines_refused_and_nothing_imported():
    net = await network()
    with clock.frozen(IN_WINDOW):
        batch_id = await _draft(net)
        with pytest.raises(ValidationFailed) as caught:
            await line_import.import_lines(
                actor=net["actors"]["clerk"], batch_id=batch_id, filename="big.csv",
                content=csv_bytes(["CEILING-1,1,NO_LIGHT,,,,"] * 2001))
    # issue 10 §1: the reader refuses it, naming the limit, in the reader's language
    assert caught.value.errors == {"file": i18n.gettext(
        "At most %(limit)s rows under the header: this file has more.", limit="2,000")}
    assert "2,000" in caught.value.errors["file"]
    assert await ReturnLine.count() == 0


async def test_an_upload_over_the_byte_limit_is_refused_on_the_page_and_nothing_written():
    """issue 10 §1: a file over the limit gets its message beside the import (422); a request
    body over the handler's limit gets the 413 page; neither reaches the database nor a 500."""
    net = await network()
    line = "CEILING-1,1,NO_LIGHT,,,,\n"
    big = csv_bytes([line.strip()] * (spreadsheets.MAX_BYTES // len(line) + 1))
    assert spreadsheets.MAX_BYTES < len(big) < spreadsheets.BODY_LIMIT - 4096
    huge = b"x" * (spreadsheets.BODY_LIMIT + 1)
    with clock.frozen(IN_WINDOW):
        batch_id = await _draft(net)
        async with client() as c:
            token = await login(c, "clerk")
            over = await c.post(f"/batches/{batch_id}/import", data={"_csrf": token},
                                files={"file": ("l.csv", big, "text/csv")})
            assert over.status_code == 422
            assert "文件超过 5 MB" in over.text.split('id="import-errors"')[1]  # the clerk's zh
            too_big = await c.post(f"/batches/{batch_id}/import", data={"_csrf": token},
                                   files={"file": ("l.csv", huge, "text/csv")})
            assert too_big.status_code == 413
            assert i18n.translate("The upload is too large.", "zh_CN") in too_big.text
    assert await ReturnLine.count() == 0


async def test_sibling_cannot_import_into_the_batch():
    net = await network()
    with clock.frozen(IN_WINDOW):
        batch_id = await _draft(net)
        with pytest.raises(NotFound):
            await line_import.import_lines(
                actor=await actor_of(net["users"]["other_clerk"]), batch_id=batch_id,
                filename="x.csv", content=csv_bytes(["CEILING-1,1,NO_LIGHT,,,,"]))
    assert await ReturnLine.count() == 0


async def test_query_count_is_the_same_for_10_and_2000_lines():
    net = await network()
    counts = []
    with clock.frozen(IN_WINDOW):
        for n in (10, 2000):
            batch_id = await _draft(net) if not counts else None
            if batch_id is None:
                await ReturnLine.delete(force=True)
                batch_id = (await ReturnLine.raw("SELECT id FROM return_batch LIMIT 1"))[0]["id"]
            content = csv_bytes(["CEILING-1,1,NO_LIGHT,,,,"] * n)
            with count_queries() as counter:
                await line_import.import_lines(actor=net["actors"]["clerk"], batch_id=batch_id,
                                               filename="x.csv", content=content)
            counts.append(counter.count)
    assert counts[0] == counts[1]


async def test_upload_through_the_page_reports_rows():
    net = await network()
    with clock.frozen(IN_WINDOW):
        batch_id = await _draft(net)
        async with client() as c:
            token = await login(c, "clerk")
            bad = await c.post(f"/batches/{batch_id}/import", data={"_csrf": token},
                               files={"file": ("l.csv", csv_bytes(["CFL-1,0,NO_LIGHT,,20260301,否,90"]),
                                               "text/csv")}, headers={"Accept-Language": "en"})
            assert bad.status_code == 422 and 'id="import-errors"' in bad.text
            ok = await c.post(f"/batches/{batch_id}/import", data={"_csrf": token},
                              files={"file": ("l.csv", csv_bytes(["CFL-1,4,NO_LIGHT,,20260301,否,90"]),
                                              "text/csv")})
            assert ok.status_code == 303
            template = await c.get("/batches/import-template.csv")
            assert template.status_code == 200 and "规格型号" in template.text
    assert await ReturnLine.count() == 1
