"""GB/T 27922 self-assessment (issue 15 §7): the indicators scored from the portal's own records
for a year (the year's months up to the present one, China time), network-wide.

- the R35 measures (`on_site`, `first_time_fix`, `complaint_rate`, `return_rate`,
  `satisfaction`, `resolution`): the year's counts from the KPI statement
  (tower/kpi_queries.py) judged against the target in force in its last month, exactly as the
  dashboard judges them; the indicator gets its points x the measure's points out of 100
  (tower.rules.measure_points: all when the target is kept, else in proportion); a measure
  with too few cases scores 0 and says so;
- `audits` (R30): active offices with an audit report filed in the year / active offices;
- `return_visits` (R34: at least 5 % of customers a year): customers visited in the year /
  5 % of the customers on file in it, at most all the points.

A fixed number of statements whatever the network's size: the KPI statement, the target rows,
two policies, and one statement for the audits and the return visits."""
from __future__ import annotations

from datetime import date

from portal import clock
from portal.actor import Actor
from portal.db import raw_fetch
from tower import gbt27922, kpis, rules
from tower.kpi_queries import china_midnight, kpi_counts
from tower.targets import target_in, target_rows

RETURN_VISIT_SHARE_BP = 500  # R34: at least 5 % of customers a year
_COUNTS = """
SELECT (SELECT count(*) FROM organisation WHERE kind = 'office' AND active)::int AS offices,
       (SELECT count(DISTINCT a.office) FROM office_audit a JOIN organisation o ON o.id = a.office
         WHERE o.kind = 'office' AND o.active AND a.reported_at IS NOT NULL
           AND a.reported_at >= $1 AND a.reported_at < $2)::int AS audited,
       (SELECT count(*) FROM customer WHERE opened_at < $2
           AND (erased_at IS NULL OR erased_at >= $1))::int AS customers,
       (SELECT count(DISTINCT customer) FROM return_visit
         WHERE visited_at >= $1 AND visited_at < $2)::int AS visited
"""


def year_months(year: int, today: date) -> list[date]:
    """The year's months up to today's (all twelve for a past year)."""
    return [date(year, m, 1) for m in range(1, 13) if date(year, m, 1) <= today.replace(day=1)]


def _links(actor: Actor, year: int) -> dict[str, str]:
    """Each live indicator's records, where the reader may open that list."""
    first, last = f"{year}-01-01", f"{year}-12-31"
    calls = f"/service-calls?called_from={first}&called_to={last}"
    candidates = {
        "on_site": ("service_calls", calls), "first_time_fix": ("service_calls", calls),
        "satisfaction": ("service_calls", calls),
        "complaint_rate": ("complaints", f"/complaints?kind=quality&recorded_from={first}"
                                         f"&recorded_to={last}"),
        "resolution": ("complaints", "/complaints?status=closed"),
        "return_rate": ("batches", f"/batches?month_from={year}-01&month_to={year}-12"),
        "audits": ("audits", "/audits"), "return_visits": ("return_visits", "/return-visits"),
    }
    return {key: href for key, (nav, href) in candidates.items() if kpis.may_open(actor, nav)}


def _share(key: str, num: int, den: int, target_bp: int, max_points: int) -> dict:
    """A live share that is not an R35 measure (audits, return visits)."""
    value = rules.ratio_bp(num, den) if den > 0 else None
    kept = den > 0 and num * 10000 >= target_bp * den
    status = "few" if den <= 0 else ("green" if kept else "red")
    points = rules.share_points(max_points, num * 10000, den * target_bp) if den > 0 else 0
    return {"key": key, "num": num, "den": den, "value_bp": value, "target_bp": target_bp,
            "direction": "at_least", "status": status, "points": points}


async def live_scores(*, actor: Actor, year: int, max_points: dict[str, int],
                      today: date | None = None) -> dict[str, dict]:
    """Each live indicator's result for `year` by its code ({code: max points} given): the
    counts, the figure (bp, None with too few cases), the target, the status, the points and
    the link to the records."""
    today = today or clock.china_today()
    months = year_months(year, today) or [date(year, 1, 1)]
    k = await kpi_counts(actor=actor, first=months[0], last=months[-1])
    targets = await target_rows(months[0], months[-1])
    th = await kpis.thresholds(months[-1])
    figures = kpis.figures(k, "network", 0, months, targets, th)
    start, end = china_midnight(date(year, 1, 1)), china_midnight(date(year + 1, 1, 1))
    counts = (await raw_fetch(_COUNTS, start, end))[0]
    links = _links(actor, year)
    out: dict[str, dict] = {}
    for code, most in max_points.items():
        key = gbt27922.BY_CODE[code].live if code in gbt27922.BY_CODE else ""
        if key in figures:
            fig = figures[key]
            share = rules.measure_points(fig)
            result = {"key": key, "num": fig.num, "den": fig.den, "value_bp": fig.value_bp,
                      "target_bp": target_in(targets, key, months[-1]),
                      "direction": rules.MEASURES[key][0], "status": fig.status,
                      "points": 0 if share is None else rules.share_points(most, share, 100)}
        elif key == "audits":
            result = _share(key, counts["audited"], counts["offices"], 10000, most)
        elif key == "return_visits":
            result = _share(key, counts["visited"], counts["customers"], RETURN_VISIT_SHARE_BP,
                            most)
        else:
            continue
        out[code] = dict(result, link=links.get(key, ""), months=len(months))
    return out
