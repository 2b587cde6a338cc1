"""Photos and documents on records (issue 12 §5): shown only to those who may see the record
(R1), bounded in size and type, photos re-encoded without their EXIF, nothing half-stored."""
import dataclasses
import io
from datetime import timedelta

import pytest
from PIL import Image

from portal import attachments, clock, settings
from portal.db import raw_fetch, transactional
from portal.errors import NotFound, RuleViolation
from portal.storage import storage
from tests.helpers import actor_of, api_token, client, login, make_org, make_user

SUBJECT = "test.organisation"


async def _owner(actor, org_id: int) -> int:
    rows = await raw_fetch("SELECT path, active FROM organisation WHERE id = $1", org_id)
    if not rows or not actor.can_see_path(rows[0]["path"]):
        raise NotFound("Not found.")
    return org_id


async def _may_attach(actor, org_id: int) -> None:
    rows = await raw_fetch("SELECT active FROM organisation WHERE id = $1", org_id)
    if not rows[0]["active"]:
        raise RuleViolation("This record is closed; no more files can be added.")


attachments.register_subject(SUBJECT, _owner, _may_attach)


def _jpeg(size=(4000, 3000), exif_gps=True) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    exif = Image.Exif()
    if exif_gps:
        exif[0x8825] = {2: (31.0, 14.0, 0.0)}  # GPSInfo: latitude, where the photo was taken
        exif[0x010F] = "PhoneMaker"
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


async def _tree():
    hq = await make_org("hq", region=None)
    a = await make_org("office", parent=hq)
    b = await make_org("office", parent=hq)
    users = {"a": await make_user(a, ["dealer_clerk"], username="att_a"),
             "b": await make_user(b, ["dealer_clerk"], username="att_b"),
             "hq": await make_user(hq, ["hq_logistics"], username="att_hq")}
    return {"hq": hq, "a": a, "b": b}, users


async def _count() -> int:
    return (await raw_fetch("SELECT count(*) AS n FROM attachment"))[0]["n"]


async def test_photo_is_kept_upright_small_and_without_exif_and_seen_only_in_scope():
    orgs, users = await _tree()
    async with client() as c:
        token = await login(c, "att_a")
        r = await c.post(f"/attachments/{SUBJECT}/{orgs['a']['id']}", data={"_csrf": token},
                         files={"file": ("IMG_0001.HEIC.jpg", _jpeg(), "image/jpeg")},
                         headers={"HX-Request": "true", "x-csrftoken": token})
        assert r.status_code == 200, r.text
        assert "IMG_0001.HEIC.jpg" in r.text and "/attachments/" in r.text
        file_id = (await raw_fetch("SELECT id FROM attachment"))[0]["id"]
        got = await c.get(f"/attachments/{file_id}")
        assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
        assert got.headers["x-content-type-options"] == "nosniff"
        kept = Image.open(io.BytesIO(got.content))
        assert kept.size == (2000, 1500)  # shrunk to the long side
        assert not kept.getexif()  # no GPS, no maker: the photo says nothing of where it was taken
    async with client() as c:
        await login(c, "att_b")  # a sibling office: the file does not exist for them (R1)
        assert (await c.get(f"/attachments/{file_id}")).status_code == 404
        assert (await c.get(f"/attachments/{SUBJECT}/{orgs['a']['id']}")).status_code == 404
    async with client() as c:
        await login(c, "att_hq")  # head office sees what is below it
        assert (await c.get(f"/attachments/{file_id}")).status_code == 200
    for user, status in (("b", 404), ("hq", 200), ("a", 200)):
        bearer = {"Authorization": f"Bearer {await api_token(users[user])}"}
        async with client() as c:
            assert (await c.get(f"/api/v1/attachments/{file_id}", headers=bearer)
                    ).status_code == status
            listed = await c.get(f"/api/v1/attachments/{SUBJECT}/{orgs['a']['id']}",
                                 headers=bearer)
            assert listed.status_code == status
            if status == 200:
                assert [f["id"] for f in listed.json()] == [file_id]


async def test_sibling_cannot_attach_to_anothers_record_and_nothing_is_stored():
    orgs, users = await _tree()
    async with client() as c:
        token = await login(c, "att_b")
        r = await c.post(f"/attachments/{SUBJECT}/{orgs['a']['id']}", data={"_csrf": token},
                         files={"file": ("x.jpg", _jpeg((50, 50)), "image/jpeg")})
        assert r.status_code == 404
    bearer = {"Authorization": f"Bearer {await api_token(users['b'])}"}
    async with client() as c:
        r = await c.post(f"/api/v1/attachments/{SUBJECT}/{orgs['a']['id']}", headers=bearer,
                         files={"file": ("x.jpg", _jpeg((50, 50)), "image/jpeg")})
        assert r.status_code == 404
    assert await _count() == 0


@pytest.mark.parametrize(("name", "content", "words"), [
    ("notes.jpg", b"just some text pretending to be a photo", "Only photos (JPEG, PNG, WebP)"),
    ("setup.exe", b"MZ\x90\x00" + b"\x00" * 100, "Only photos (JPEG, PNG, WebP)"),
    ("broken.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 200, "could not be read"),
    ("empty.jpg", b"", "The file is empty"),
])
async def test_not_a_photo_or_pdf_is_refused_with_a_clear_error(name, content, words):
    orgs, users = await _tree()
    before = {k for k, _ in await storage().list_keys()}
    async with client() as c:
        token = await login(c, "att_a")
        r = await c.post(f"/attachments/{SUBJECT}/{orgs['a']['id']}?next=/",
                         data={"_csrf": token}, files={"file": (name, content, "image/jpeg")})
        assert r.status_code == 422 and 'role="alert"' in r.text  # in the clerk's Chinese
    bearer = {"Authorization": f"Bearer {await api_token(users['a'])}", "Accept-Language": "en"}
    async with client() as c:
        r = await c.post(f"/api/v1/attachments/{SUBJECT}/{orgs['a']['id']}", headers=bearer,
                         files={"file": (name, content, "image/jpeg")})
        assert r.status_code == 422 and words in r.json()["error"]
    assert await _count() == 0
    assert {k for k, _ in await storage().list_keys()} == before  # refused before storing


async def test_oversized_file_and_decompression_bomb_are_refused(monkeypatch):
    orgs, users = await _tree()
    small = dataclasses.replace(settings.ATTACHMENTS, max_bytes=200 * 1024)
    monkeypatch.setattr(settings, "ATTACHMENTS", small)
    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, "PNG")  # 100 M pixels in a few kilobytes
    actor = await actor_of(users["a"])
    with pytest.raises(RuleViolation, match="larger than"):
        await attachments.attach(actor=actor, subject_name=SUBJECT, subject_id=orgs["a"]["id"],
                                 filename="big.jpg", data=_jpeg(exif_gps=False) + b"\0" * 300_000)
    with pytest.raises(RuleViolation, match="too many pixels"):
        await attachments.attach(actor=actor, subject_name=SUBJECT, subject_id=orgs["a"]["id"],
                                 filename="bomb.png", data=bomb.getvalue())
    assert await _count() == 0


async def test_pdf_is_kept_as_sent_and_downloaded_not_rendered_inline():
    orgs, users = await _tree()
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    file_id = await attachments.attach(actor=await actor_of(users["a"]), subject_name=SUBJECT,
                                       subject_id=orgs["a"]["id"],
                                       filename='../../etc/"certificate".pdf', data=pdf)
    async with client() as c:
        await login(c, "att_a")
        got = await c.get(f"/attachments/{file_id}")
    assert got.content == pdf and got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"] == "attachment; filename*=UTF-8''certificate.pdf"
    assert got.headers["content-security-policy"] == "sandbox"
    entry = await raw_fetch("SELECT action, object_id FROM audit_entry WHERE object_type = "
                            "'attachment'")
    assert entry == [{"action": "attach", "object_id": str(file_id)}]  # R20


async def test_a_closed_record_refuses_new_files_beside_the_form():
    orgs, users = await _tree()
    await raw_fetch("UPDATE organisation SET active = false WHERE id = $1", orgs["a"]["id"])
    actor = await actor_of(users["hq"])
    with pytest.raises(RuleViolation, match="closed"):
        await attachments.attach(actor=actor, subject_name=SUBJECT, subject_id=orgs["a"]["id"],
                                 filename="late.jpg", data=_jpeg((40, 40)))
    assert await _count() == 0


async def test_a_rolled_back_upload_leaves_no_row_and_its_file_is_swept():
    orgs, users = await _tree()
    actor = await actor_of(users["a"])

    @transactional
    async def attach_then_fail() -> None:
        await attachments.attach(actor=actor, subject_name=SUBJECT, subject_id=orgs["a"]["id"],
                                 filename="p.jpg", data=_jpeg((60, 60)))
        raise RuleViolation("a later step of the same action refused")

    before = {k for k, _ in await storage().list_keys()}
    with pytest.raises(RuleViolation):
        await attach_then_fail()
    assert await _count() == 0
    stray = {k for k, _ in await storage().list_keys()} - before
    assert len(stray) == 1  # written before the row, so the row never names a missing file
    assert await attachments.sweep_orphans() == 0  # within the grace period: maybe in flight
    with clock.frozen(clock.now() + timedelta(hours=2)):
        assert await attachments.sweep_orphans() >= 1
    assert not stray & {k for k, _ in await storage().list_keys()}


async def test_the_sweep_lists_only_the_last_two_months_not_the_whole_archive():
    """Its cost follows recent uploads, not every file ever kept (issue 17 §4): a stray file
    from long ago is not even looked at, a recent one is swept."""
    store = storage()
    await store.put("2001/01/old-orphan", b"x")
    await store.put(f"{clock.now():%Y/%m}/new-orphan", b"x")
    with clock.frozen(clock.now() + timedelta(hours=2)):
        assert await attachments.sweep_orphans() >= 1
    keys = {k for k, _ in await store.list_keys()}
    assert "2001/01/old-orphan" in keys
    assert f"{clock.now():%Y/%m}/new-orphan" not in keys
    assert [k for k, _ in await store.list_keys("2001/01/")] == ["2001/01/old-orphan"]
