"""R26 purchase volumes imported from XLSX or CSV: dealer by id or exact name, amount in yuan;
every bad row reported by its row number; nothing imported unless the whole file is clean; the
same few queries for any number of rows."""
import csv
import io
import re
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from dealers.batch_lines import LineErrors
from portal import clock, i18n, spreadsheets
from portal.db import count_queries, raw_fetch
from portal.errors import Forbidden, RuleViolation, ValidationFailed
from settlements import service, volume_import
from settlements.tables import PurchaseVolume
from tests.helpers import client, login, make_org
from tests.settlements.close_factory import CHINA, NOVEMBER, settlement_network

TODAY = datetime(2026, 12, 3, 10, tzinfo=CHINA)


def _csv(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def _xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _import(net: dict, filename: str, content: bytes, period: date = NOVEMBER) -> int:
    with clock.frozen(TODAY):
        return await volume_import.import_volumes(actor=net["actors"]["finance"], period=period,
                                                  filename=filename, content=content)


async def _volumes() -> dict[int, int]:
    return {r["dealer"]: r["amount_fen"] for r in await PurchaseVolume.select()}


async def test_r26_a_clean_csv_imports_every_row_by_id_or_name():
    net = await settlement_network()
    content = _csv([["dealer", "amount"], [str(net["office"]["id"]), "12345.67"],
                    ["广东办事处", "¥1,200"], ["", ""]])
    assert await _import(net, "volumes.csv", content) == 2
    assert await _volumes() == {net["office"]["id"]: 1_234_567, net["sibling"]["id"]: 120_000}
    rows = await PurchaseVolume.select().where(PurchaseVolume.period == NOVEMBER)
    assert {r["imported_by"] for r in rows} == {net["actors"]["finance"].user_id}
    audit = await raw_fetch("SELECT action, object_id, to_state FROM audit_entry "
                            "WHERE object_type = 'purchase_volume'")
    assert [(a["action"], a["object_id"]) for a in audit] == [("imported", "2026-11-01")]
    assert '"total_fen": 1354567' in audit[0]["to_state"]


async def test_r26_a_clean_xlsx_with_chinese_headers_and_number_cells_imports():
    net = await settlement_network()
    content = _xlsx([["经销商", "金额"], [net["office"]["id"], 12345.67],
                     ["广东办事处", 500]])
    assert await _import(net, "进货.xlsx", content) == 2
    assert await _volumes() == {net["office"]["id"]: 1_234_567, net["sibling"]["id"]: 50_000}


async def test_r26_a_gb18030_csv_from_chinese_excel_imports():
    net = await settlement_network()
    content = _csv([["经销商", "金额"], ["江苏办事处", "88.8"]], encoding="gb18030")
    assert await _import(net, "volumes.csv", content) == 1
    assert await _volumes() == {net["office"]["id"]: 8880}


async def test_r26_every_bad_row_is_reported_and_nothing_is_imported():
    net = await settlement_network()
    finance = net["actors"]["finance"]
    twin_a = await make_org("store", parent=net["office"], name="同名店")
    await make_org("store", parent=net["office"], name="同名店")
    done = await make_org("store", parent=net["office"], name="已导入店")
    await service.record_volume(actor=finance, period=NOVEMBER, dealer_id=done["id"],
                                amount_fen=100)
    rows = [
        ["dealer", "amount"],
        [str(net["office"]["id"]), "100.00"],           # 2 fine on its own
        ["不存在的经销商", "1"],                           # 3 unknown dealer
        [str(net["point"]["id"]), "1"],                 # 4 a repair point: not a dealer kind
        [str(net["hq"]["id"]), "1"],                    # 5 head office: not a dealer kind
        ["广东办事处", "12.345"],                          # 6 bad amount (3 decimals)
        ["广东办事处", "-5"],                              # 7 bad amount and duplicate dealer
        [str(net["office"]["id"]), "1"],                # 8 duplicate of row 2
        ["已导入店", "1"],                                 # 9 already imported for November
        ["同名店", "1"],                                  # 10 two organisations have this name
        [str(twin_a["id"]), "abc"],                     # 11 bad amount (by id, the name clash
                                                        #    does not matter)
        ["", "1"],                                      # 12 no dealer
    ]
    with pytest.raises(LineErrors) as bad:
        await _import(net, "volumes.csv", _csv(rows))
    problems = bad.value.problems
    assert sorted(problems) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert problems[3]["dealer"].startswith("Unknown dealer")
    assert problems[4]["dealer"] == problems[5]["dealer"] == \
        "This organisation is not a dealer customer."
    assert set(problems[6]) == {"amount"}
    assert set(problems[7]) == {"dealer", "amount"} and "more than once" in problems[7]["dealer"]
    assert "more than once" in problems[8]["dealer"]
    assert "already imported" in problems[9]["dealer"]
    assert "Several organisations" in problems[10]["dealer"]
    assert set(problems[11]) == {"amount"}
    assert problems[12] == {"dealer": "Give the dealer."}
    assert await _volumes() == {done["id"]: 100}  # nothing of the file was written
    assert await raw_fetch("SELECT 1 FROM audit_entry WHERE object_type = 'purchase_volume' "
                           "AND action = 'imported'") == []


async def test_r26_the_file_itself_must_be_readable():
    net = await settlement_network()
    for filename, content, message in [
        ("v.csv", b"", "empty"),
        ("v.csv", _csv([["name", "total"], ["x", "1"]]), "header"),
        ("v.csv", _csv([["dealer", "amount"], ["", ""]]), "no rows"),
        ("v.xlsx", b"PK\x03\x04 not really a workbook", "cannot be read"),
    ]:
        with pytest.raises(ValidationFailed) as bad:
            await _import(net, filename, content)
        assert message in bad.value.errors["file"], filename
    assert await PurchaseVolume.count() == 0


async def test_r26_only_finance_imports_and_not_for_a_future_month():
    net = await settlement_network()
    content = _csv([["dealer", "amount"], [str(net["office"]["id"]), "1"]])
    with pytest.raises(Forbidden):
        await volume_import.import_volumes(actor=net["actors"]["cs"], period=NOVEMBER,
                                           filename="v.csv", content=content)
    with pytest.raises(RuleViolation):
        await _import(net, "v.csv", content, period=date(2027, 1, 1))
    assert await PurchaseVolume.count() == 0


async def test_r26_import_is_flat_the_same_queries_for_2_and_40_rows():
    net = await settlement_network()
    counts = []
    for period, n in ((date(2026, 9, 1), 2), (date(2026, 10, 1), 40)):
        rows = [["dealer", "amount"]]
        for i in range(n):
            rows.append([str((await make_org("office", parent=net["hq"], region="CN-ZJ"))["id"]),
                         f"{i}.5"])
        with count_queries() as counter:
            assert await _import(net, "v.csv", _csv(rows), period=period) == n
        counts.append(counter.count)
    assert counts[0] == counts[1] <= 3  # check, insert, audit
    assert await PurchaseVolume.count() == 42


async def test_r26_one_volume_per_dealer_and_month_also_by_hand():
    net = await settlement_network()
    finance, office = net["actors"]["finance"], net["office"]["id"]
    await service.record_volume(actor=finance, period=NOVEMBER, dealer_id=office, amount_fen=5)
    with pytest.raises(ValidationFailed) as twice:
        await service.record_volume(actor=finance, period=NOVEMBER.replace(day=20),
                                    dealer_id=office, amount_fen=7)
    assert "already imported" in twice.value.errors["dealer"]
    assert await _volumes() == {office: 5}
    audit = await raw_fetch("SELECT action, organisation FROM audit_entry "
                            "WHERE object_type = 'purchase_volume'")
    assert [(a["action"], a["organisation"]) for a in audit] == [("recorded", office)]


async def test_r26_a_file_over_the_row_limit_is_refused_naming_the_limit(monkeypatch):
    """issue 10 §1: the shared reader bounds the rows (PORTAL_VOLUME_IMPORT_MAX_ROWS); the
    message says the limit; nothing is imported."""
    net = await settlement_network()
    monkeypatch.setattr(volume_import, "MAX_ROWS", 3)
    rows = [["dealer", "amount"]] + [[str(net["office"]["id"]), "1"]] * 4
    with pytest.raises(ValidationFailed) as bad:
        await _import(net, "v.csv", _csv(rows))
    assert bad.value.errors["file"] == i18n.gettext(
        "At most %(limit)s rows under the header: this file has more.", limit="3")
    assert "3" in bad.value.errors["file"]
    assert await PurchaseVolume.count() == 0
    assert volume_import.MAX_ROWS == 3 and spreadsheets.VOLUME_ROWS == 20_000  # the default


async def test_r26_an_upload_over_the_byte_limit_gets_its_message_beside_the_file():
    net = await settlement_network()
    line = f"{net['office']['id']},1\n".encode()
    big = b"dealer,amount\n" + line * (spreadsheets.MAX_BYTES // len(line) + 1)
    with clock.frozen(TODAY):
        async with client() as c:
            csrf = await login(c, "finance")
            r = await c.post("/settlements/volumes", data={"_csrf": csrf, "period": "2026-11"},
                             files={"file": ("volumes.csv", big, "text/csv")})
    assert r.status_code == 422
    assert "5 MB" in re.search(r'id="error-file">(.*?)</span>', r.text, re.S).group(1)
    assert await PurchaseVolume.count() == 0
