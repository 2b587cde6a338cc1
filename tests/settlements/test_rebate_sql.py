"""R26: the rebate the period close computes in SQL equals the pure rule in settlements.rules.

Production computes rebates set-based, in `close_sql.REBATE_SOURCE` (one statement for every
dealer, measured by bench/close_period.py). `settlements.rules.rebate_exact` + `round_half_up`
is the rule written out in Python: the spec, tested at its edges in test_rules.py. Of the two
ways to give the rule one home — move it out of the SQL, or pin the SQL to the spec — this test
does the second: it runs the production statement itself, unchanged, over random tier tables
and volumes (and each tier's edges), and asserts every rebate line equals the Python rule. That
is the lower-risk choice: the close statement that pays dealers is not touched, and any change
to it that disagrees with the rule fails here.
"""
from __future__ import annotations

import json
from datetime import UTC, date, datetime

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from portal.db import raw_fetch
from settlements.close_sql import REBATE_SOURCE
from settlements.rules import Tier, check_tiers, rebate_exact, round_half_up
from tests.helpers import make_org

# Up to ¥1,000,000,000,000 of purchases in a month: far beyond any dealer, well inside bigint
# for volume × rate (the SQL multiplies in bigint before dividing).
MAX_VOLUME = 10**14


@st.composite
def tier_tables(draw) -> list[Tier]:
    """Tier tables finance may set (check_tiers passes): distinct starts, 0-50 %."""
    starts = draw(st.lists(st.integers(0, 10**12), min_size=1, max_size=6, unique=True))
    if draw(st.booleans()):
        starts = [0, *(s for s in starts if s)]  # usually the table starts at ¥0
    tiers = [Tier(from_fen=s, rate_bp=draw(st.integers(0, 5_000))) for s in starts]
    assert not check_tiers(tiers)
    return draw(st.permutations(tiers))  # the stored order is not the tiers' order


@st.composite
def cases(draw) -> tuple[list[Tier], list[int]]:
    tiers = draw(tier_tables())
    edges = [t.from_fen + d for t in tiers for d in (-1, 0, 1) if t.from_fen + d >= 0]
    volumes = draw(st.lists(st.one_of(st.integers(0, MAX_VOLUME), st.integers(0, 10**6),
                                      st.sampled_from(edges)), min_size=1, max_size=24))
    return tiers, volumes + edges[:12]


def _months(n: int) -> list[date]:
    return [date(2000 + i // 12, i % 12 + 1, 1) for i in range(n)]


@settings(max_examples=100, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=cases())
@example(case=([Tier(0, 5_000)], [1, 3, 0]))  # exactly half a fen: rounds up (0.5 -> 1, 1.5 -> 2)
@example(case=([Tier(0, 1), Tier(10, 3)], [5_000, 9, 10, 15_000, 4_999]))
@example(case=([Tier(100, 1_000)], [0, 99, 100, 105, 115]))  # below the first tier: no rebate
@example(case=([Tier(0, 5_000), Tier(1, 0)], [0, 1, MAX_VOLUME]))  # a higher tier may pay less
async def test_r26_sql_rebate_equals_the_python_rule(case):
    tiers, volumes = case
    # a clean slate per example, as between tests (policies are append-only: no DELETE)
    await raw_fetch("TRUNCATE purchase_volume, rebate_policy")
    dealer = await _dealer()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    await raw_fetch(
        "INSERT INTO rebate_policy (effective_from, tiers, reason, created_at) "
        "VALUES ('1999-01-01', $1::jsonb, 'property', $2)",
        _tiers_json(tiers), now)
    await raw_fetch(
        "INSERT INTO purchase_volume (period, dealer, amount_fen, imported_at) "
        "SELECT m, $1, a, $2 FROM unnest($3::date[], $4::bigint[]) AS x(m, a)",
        dealer, now, _months(len(volumes)), volumes)
    rows = await raw_fetch(f"SELECT r.*, v.amount_fen AS volume FROM ({REBATE_SOURCE}) r "
                           "JOIN purchase_volume v ON v.id = r.source_id::int",
                           date(2100, 1, 1))
    assert len(rows) == len(volumes)
    for row in rows:
        expected = round_half_up(rebate_exact(row["volume"], tiers))
        assert row["amount_fen"] == expected, (tiers, row["volume"], row["amount_fen"])


async def _dealer() -> int:
    """One office for every example of the test (the tables are truncated between tests)."""
    rows = await raw_fetch("SELECT id FROM organisation WHERE kind = 'office' LIMIT 1")
    if rows:
        return rows[0]["id"]
    return (await make_org("office"))["id"]


def _tiers_json(tiers: list[Tier]) -> str:
    return json.dumps([{"from_fen": t.from_fen, "rate_bp": t.rate_bp} for t in tiers])
