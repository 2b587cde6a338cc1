"""R7/R16 early warning of batch-quality problems: each month the units HQ received back
(return_line.received_qty, R12) are counted per product x date-code month x region in one
statement, each cell is tested against what the region's own volume of the product and the rest
of the network's date-code mix lead to expect (tower.rules.batch_quality_test: one-sided Poisson
exact test, Bonferroni over the cells tested, HQ's thresholds `alert_alpha_bp` and
`alert_min_count`), and a significant spike raises one alert to CS and HQ tech.

Never twice for the same evidence: the alert's key (product, date-code month, region, window)
is unique, and a cell with an alert still open or being verified raises no new one in later
windows. CS turns an alert into the R16 on-site verification in one step (a quality dispute on
the region's latest received batch holding the product and date code), or dismisses it with a
reason."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from portal import audit, clock, policy
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from portal.notify import notify
from tower import rules
from tower.inputs import AlertDismissIn, AlertVerifyIn
from tower.kpi_queries import china_midnight

DISPUTE_DAYS = 2  # R16: HQ tech verifies within 2 days (dealers.special_cases.DISPUTE_DAYS)
STATUS_LABELS = {"open": "waiting for customer service", "verifying": "being verified on site",
                 "dismissed": "dismissed"}

CELLS_SQL = """
WITH c AS (
  SELECT l.product, date_trunc('month', l.date_code)::date AS dc, top.region,
         sum(coalesce(l.received_qty, 0))::int AS n
    FROM return_line l JOIN return_batch b ON b.id = l.batch
    JOIN organisation o ON o.id = b.organisation
    JOIN organisation top ON top.id = nullif(split_part(o.path, '.', 2), '')::int
   WHERE b.received_at >= $1 AND b.received_at < $2 AND l.product IS NOT NULL
     AND l.date_code IS NOT NULL AND top.region IS NOT NULL
   GROUP BY 1, 2, 3)
SELECT product, dc, region, n,
       sum(n) OVER (PARTITION BY product, region)::int AS region_product,
       sum(n) OVER (PARTITION BY product, dc)::int AS code_total,
       sum(n) OVER (PARTITION BY product)::int AS product_total
  FROM c
"""


async def cells(window_start: date, window_end: date) -> list[rules.Cell]:
    """Every product x date-code month x region with returns received in the window, with the
    counts the test compares. One statement."""
    rows = await raw_fetch(CELLS_SQL, china_midnight(window_start), china_midnight(window_end))
    return [rules.Cell(product=r["product"], date_code_month=r["dc"], region=r["region"],
                       observed=r["n"], region_product=r["region_product"],
                       rest_code=r["code_total"] - r["n"],
                       rest_product=r["product_total"] - r["region_product"]) for r in rows]


def _evidence(v: rules.Verdict) -> dict:
    c = v.cell
    return {"observed": c.observed, "expected": round(v.expected, 2),
            "region_product": c.region_product, "rest_code": c.rest_code,
            "rest_product": c.rest_product, "p_value": float(f"{v.p_value:.3g}"),
            "threshold": float(f"{v.threshold:.3g}"),
            "region_share": round(c.observed / c.region_product, 4) if c.region_product else None,
            "rest_share": round(c.rest_code / c.rest_product, 4) if c.rest_product else None}


@transactional
async def watch_batch_quality(now: datetime, *, window_start: date | None = None) -> list[int]:
    """The job (portal.app.run_jobs_once): test the last complete China month (or the month
    from `window_start`) and raise the alerts it finds; returns the new alerts' ids. A fixed
    number of statements, plus one notice per new alert."""
    start = window_start or rules.add_months(clock.china_today(now).replace(day=1), -1)
    end = rules.add_months(start, 1)
    day = clock.china_today(now)
    verdicts = rules.batch_quality_test(
        await cells(start, end), alpha_bp=await policy.value_on("alert_alpha_bp", day),
        min_count=await policy.value_on("alert_min_count", day))
    hits = [v for v in verdicts if v.alert]
    if not hits:
        return []
    rows = await raw_fetch(
        "INSERT INTO quality_alert (product, date_code_month, region, window_start, window_end, "
        "observed, expected_milli, evidence, status, raised_at) "
        "SELECT x.product, x.dc, x.region, $6, $7, x.observed, x.expected, x.evidence::jsonb, "
        "'open', $8 FROM unnest($1::int[], $2::date[], $3::int[], $4::int[], $5::bigint[], "
        "$9::text[]) AS x(product, dc, region, observed, expected, evidence) "
        "WHERE NOT EXISTS (SELECT 1 FROM quality_alert q WHERE q.product = x.product "
        "AND q.date_code_month = x.dc AND q.region = x.region AND q.status <> 'dismissed') "
        "ON CONFLICT (product, date_code_month, region, window_start, window_end) DO NOTHING "
        "RETURNING id",
        [v.cell.product for v in hits], [v.cell.date_code_month for v in hits],
        [v.cell.region for v in hits], [v.cell.observed for v in hits],
        [round(v.expected * 1000) for v in hits], start, end, clock.now(),
        [json.dumps(_evidence(v)) for v in hits])
    ids = [r["id"] for r in rows]
    if ids:
        await _tell_new(ids)
    return ids


# The job's last complete month does not change after it closes, save a late recount: testing
# it every ten minutes would re-aggregate a month of returns for nothing, so the periodic job
# tests it once per China day per process (a repeat run is harmless: alerts are keyed).
_watched_on: set[tuple[date, date]] = set()


async def watch_daily(now: datetime) -> list[int]:
    """The periodic job's entry: `watch_batch_quality` at most once a China day."""
    key = (rules.add_months(clock.china_today(now).replace(day=1), -1), clock.china_today(now))
    if key in _watched_on:
        return []
    ids = await watch_batch_quality(now)
    _watched_on.add(key)
    return ids


ALERT_SUBJECT = "Possible batch quality problem: %(model)s, date code %(code)s, %(region)s"
ALERT_BODY = ("%(region)s returned %(observed)s units of %(model)s with date code %(code)s in "
              "%(window)s, where about %(expected)s were expected. Turn it into an on-site "
              "verification or dismiss it with a reason.")


async def _tell_new(ids: list[int]) -> None:
    """R16: CS and HQ tech hear of each new alert, each in their language."""
    alerts = await raw_fetch(_ALERT_SELECT + " WHERE a.id = ANY($1::int[])", ids)
    users = await raw_fetch(
        "SELECT u.id, u.locale FROM portal_user u JOIN organisation o ON o.id = u.organisation "
        "WHERE u.active AND o.kind = 'hq' AND u.roles && ARRAY['hq_cs', 'hq_tech']::varchar[]")
    for alert in alerts:
        for locale in ("zh_CN", "en"):
            who = [u["id"] for u in users if (u["locale"] == "en") == (locale == "en")]
            await notify(user_ids=who, kind="quality_alert", dedupe_key=str(alert["id"]),
                         subject=ALERT_SUBJECT, body=ALERT_BODY,
                         link=f"/tower/alerts/{alert['id']}", params=params(alert, locale))


def params(alert: dict, locale: str) -> dict:
    return {"model": alert["model"], "code": alert["date_code_month"].strftime("%Y-%m"),
            "region": alert["region_en"] if locale == "en" else alert["region_zh"],
            "observed": alert["observed"], "expected": f"{alert['expected_milli'] / 1000:.1f}",
            "window": alert["window_start"].strftime("%Y-%m")}


_ALERT_SELECT = (
    "SELECT a.id, a.product, p.model, p.name_zh AS product_zh, p.name_en AS product_en, "
    "a.date_code_month, a.region, r.name_zh AS region_zh, r.name_en AS region_en, "
    "a.window_start, a.window_end, a.observed, a.expected_milli, a.evidence, a.status, "
    "a.raised_at, a.decided_at, a.reason, a.dispute, u.display_name AS decided_by_name "
    "FROM quality_alert a JOIN product p ON p.id = a.product JOIN region r ON r.id = a.region "
    "LEFT JOIN portal_user u ON u.id = a.decided_by")


def may_see_alerts(actor: Actor) -> bool:
    return actor.organisation_kind == "hq" and actor.has(
        "hq_cs", "hq_tech", "hq_admin", "auditor", "vice_president")


def _require_reader(actor: Actor) -> None:
    if not may_see_alerts(actor):
        raise Forbidden("Only head office sees the early warnings.")


async def list_alerts(*, actor: Actor, status: str | None = None, limit: int = 200) -> list[dict]:
    _require_reader(actor)
    rows = await raw_fetch(_ALERT_SELECT + " WHERE ($1::text IS NULL OR a.status = $1) "
                           "ORDER BY a.raised_at DESC, a.id DESC LIMIT $2", status, limit)
    return [_decoded(r) for r in rows]


def _decoded(row: dict) -> dict:
    if isinstance(row.get("evidence"), str):
        row["evidence"] = json.loads(row["evidence"])
    return row


async def get_alert(*, actor: Actor, alert_id: int) -> dict:
    _require_reader(actor)
    rows = await raw_fetch(_ALERT_SELECT + " WHERE a.id = $1", alert_id)
    if not rows:
        raise NotFound("Not found.")
    return _decoded(rows[0])


async def batches_behind(alert: dict) -> list[dict]:
    """The received batches of the region holding the alert's product and date code in its
    window: the records behind it, newest first."""
    return await raw_fetch(
        "SELECT b.id, b.number, b.received_at, o.name, o.name_en, "
        "sum(coalesce(l.received_qty, 0))::int AS units FROM return_batch b "
        "JOIN return_line l ON l.batch = b.id JOIN organisation o ON o.id = b.organisation "
        "JOIN organisation top ON top.id = nullif(split_part(o.path, '.', 2), '')::int "
        "WHERE top.region = $1 AND l.product = $2 AND date_trunc('month', l.date_code)::date = $3 "
        "AND b.received_at >= $4 AND b.received_at < $5 "
        "GROUP BY b.id, o.name, o.name_en ORDER BY b.received_at DESC, b.id DESC",
        alert["region"], alert["product"], alert["date_code_month"],
        china_midnight(alert["window_start"]), china_midnight(alert["window_end"]))


def _require_cs(actor: Actor) -> None:
    if not (actor.organisation_kind == "hq" and actor.has("hq_cs")):
        raise Forbidden("Only customer service decides an early warning.")


async def _locked(alert_id: int) -> dict:
    rows = await raw_fetch(_ALERT_SELECT + " WHERE a.id = $1 FOR UPDATE OF a", alert_id)
    if not rows:
        raise NotFound("Not found.")
    alert = _decoded(rows[0])
    if alert["status"] != "open":
        raise Conflict("This early warning was already decided.")
    return alert


@transactional
async def dismiss(*, actor: Actor, alert_id: int, data: AlertDismissIn) -> None:
    """R16: CS dismisses an alert, saying why (kept with the alert and in the audit trail)."""
    _require_cs(actor)
    if not data.reason.strip() or len(data.reason) > 1000:
        raise ValidationFailed({"reason": "Say why the early warning is dismissed."})
    await _locked(alert_id)
    await raw_fetch("UPDATE quality_alert SET status = 'dismissed', reason = $2, decided_by = $3, "
                    "decided_at = $4 WHERE id = $1", alert_id, data.reason.strip(),
                    actor.user_id, clock.now())
    await audit.record(actor=actor, object_type="quality_alert", object_id=alert_id,
                       action="dismiss", before={"status": "open"},
                       after={"status": "dismissed"}, reason=data.reason.strip())


@transactional
async def verify(*, actor: Actor, alert_id: int, data: AlertVerifyIn) -> int:
    """R16 in one step: a batch quality dispute on the region's latest received batch holding
    the product and date code, which HQ tech verifies on site within 2 days; the alert waits on
    it. Returns the dispute's id."""
    _require_cs(actor)
    alert = await _locked(alert_id)
    batches = await batches_behind(alert)
    candidates = list(batches)
    open_disputes = await raw_fetch(
        "SELECT batch FROM quality_dispute WHERE batch = ANY($1::int[]) AND verified_at IS NULL",
        [b["id"] for b in candidates])
    busy = {r["batch"] for r in open_disputes}
    batch = next((b for b in candidates if b["id"] not in busy), None)
    if batch is None:
        raise RuleViolation("Every batch behind this early warning already has a quality "
                            "dispute waiting for HQ tech (R16).")
    now = clock.now()
    description = (f"{alert['model']} {alert['date_code_month']:%Y-%m} "
                   f"({alert['region_zh']}): {alert['observed']} / "
                   f"{alert['expected_milli'] / 1000:.1f}. {data.note.strip()}").strip()
    row = await raw_fetch(
        "INSERT INTO quality_dispute (batch, description, raised_by, raised_at, due_at) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING id", batch["id"], description[:2000],
        actor.user_id, now, now + timedelta(days=DISPUTE_DAYS))
    dispute_id = row[0]["id"]
    await raw_fetch("UPDATE quality_alert SET status = 'verifying', dispute = $2, decided_by = $3, "
                    "decided_at = $4 WHERE id = $1", alert_id, dispute_id, actor.user_id, now)
    await audit.record(actor=actor, object_type="quality_alert", object_id=alert_id,
                       action="verify", before={"status": "open"},
                       after={"status": "verifying", "dispute": dispute_id,
                              "batch": batch["id"]}, reason=data.note.strip())
    await audit.record(actor=actor, object_type="return_batch", object_id=batch["id"],
                       action="quality_dispute", reason=description[:2000])
    tech = await raw_fetch(
        "SELECT u.id, u.locale FROM portal_user u JOIN organisation o ON o.id = u.organisation "
        "WHERE u.active AND o.kind = 'hq' AND 'hq_tech' = ANY(u.roles)")
    due = (now + timedelta(days=DISPUTE_DAYS)).astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M")
    for locale in ("zh_CN", "en"):  # each reader their language (the office's name)
        office = (batch["name_en"] or batch["name"]) if locale == "en" else batch["name"]
        await notify(user_ids=[u["id"] for u in tech if (u["locale"] == "en") == (locale == "en")],
                     kind="quality_dispute", dedupe_key=str(dispute_id),
                     subject="Batch quality dispute on %(number)s",
                     body="%(office)s reports a batch quality problem. HQ tech verifies it on "
                          "site by %(due)s.", link=f"/batches/{batch['id']}",
                     params={"number": batch["number"], "office": office, "due": due})
    return dispute_id
