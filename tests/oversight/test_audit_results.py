"""R30 → R36: the appraisal reads each office's latest audit reported in the period."""
from __future__ import annotations

from datetime import UTC, date, datetime

from oversight.audit_results import audit_scores
from oversight.tables import Audit
from portal import clock
from portal.db import count_queries
from tests.helpers import make_org, make_user


async def _audit(office: dict, hq: dict, user: dict, *, reported_at: datetime | None,
                 score: int | None) -> int:
    row = Audit(office=office["id"], cost_bearer=hq["id"], kind="periodic", announced=True,
                scope="books", method="on site", deadline=date(2026, 12, 31), cost_fen=100,
                status="reported" if reported_at else "approved", created_by=user["id"],
                created_at=clock.now(), decided_by=user["id"], decided_at=clock.now(),
                visited_at=reported_at, reported_at=reported_at, score=score,
                reported_by=user["id"] if reported_at else None)
    await Audit.insert(row)
    return row.id


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def test_r36_latest_report_in_period_counts_in_china_dates():
    hq = await make_org("hq", region=None)
    a, b, c = [await make_org("office", parent=hq) for _ in range(3)]
    cs = await make_user(hq, ["hq_cs"])
    # office a: two reports in November; the later one (60) wins
    await _audit(a, hq, cs, reported_at=utc(2026, 11, 3, 2), score=90)
    await _audit(a, hq, cs, reported_at=utc(2026, 11, 20, 2), score=60)
    # office b: 30 Nov 17:00 UTC is 1 Dec in China: outside November
    await _audit(b, hq, cs, reported_at=utc(2026, 11, 30, 17), score=75)
    # office c: 31 Oct 17:00 UTC is 1 Nov in China: inside; and one not yet reported
    await _audit(c, hq, cs, reported_at=utc(2026, 10, 31, 17), score=82)
    await _audit(c, hq, cs, reported_at=None, score=None)
    scores = await audit_scores(date(2026, 11, 1), date(2026, 11, 30))
    assert scores == {a["id"]: 60, c["id"]: 82}
    assert await audit_scores(date(2026, 12, 1), date(2026, 12, 31)) == {b["id"]: 75}
    assert await audit_scores(date(2027, 1, 1), date(2027, 1, 31)) == {}


async def test_r36_audit_scores_one_query_whatever_the_offices():
    hq = await make_org("hq", region=None)
    cs = await make_user(hq, ["hq_cs"])
    for n in (2, 12):
        while len(await audit_scores(date(2026, 11, 1), date(2026, 11, 30))) < n:
            office = await make_org("office", parent=hq)
            await _audit(office, hq, cs, reported_at=utc(2026, 11, 10), score=70)
        with count_queries() as counter:
            assert len(await audit_scores(date(2026, 11, 1), date(2026, 11, 30))) == n
        assert counter.count == 1


async def test_r30_database_refuses_cost_charged_to_the_audited_office():
    import asyncpg
    import pytest

    hq = await make_org("hq", region=None)
    office = await make_org("office", parent=hq)
    cs = await make_user(hq, ["hq_cs"])
    with pytest.raises(asyncpg.exceptions.CheckViolationError):
        await _audit(office, office, cs, reported_at=None, score=None)
