"""The public repair-point locator (R38): no sign-in, only approved and open points with their
public entry, only the published fields (an allowlist), cacheable, rate-limited per IP, in
Chinese and English, a poster with its QR code; and the page that keeps a point's entry,
tenant-isolated (R1)."""
from __future__ import annotations

import pytest

from oversight import locator
from tests.helpers import api_token, client, login
from tests.oversight.point_world import entry, points_world

ALLOWED = {"name", "province", "city", "address", "hours", "phone", "map_url"}


async def test_r38_public_page_lists_only_approved_open_points_with_an_entry():
    w = await points_world()
    async with client() as c:  # nobody signed in
        page = await c.get("/find-repair?province=CN-JS")
        assert page.status_code == 200
        assert page.headers["cache-control"] == "public, max-age=300"
        assert "南京灯具城维修点" in page.text and "建邺区灯具城 3 号" in page.text
        assert "025-8888 0000" in page.text and "uri.amap.com/marker" in page.text
        for hidden in ("苏州维修点", "待批维修点", "无锡维修点", "广州维修点"):
            assert hidden not in page.text, hidden
        assert 'id="nav-' not in page.text  # no one's navigation: the page is the same for all
        empty = await c.get("/find-repair")
        assert empty.status_code == 200 and 'value="CN-JS"' in empty.text
        assert 'value="CN-GD"' in empty.text and "苏州" not in empty.text
    assert w


async def test_r38_json_serves_exactly_the_published_fields():
    await points_world()
    async with client() as c:
        r = await c.get("/find-repair/points.json?province=CN-JS&city=南京")
        assert r.status_code == 200 and r.headers["cache-control"].startswith("public")
        (point,) = r.json()["points"]
        assert set(point) == ALLOWED
        assert point == {"name": "南京灯具城维修点", "province": point["province"], "city": "南京",
                         "address": "建邺区灯具城 3 号", "hours": "9:00-18:00",
                         "phone": "025-8888 0000", "map_url": point["map_url"]}
        near = await c.get("/find-repair/points.json?lat=23.1&lng=113.3")
        names = [p["name"] for p in near.json()["points"]]
        assert names == ["广州维修点", "南京灯具城维修点"]  # nearest first; never the others
        assert set(near.json()["points"][0]) == ALLOWED | {"distance_km"}


async def test_r38_in_english():
    await points_world()
    async with client() as c:
        r = await c.get("/find-repair?province=CN-JS", headers={"Accept-Language": "en-US"})
        assert "Nanjing" in r.text and "3 Lighting Market" in r.text
        assert "Find a repair point" in r.text and "Jiangsu" in r.text


async def test_r38_lookups_are_rate_limited_per_ip(monkeypatch):
    await points_world()
    monkeypatch.setattr(locator, "LOOKUP_LIMIT", (3, 600))
    async with client() as c:
        for _ in range(3):
            assert (await c.get("/find-repair?province=CN-JS")).status_code == 200
        refused = await c.get("/find-repair?province=CN-JS")
        assert refused.status_code == 429 and 'id="throttled"' in refused.text
        assert "public" not in refused.headers["cache-control"]
        assert (await c.get("/find-repair/points.json?province=CN-JS")).status_code == 429
        assert (await c.get("/find-repair")).status_code == 200  # the bare form is not counted


async def test_r38_poster_has_a_qr_code_to_the_city():
    await points_world()
    async with client() as c:
        r = await c.get("/find-repair/poster?province=CN-JS&city=南京")
        assert r.status_code == 200 and "<svg" in r.text
        assert "/find-repair?province=CN-JS&amp;city=%E5%8D%97%E4%BA%AC" in r.text
        assert "南京灯具城维修点" in r.text and "苏州维修点" not in r.text


async def test_r38_bad_input_never_fails():
    await points_world()
    async with client() as c:
        for query in ("lat=abc&lng=1", "lat=999&lng=999", "province=" + "x" * 500,
                      "province=CN-JS&city=%00", "lat=nan&lng=nan", "lat=1e308&lng=1"):
            r = await c.get("/find-repair?" + query)
            assert r.status_code in (200, 400, 422), (query, r.status_code)


@pytest.mark.parametrize("viewer, status", [
    ("staff", 200), ("manager", 200), ("rm", 200), ("cs", 200), ("vp", 200),
    ("gd.manager", 404), ("gd.staff", 404)])
async def test_r1_public_entry_page_and_api_tenant_matrix(viewer, status):
    w = await points_world()
    point = w.id("point")
    token = {"Authorization": f"Bearer {await api_token(w.users[viewer])}"}
    async with client() as c:
        csrf = await login(c, viewer)
        page = await c.get(f"/repair-points/{point}/public-entry")
        api = await c.get(f"/api/v1/repair-points/{point}/public-entry", headers=token)
        assert page.status_code == api.status_code == status
        form = {"_csrf": csrf, "city": "南京", "address": "新地址", "hours": "8:00-20:00",
                "phone": "025-1"}
        posted = await c.post(f"/repair-points/{point}/public-entry", data=form)
        api_post = await c.post(f"/api/v1/repair-points/{point}/public-entry", headers=token,
                                json={k: v for k, v in form.items() if k != "_csrf"})
    if status == 404:
        assert posted.status_code == api_post.status_code == 404
    elif viewer == "vp":  # may read, not change
        assert posted.status_code == api_post.status_code == 403
    else:
        assert posted.status_code == 303 and api_post.status_code == 200
        assert api_post.json()["address"] == "新地址" and api_post.json()["published"]


async def test_r38_entry_checks_its_fields():
    w = await points_world()
    from portal.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        await locator.publish(actor=w.actors["manager"], point_id=w.id("bare"),
                              data=entry(city=" ", hours="", latitude="91", longitude=""))
    assert set(refused.value.errors) == {"city", "hours", "latitude"}


async def test_r38_fuzzed_queries_never_fail_on_any_public_locator_page(monkeypatch):
    """The hardening issue's fuzzing, on the public pages outside /api/v1: random text (control
    characters, other scripts, very long, number-like) in every query field of the page, its
    JSON and its poster answers 200 or a clear 4xx, never a 5xx; the JSON keeps to the
    allowlist whatever is asked."""
    import random
    import urllib.parse

    await points_world()
    monkeypatch.setattr(locator, "LOOKUP_LIMIT", (100_000, 600))
    rng = random.Random(38)
    seen: set[tuple[str, int]] = set()
    alphabet = ["\x00", "\x1b", "\t", "%", "'", '"', "<", "江", "苏", "𝔘", "-", ".", "e", "9",
                "CN-JS", "南京市", " ", "\u202e", "nan", "inf", "1e308", "0x1f"]
    async with client() as c:
        for _ in range(150):
            params = {k: "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
                      for k in ("province", "city", "lat", "lng", "lang") if rng.random() < 0.7}
            query = urllib.parse.urlencode(params)
            for path in ("/find-repair", "/find-repair/points.json", "/find-repair/poster"):
                r = await c.get(f"{path}?{query}")
                assert r.status_code in (200, 400, 404, 422), (path, params, r.status_code)
                seen.add((path, r.status_code))
                if path.endswith(".json") and r.status_code == 200:
                    for point in r.json().get("points", []):
                        assert set(point) <= ALLOWED
        listed = (await c.get("/find-repair/points.json?province=CN-JS")).json()
    assert {p for p, status in seen if status == 200} == {
        "/find-repair", "/find-repair/points.json", "/find-repair/poster"}  # not all refused
    assert listed["points"] and all(set(p) <= ALLOWED for p in listed["points"])
