"""Importing a month's purchase volumes (the base of rebates, R26) from XLSX or CSV: one row
per dealer, the dealer given by its organisation id or its exact name, the amount in yuan.

Every bad row is reported by its spreadsheet row number and nothing is imported unless the
whole file is clean. One query checks every row (dealers, kinds, volumes already imported), one
inserts them all. The file is read by `portal.spreadsheets`, the reader of every import (bounded
bytes, rows and columns, off the event loop)."""
from __future__ import annotations

import re
from datetime import date

import asyncpg

from dealers.batch_lines import LineErrors
from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, RuleViolation, ValidationFailed
from portal.money import parse_yuan
from portal.spreadsheets import VOLUME_ROWS, cell_text, read_table
from settlements.rules import DEALER_KINDS

# header (Chinese or English, lower-cased) -> field
HEADERS = {
    "dealer": "dealer", "dealer id": "dealer", "dealer_id": "dealer", "经销商": "dealer",
    "客户": "dealer", "amount": "amount", "金额": "amount", "进货金额": "amount",
    "采购金额": "amount",
}
MAX_ROWS = VOLUME_ROWS  # PORTAL_VOLUME_IMPORT_MAX_ROWS, 20,000 unless set
_ID = re.compile(r"^[0-9]{1,9}$")

# Each key of the file against organisation ids and exact names (Chinese or English), with
# whether the month's volume of that organisation is already imported.
_LOOKUP = """
WITH keys AS (SELECT DISTINCT k FROM unnest($1::text[]) AS t(k))
SELECT keys.k AS key, o.id, o.kind, o.active, true AS by_id,
       EXISTS (SELECT 1 FROM purchase_volume v WHERE v.period = $2 AND v.dealer = o.id) AS imported
FROM keys JOIN organisation o ON o.id = CASE WHEN keys.k ~ '^[0-9]{1,9}$' THEN keys.k::int END
UNION ALL
SELECT keys.k, o.id, o.kind, o.active, false,
       EXISTS (SELECT 1 FROM purchase_volume v WHERE v.period = $2 AND v.dealer = o.id)
FROM keys JOIN organisation o ON o.name = keys.k OR (o.name_en <> '' AND o.name_en = keys.k)
"""
_INSERT = """
INSERT INTO purchase_volume (period, dealer, amount_fen, imported_by, imported_at)
SELECT $1, t.dealer, t.amount, $4, $5 FROM unnest($2::int[], $3::bigint[]) AS t(dealer, amount)
"""


async def parse_volumes(filename: str, content: bytes) -> list[tuple[int, str, int | None]]:
    """(row number, dealer key, amount in fen or None when unreadable) for each non-blank row."""
    rows = await read_table(filename, content, max_rows=MAX_ROWS)
    if not rows:
        raise ValidationFailed({"file": "The file is empty."})
    columns = {i: HEADERS.get(cell_text(h).lower()) for i, h in enumerate(rows[0])}
    if {"dealer", "amount"} - set(columns.values()):
        raise ValidationFailed({"file": "The header row needs the columns dealer/经销商 and "
                                        "amount/金额."})
    parsed = []
    for number, row in enumerate(rows[1:], start=2):
        cells = {columns[i]: cell_text(c) for i, c in enumerate(row) if columns.get(i)}
        if not any(cells.values()):
            continue
        parsed.append((number, cells.get("dealer", ""), parse_yuan(cells.get("amount", ""))))
    if not parsed:
        raise ValidationFailed({"file": "The file has no rows under its header."})
    return parsed


def _resolve(key: str, matches: list[dict]) -> tuple[dict | None, str | None]:
    """The organisation a key names (an id wins over a name), or the problem with it."""
    if not key:
        return None, "Give the dealer."
    by_id = [m for m in matches if m["by_id"]] if _ID.match(key) else []
    found = by_id or [m for m in matches if not m["by_id"]]
    if not found:
        return None, "Unknown dealer: give its organisation id or its exact name."
    if len(found) > 1:
        return None, "Several organisations have this name: give the id instead."
    org = found[0]
    if org["kind"] not in DEALER_KINDS:
        return None, "This organisation is not a dealer customer."
    if not org["active"]:
        return None, "This dealer is closed."
    return org, None


def check_rows(parsed: list[tuple[int, str, int | None]],
               lookup: list[dict]) -> tuple[list[tuple[int, int]], dict[int, dict[str, str]]]:
    """(dealer id, amount) to insert, and the problems of each bad row by row number."""
    matches: dict[str, list[dict]] = {}
    for m in lookup:
        matches.setdefault(m["key"], []).append(m)
    good: list[tuple[int, int]] = []
    problems: dict[int, dict[str, str]] = {}
    seen: set[int] = set()
    for number, key, amount in parsed:
        errors: dict[str, str] = {}
        org, problem = _resolve(key, matches.get(key, []))
        if problem or org is None:
            errors["dealer"] = problem or "Give the dealer."
        elif org["id"] in seen:
            errors["dealer"] = "This dealer appears more than once in the file."
        elif org["imported"]:
            errors["dealer"] = "This dealer's purchases are already imported for this month."
        if org:
            seen.add(org["id"])
        if amount is None:
            errors["amount"] = "Enter the amount in yuan, e.g. 12345.67."
        if errors or org is None or amount is None:
            problems[number] = errors
        else:
            good.append((org["id"], amount))
    return good, problems


async def import_volumes(*, actor: Actor, period: date, filename: str, content: bytes) -> int:
    """All or nothing: every bad row is reported together (LineErrors, by row number).
    Returns the number of volumes imported."""
    if not actor.has("hq_finance"):
        raise Forbidden("Only HQ finance may do this.")
    period = period.replace(day=1)
    if period > clock.china_today().replace(day=1):
        raise RuleViolation("Purchases are imported for this month or an earlier one.")
    parsed = await parse_volumes(filename, content)
    try:
        return await _store_volumes(actor, period, filename, parsed)
    except asyncpg.exceptions.UniqueViolationError:
        raise Conflict("Some of these purchases were imported meanwhile: check the month "
                       "again.") from None


@transactional
async def _store_volumes(actor: Actor, period: date, filename: str, parsed: list) -> int:
    lookup = await raw_fetch(_LOOKUP, sorted({key for _, key, _ in parsed if key}), period)
    good, problems = check_rows(parsed, lookup)
    if problems:
        raise LineErrors(problems)
    await raw_fetch(_INSERT, period, [d for d, _ in good], [a for _, a in good],
                    actor.user_id, clock.now())
    await audit.record(actor=actor, object_type="purchase_volume",
                       object_id=period.isoformat(), action="imported",
                       after={"rows": len(good), "total_fen": sum(a for _, a in good),
                              "file": filename[:100]})
    return len(good)
