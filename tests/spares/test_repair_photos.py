"""Photos of a consumer repair (issue 12 §5; R19): the point's staff add them on the point's
page; its office and head office see them; another office gets 404 on the photo as on the
repair (R1); nobody else adds one."""
import io
from datetime import date, datetime

from PIL import Image

from portal import clock
from portal.clock import CHINA
from portal.db import raw_fetch
from spares import repairs
from tests.helpers import client, csrf_from, login
from tests.spares.factory import network


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (20, 120, 200)).save(out, "JPEG")
    return out.getvalue()


async def _repair(net) -> int:
    with clock.frozen(datetime(2026, 11, 10, 10, tzinfo=CHINA)):
        return await repairs.record_repair(
            actor=net["actors"]["staff"], customer="王先生", phone="138", product_id=net["product"],
            purchase_date=date(2026, 6, 1), proof="发票 No.123", spare_part_id=None,
            parts_quantity=0, on_the_spot=True)


async def test_staff_photograph_a_repair_and_only_those_who_see_the_point_see_it():
    net = await network()
    repair_id = await _repair(net)
    point_page = f"/repair-points/{net['point']['id']}"
    async with client() as c:
        await login(c, "staff")
        page = await c.get(point_page)
        assert f'action="/attachments/spares.repair/{repair_id}' in page.text
        r = await c.post(f"/attachments/spares.repair/{repair_id}?next={point_page}",
                         data={"_csrf": csrf_from(page.text)},
                         files={"file": ("fixed.jpg", _photo(), "image/jpeg")})
        assert r.status_code == 303 and r.headers["location"] == point_page
        shown = await c.get(point_page)
    photo_id = (await raw_fetch("SELECT id FROM attachment WHERE subject = 'spares.repair'"))[0]["id"]
    assert f'src="/attachments/{photo_id}"' in shown.text
    for user, status in (("manager", 200), ("cs", 200), ("gd.manager", 404)):
        async with client() as c:
            await login(c, user)
            assert (await c.get(f"/attachments/{photo_id}")).status_code == status, user


async def test_the_office_sees_the_photos_but_does_not_add_them():
    net = await network()
    repair_id = await _repair(net)
    async with client() as c:
        token = await login(c, "manager")
        page = await c.get(f"/repair-points/{net['point']['id']}")
        assert f'action="/attachments/spares.repair/{repair_id}' not in page.text
        r = await c.post(f"/attachments/spares.repair/{repair_id}", data={"_csrf": token},
                         files={"file": ("x.jpg", _photo(), "image/jpeg")})
        assert r.status_code == 403
    async with client() as c:
        token = await login(c, "gd.manager")  # another office: the repair does not exist for it
        r = await c.post(f"/attachments/spares.repair/{repair_id}", data={"_csrf": token},
                         files={"file": ("x.jpg", _photo(), "image/jpeg")})
        assert r.status_code == 404
    assert not await raw_fetch("SELECT 1 FROM attachment")
