"""Statement downloads carry no formula a user did not type as a number (issue 10 §3, OWASP CSV
injection): a dealer's or repair point's own name, an adjustment reason, starting with =, +, -
or @, comes back from the CSV behind an apostrophe and from the XLSX as a string cell, while
every amount is still a number (a negative one too)."""
import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from portal import clock, i18n
from portal.db import raw_fetch
from settlements import downloads
from tests.helpers import api_token, client, login
from tests.settlements.statement_factory import DECEMBER, closed_month

NAMES = {"name": "@SUM(A1)", "name_en": '=HYPERLINK("http://x","click")'}
POINT = {"name": "-2+3", "name_en": "+1+1"}


@pytest.fixture(autouse=True)
def december():
    with clock.frozen(DECEMBER):
        yield


def _cells(content: bytes):
    sheet = load_workbook(io.BytesIO(content)).active
    return [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]


async def test_names_chosen_by_dealers_are_text_in_the_statement_csv_and_xlsx():
    net = await closed_month()
    for org, names in ((net["office"]["id"], NAMES), (net["point"]["id"], POINT)):
        await raw_fetch("UPDATE organisation SET name = $2, name_en = $3 WHERE id = $1", org,
                        names["name"], names["name_en"])
    url = f"/statements/{net['office_statement']}/download"
    async with client() as c:
        await login(c, "clerk")
        for lang, org_name, point_name in (("en", NAMES["name_en"], POINT["name_en"]),
                                           ("zh_CN", NAMES["name"], POINT["name"])):
            got = await c.get(f"{url}?format=csv&lang={lang}")
            assert got.status_code == 200
            rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
            texts = [cell for row in rows for cell in row]
            assert "'" + org_name in texts and org_name not in texts
            assert "'" + point_name in texts and point_name not in texts
            assert rows[-1][2] == "1579.57"  # the total: a plain number

            got = await c.get(f"{url}?format=xlsx&lang={lang}")
            cells = _cells(got.content)
            assert not [c.coordinate for c in cells if c.data_type == "f"]  # no formula at all
            by_value = {c.value: c for c in cells}
            for text in (org_name, point_name):
                assert by_value[text].data_type == "s"
            amounts = [c for c in cells if c.column == 3 and c.row > 6]
            assert amounts and all(c.data_type == "n" for c in amounts)


def _line(kind: str, amount_fen: int, reason: str) -> dict:
    line = dict.fromkeys(["volume_fen", "volume_period", "batch_number", "repair_point",
                          "point_name", "point_name_en", "corrects_id", "corrects_period",
                          "corrects_dealer", "carried_id", "carried_period", "carried_dealer"])
    return {**line, "kind": kind, "amount_fen": amount_fen, "adjustment_reason": reason,
            "description": reason}


def test_a_negative_amount_stays_a_number_and_a_formula_like_reason_stays_text():
    statement = {"id": 7, "number": "ST-202611-00042", "dealer_name": "=1+1",
                 "dealer_name_en": "", "status": "draft",
                 "period": date(2026, 11, 1), "total_fen": -1250 + 500}
    lines = [_line("charge", -1250, "-2+3"), _line("adjustment", 500, "@SUM(A1)")]
    rows = list(csv.reader(io.StringIO(downloads.to_csv(statement, lines).decode("utf-8-sig"))))
    assert ["'=1+1"] == [r[1] for r in rows if r and r[1].endswith("=1+1")]
    assert [r[1:] for r in rows[-3:]] == [["'-2+3", "-12.50"], ["'@SUM(A1)", "5.00"],
                                          ["", "-7.50"]]
    cells = _cells(downloads.to_xlsx(statement, lines))
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    amounts = [c.value for c in cells if c.column == 3 and c.row > 6]
    assert amounts == [Decimal("-12.5"), 5, Decimal("-7.5")]
    assert all(isinstance(a, (int, float)) for a in amounts)
    assert {c.value for c in cells if c.data_type == "s"} >= {"=1+1", "-2+3", "@SUM(A1)"}


async def test_downloads_are_named_and_headed_by_the_statement_number_people_read():
    net = await closed_month()
    sid = net["office_statement"]
    number = f"ST-202611-{net['office']['id']:05d}"
    token = await api_token(net["users"]["clerk"])
    async with client() as c:
        await login(c, "clerk")
        for url, headers in ((f"/statements/{sid}/download", {}),
                             (f"/api/v1/statements/{sid}/download",
                              {"Authorization": f"Bearer {token}"})):
            for kind in ("csv", "xlsx"):
                got = await c.get(f"{url}?format={kind}&lang=en", headers=headers)
                assert got.status_code == 200, (url, got.text[:200])
                assert got.headers["content-disposition"] == \
                    f'attachment; filename="{number}.{kind}"'
            sheet = load_workbook(io.BytesIO(got.content)).active
            assert [sheet["A1"].value, sheet["B1"].value] == ["Statement", number]
        got = await c.get(f"/statements/{sid}/download?format=csv&lang=en")
        rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
        assert rows[0] == ["Statement", number]


def test_carried_and_corrected_statements_are_named_by_their_numbers():
    carry = {**_line("carry", -500, ""), "adjustment_reason": None, "carried_id": 3,
             "carried_period": date(2026, 10, 1), "carried_dealer": 42}
    fix = {**_line("adjustment", 700, "late form"), "corrects_id": 3,
           "corrects_period": date(2026, 10, 1), "corrects_dealer": 42}
    token = i18n.current_locale.set("en")
    try:
        assert downloads.line_source(carry) == "Carried from statement ST-202610-00042"
        assert downloads.line_source(fix) == "late form (corrects statement ST-202610-00042)"
    finally:
        i18n.current_locale.reset(token)
