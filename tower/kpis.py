"""R35 dashboards: the KPI counts (tower/kpi_queries.py) judged against the targets in force
each month (tower/targets.py) and HQ's thresholds (portal/policy.py), per audience:
HQ sees the network, its regions and its offices (worst and best); a regional manager the
offices they cover; an office itself and its repair points; a repair point itself (R1).

A fixed number of statements per page whatever the number of organisations: the KPI
statement, the target rows, two policies, the organisations named on the page."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from portal import clock, policy
from portal.actor import Actor
from portal.db import raw_fetch
from portal.nav import NAV
from portal.network import get_organisation, scope_sql
from tower import rules
from tower.kpi_queries import Kpis, kpi_counts
from tower.targets import target_in, target_rows

TREND_MONTHS = 12
UNIT_KINDS = ("office", "agent", "repair_point")


@dataclass(frozen=True)
class Thresholds:
    min_cases: int
    amber_margin_bp: int


async def thresholds(day: date) -> Thresholds:
    return Thresholds(await policy.value_on("kpi_min_cases_count", day),
                      await policy.value_on("kpi_amber_margin_bp", day))


def figures(k: Kpis, level: str, key: int, months: list[date], targets: list[dict],
            th: Thresholds) -> dict[str, rules.Figure]:
    """Each measure's figure over `months` (one month, or a quarter's three), judged against the
    target in force on the last of them."""
    out = {}
    for measure in rules.MEASURES:
        num, den = k.pair(level, key, measure, months)
        out[measure] = rules.figure(measure, num, den,
                                    target_bp=target_in(targets, measure, months[-1]),
                                    min_cases=th.min_cases, amber_margin_bp=th.amber_margin_bp)
    return out


def trend(k: Kpis, level: str, key: int, targets: list[dict], th: Thresholds) -> dict[str, list]:
    """Each measure's 12 monthly points {month, value (%, None with too few cases), n, target,
    status} — the data of the charts and of the plain tables beside them."""
    series: dict[str, list] = {}
    for measure in rules.MEASURES:
        points = []
        for month in k.months:
            fig = figures(k, level, key, [month], targets, th)[measure]
            points.append({"month": month.strftime("%Y-%m"),
                           "value": None if fig.value_bp is None else fig.value_bp / 100,
                           "n": fig.den, "target": fig.target_bp / 100, "status": fig.status})
        series[measure] = points
    return series


def quarter_months(today: date) -> list[date]:
    start = rules.quarter_start(today)
    return [rules.add_months(start, i) for i in range(3)
            if rules.add_months(start, i) <= today.replace(day=1)]


def overall(figs: dict[str, rules.Figure]) -> int | None:
    """For ranking offices (worst and best): the mean of the measures' points, equal weights."""
    return rules.appraisal_score({m: rules.measure_points(f) for m, f in figs.items()},
                                 {m: 1 for m in figs})


def may_open(actor: Actor, nav_key: str) -> bool:
    return any(link.key == nav_key and link.shown(actor) for link in NAV)


def record_links(actor: Actor, org: dict | None, month: date) -> dict[str, str]:
    """R35: each figure links to the records behind it — the existing list pages, filtered to
    the month (and the repair point or office) where they take that filter; only pages the
    reader may open."""
    first, last = month, rules.add_months(month, 1) - timedelta(days=1)
    days = f"from={first.isoformat()}&to={last.isoformat()}"
    point = f"&point={org['id']}" if org and org["kind"] == "repair_point" else ""
    calls = f"/service-calls?{days.replace('from', 'called_from').replace('to=', 'called_to=')}{point}"
    links: dict[str, str] = {}
    if may_open(actor, "service_calls"):
        links["on_site"] = links["first_time_fix"] = calls
        links["satisfaction"] = calls
    if may_open(actor, "complaints"):
        span = f"recorded_from={first.isoformat()}&recorded_to={last.isoformat()}"
        links["complaint_rate"] = f"/complaints?kind=quality&{span}"
        links["resolution"] = "/complaints?status=closed"
    if may_open(actor, "batches"):
        org_part = f"&org={org['id']}" if org and org["kind"] in ("office", "agent") else ""
        links["return_rate"] = f"/batches?month_from={month:%Y-%m}&month_to={month:%Y-%m}{org_part}"
    return links


async def _named(actor: Actor, within: str, kinds: tuple[str, ...] = UNIT_KINDS) -> list[dict]:
    """The organisations a dashboard lists (active offices, agents, repair points under
    `within` that the reader may see), named in the reader's language. One query."""
    args: list = [(within or "") + "%", list(kinds)]
    scope = scope_sql(actor, "o.path", args)
    return await raw_fetch(
        "SELECT o.id, o.name, o.name_en, o.kind, o.path, o.parent, r.id AS region_id, "
        "r.name_zh AS region_zh, r.name_en AS region_en FROM organisation o "
        "LEFT JOIN organisation top ON top.id = nullif(split_part(o.path, '.', 2), '')::int "
        "LEFT JOIN region r ON r.id = top.region "
        f"WHERE o.path LIKE $1 AND o.kind = ANY($2::text[]) AND o.active AND {scope} "
        "ORDER BY o.path", *args)


async def _regions(ids: list[int]) -> dict[int, dict]:
    rows = await raw_fetch("SELECT id, name_zh, name_en FROM region WHERE id = ANY($1::int[])", ids)
    return {r["id"]: r for r in rows}


def _row(k: Kpis, level: str, key: int, org: dict | None, months: list[date], targets, th,
         actor: Actor) -> dict:
    figs = figures(k, level, key, months, targets, th)
    return {"org": org, "key": key, "level": level, "figures": figs, "overall": overall(figs),
            "links": record_links(actor, org, months[-1]) if level != "region" else {}}


async def dashboard(*, actor: Actor, org_id: int | None = None,
                    today: date | None = None) -> dict:
    """The page's data. Without `org_id`: the reader's own audience view; with it, one
    organisation the reader may see (404 otherwise, R1) and the units under it."""
    today = today or clock.china_today()
    months = rules.months_back(today, TREND_MONTHS)
    quarter = quarter_months(today)
    this_month = [months[-1]]
    focus: dict | None = None
    if org_id is not None:
        focus = await get_organisation(actor=actor, org_id=org_id)  # 404 for a sibling (R1)
        audience, within = "org", focus["path"]
    elif actor.sees_everything:
        audience, within = "hq", ""
    elif actor.organisation_kind == "hq" and actor.covered_paths:
        audience, within = "regional", ""
    else:
        focus = await get_organisation(actor=actor, org_id=actor.organisation_id)
        audience, within = "org", focus["path"]
    k = await kpi_counts(actor=actor, first=months[0], last=months[-1], within=within)
    targets = await target_rows(months[0], months[-1])
    th = await thresholds(today)
    if audience == "org":
        orgs = await _named(actor, within, ("repair_point",))
    else:  # HQ and a regional manager list offices and agents (points have their own pages)
        orgs = await _named(actor, "", ("office", "agent"))
    by_id = {o["id"]: o for o in orgs}
    data: dict = {"audience": audience, "today": today, "months": months, "quarter": quarter,
                  "thresholds": th, "focus": focus, "targets": {
                      m: target_in(targets, m, months[-1]) for m in rules.MEASURES}}
    if audience == "hq":
        data["headline"] = _row(k, "network", 0, None, this_month, targets, th, actor)
        data["headline_quarter"] = _row(k, "network", 0, None, quarter, targets, th, actor)
        data["trend"] = trend(k, "network", 0, targets, th)
        regions = await _regions(k.keys("region"))
        data["regions"] = [dict(_row(k, "region", rid, None, this_month, targets, th, actor),
                                region=regions.get(rid)) for rid in k.keys("region")]
        offices = [_row(k, "office", o["id"], o, this_month, targets, th, actor) for o in orgs]
        ranked = sorted((r for r in offices if r["overall"] is not None),
                        key=lambda r: (r["overall"], r["org"]["id"]))
        data["worst"], data["best"] = ranked[:5], list(reversed(ranked[-5:]))
        data["units"] = offices
        return data
    if audience == "regional":
        units = [_row(k, "office", o["id"], o, this_month, targets, th, actor) for o in orgs]
        data["units"] = units
        data["trend"] = _sum_trend(k, [u["key"] for u in units], targets, th)
        data["headline"] = _sum_row(k, [u["key"] for u in units], this_month, targets, th, actor)
        data["headline_quarter"] = _sum_row(k, [u["key"] for u in units], quarter, targets, th,
                                            actor)
        return data
    assert focus is not None
    # the focus's own figures: everything under its path (the statement's network level, as
    # `within` and the reader's scope limit it) — an office with its stores and points, a point
    data["headline"] = _row(k, "network", 0, focus, this_month, targets, th, actor)
    data["headline_quarter"] = _row(k, "network", 0, focus, quarter, targets, th, actor)
    data["trend"] = trend(k, "network", 0, targets, th)
    data["units"] = [_row(k, "point", o["id"], o, this_month, targets, th, actor)
                     for o in orgs if o["kind"] == "repair_point" and o["id"] != focus["id"]]
    data["by_id"] = by_id
    return data


def _merged(k: Kpis, keys: list[int]) -> Kpis:
    """The offices' counts added up (a regional manager's own total)."""
    merged = Kpis(months=k.months)
    total: dict[str, dict[date, tuple[int, int]]] = {}
    for key in keys:
        for measure, cells in k.counts.get("office", {}).get(key, {}).items():
            for month, (num, den) in cells.items():
                n0, d0 = total.setdefault(measure, {}).get(month, (0, 0))
                total[measure][month] = (n0 + num, d0 + den)
    merged.counts = {"network": {0: total}}
    return merged


def _sum_trend(k: Kpis, keys: list[int], targets, th) -> dict[str, list]:
    return trend(_merged(k, keys), "network", 0, targets, th)


def _sum_row(k: Kpis, keys: list[int], months: list[date], targets, th, actor) -> dict:
    return _row(_merged(k, keys), "network", 0, None, months, targets, th, actor)
