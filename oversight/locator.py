"""The public repair-point locator (R38): consumers are told where their area's repair point is.
Only approved, open points with a public entry appear (never a closed one, never a proposal),
and only their name, province, city, address, hours, phone and a map link — nothing else about
a point or its people. Reads are one statement each; lookups are rate-limited per client IP in
the database (the table and the atomic check the public complaint form uses).

The public entry (city, address, hours, phone, position) is kept by the point's office, its
regional manager, head office's customer service or the point's own staff."""
from __future__ import annotations

from datetime import timedelta

from oversight import rules
from oversight.inputs import PublishPointIn
from portal import audit, clock
from portal.actor import Actor
from portal.db import in_transaction, raw_fetch, transactional
from portal.errors import Forbidden, NotFound, ValidationFailed
from portal.i18n import local_name

LOOKUP_LIMIT = (60, 600)  # lookups per client IP per 10 minutes
NEAREST = 10  # points listed for a shared location
PUBLIC_FIELDS = ("name", "province", "city", "address", "hours", "phone", "map_url")

# R38: approved (a decided application), open (active, not closed), with its public entry
_PUBLISHED = """
FROM published_point p
JOIN organisation o ON o.id = p.repair_point
JOIN organisation parent ON parent.id = o.parent
LEFT JOIN region r ON r.id = o.region
WHERE o.kind = 'repair_point' AND o.active AND parent.active
  AND EXISTS (SELECT 1 FROM repair_point_application a WHERE a.repair_point = o.id
              AND a.status = 'approved')
  AND NOT EXISTS (SELECT 1 FROM closure c WHERE c.repair_point = o.id)
"""
_COLUMNS = ("SELECT o.id, o.name, o.name_en, r.code AS province_code, r.name_zh AS province_zh, "
            "r.name_en AS province_en, p.city, p.city_en, p.address, p.address_en, p.hours, "
            "p.phone, p.latitude, p.longitude ")


async def provinces() -> list[dict]:
    """The provinces with at least one published point, with their cities."""
    rows = await raw_fetch(
        "SELECT r.code, r.name_zh, r.name_en, p.city, p.city_en, count(*) AS n "
        f"{_PUBLISHED} AND r.id IS NOT NULL GROUP BY r.code, r.name_zh, r.name_en, p.city, "
        "p.city_en ORDER BY r.code, p.city")
    found: dict[str, dict] = {}
    for row in rows:
        province = found.setdefault(row["code"], {"code": row["code"], "name_zh": row["name_zh"],
                                                  "name_en": row["name_en"], "cities": []})
        province["cities"].append({"city": row["city"], "city_en": row["city_en"]})
    return list(found.values())


async def search(*, province: str | None, city: str | None, latitude: float | None = None,
                 longitude: float | None = None) -> list[dict]:
    """The published points of a province (and city), or the nearest to a shared location."""
    if latitude is not None and longitude is not None:
        # great-circle distance in km (haversine), nearest first
        rows = await raw_fetch(
            f"{_COLUMNS}, 2 * 6371 * asin(sqrt(power(sin(radians(p.latitude - $1) / 2), 2) + "
            "cos(radians($1)) * cos(radians(p.latitude)) * "
            "power(sin(radians(p.longitude - $2) / 2), 2))) AS distance_km "
            f"{_PUBLISHED} AND p.latitude IS NOT NULL AND p.longitude IS NOT NULL "
            "ORDER BY distance_km, o.id LIMIT $3", latitude, longitude, NEAREST)
    elif province:
        rows = await raw_fetch(
            f"{_COLUMNS} {_PUBLISHED} AND r.code = $1 AND ($2::text IS NULL OR p.city = $2 "
            "OR p.city_en = $2) ORDER BY p.city, o.name", province, city or None)
    else:
        return []
    return rows


def public_entry(row: dict, locale: str) -> dict:
    """Exactly what the public may read of a point (R38): PUBLIC_FIELDS, in the reader's
    language where an English version is kept, plus the distance for a shared location."""
    en = locale == "en"
    entry = {
        "name": local_name(row), "province": (row["province_en"] if en else row["province_zh"])
        or "", "city": (row["city_en"] if en and row["city_en"] else row["city"]),
        "address": (row["address_en"] if en and row["address_en"] else row["address"]),
        "hours": row["hours"], "phone": row["phone"],
        "map_url": rules.map_link(latitude=row["latitude"], longitude=row["longitude"],
                                  name=row["name"], address=row["address"])}
    if row.get("distance_km") is not None:
        entry["distance_km"] = round(float(row["distance_km"]), 1)
    return entry


async def admit_lookup(ip: str) -> bool:
    """One atomic decision per public lookup (as the complaint form's): under an advisory lock
    on the IP, count its recent lookups and record this one if under LOOKUP_LIMIT."""
    limit, seconds = LOOKUP_LIMIT
    at = clock.now()

    async def decide() -> bool:
        await raw_fetch("SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))",
                        "public:locator", ip[:64])
        rows = await raw_fetch(
            "INSERT INTO public_attempt (action, ip, at) SELECT $1::varchar, $2::varchar, $3 "
            "WHERE (SELECT count(*) FROM public_attempt WHERE action = $1::varchar "
            "AND ip = $2::varchar AND at > $4) < $5 RETURNING id",
            "locator", ip[:64], at, at - timedelta(seconds=seconds), limit)
        return bool(rows)

    return await in_transaction(decide)


# --- keeping the public entry ------------------------------------------------------------------

async def point_for(actor: Actor, point_id: int) -> dict:
    """A repair point the actor may see (R1), with its public entry if any; NotFound else."""
    rows = await raw_fetch(
        "SELECT o.id, o.name, o.name_en, o.path, o.active, p.city, p.city_en, p.address, "
        "p.address_en, p.hours, p.phone, p.latitude, p.longitude, p.updated_at, "
        "EXISTS (SELECT 1 FROM repair_point_application a WHERE a.repair_point = o.id "
        "AND a.status = 'approved') AS approved, "
        "EXISTS (SELECT 1 FROM closure c WHERE c.repair_point = o.id) AS closed "
        "FROM organisation o LEFT JOIN published_point p ON p.repair_point = o.id "
        "WHERE o.id = $1 AND o.kind = 'repair_point'", point_id)
    if not rows or not actor.can_see_path(rows[0]["path"]):
        raise NotFound("Not found.")
    row = rows[0]
    row["published"] = rules.published(approved=row["approved"],
                                       active=row["active"] and not row["closed"],
                                       has_entry=row["updated_at"] is not None)
    return row


def may_publish(actor: Actor, point: dict) -> bool:
    if actor.read_only:
        return False
    if actor.organisation_kind == "repair_point":
        return actor.organisation_id == point["id"] and actor.has("repair_staff")
    if actor.organisation_kind in ("office", "agent"):
        return actor.has("manager", "dealer_clerk")
    return actor.organisation_kind == "hq" and (actor.has("hq_cs") or actor.has("manager"))


def _coordinate(text: str, low: float, high: float) -> float | None | bool:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return False
    return value if low <= value <= high else False


@transactional
async def publish(*, actor: Actor, point_id: int, data: PublishPointIn) -> None:
    """R38: set what the locator shows of a point (shown while it is approved and open)."""
    point = await point_for(actor, point_id)
    if not may_publish(actor, point):
        raise Forbidden("Your role may not change what the public sees of this repair point.")
    errors = rules.text_problems(
        dict(city=data.city, address=data.address, hours=data.hours, phone=data.phone),
        {"city": "Enter the city.", "address": "Enter the address.",
         "hours": "Enter the opening hours.", "phone": "Enter the phone number."})
    for field, limit in (("city", 40), ("city_en", 60), ("address", 200), ("address_en", 200),
                         ("hours", 80), ("phone", 30)):
        if len(getattr(data, field)) > limit and field not in errors:
            errors[field] = "Too long."
    latitude = _coordinate(data.latitude, -90, 90)
    longitude = _coordinate(data.longitude, -180, 180)
    if latitude is False:
        errors["latitude"] = "Enter a latitude from -90 to 90, or leave it empty."
    if longitude is False:
        errors["longitude"] = "Enter a longitude from -180 to 180, or leave it empty."
    if (latitude is None) != (longitude is None) and "latitude" not in errors:
        errors["latitude"] = "Enter both latitude and longitude, or neither."
    if errors:
        raise ValidationFailed(errors)
    values = dict(city=data.city, city_en=data.city_en, address=data.address,
                  address_en=data.address_en, hours=data.hours, phone=data.phone,
                  latitude=latitude, longitude=longitude)
    await raw_fetch(
        "INSERT INTO published_point (repair_point, city, city_en, address, address_en, hours, "
        "phone, latitude, longitude, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, "
        "$7, $8, $9, $10, $11) ON CONFLICT (repair_point) DO UPDATE SET city = $2, "
        "city_en = $3, address = $4, address_en = $5, hours = $6, phone = $7, latitude = $8, "
        "longitude = $9, updated_by = $10, updated_at = $11", point_id, *values.values(),
        actor.user_id, clock.now())
    before = {k: point[k] for k in values}
    old, new = audit.changes(before, values)
    await audit.record(actor=actor, object_type="published_point", object_id=point_id,
                       action="set", before=old, after=new, organisation_id=point_id)

