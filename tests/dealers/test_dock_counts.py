"""Offline-first counting (R12, issue 12 §7): a count sent with its key is applied once however
often it is retried; a count made on a version someone else has counted over is a conflict,
returned and not applied; and the dock's photos (issue 12 §5) are seen only in the batch's
scope (R1), with the storage's limits."""
import io

from PIL import Image

from dealers import batch_lines, batches, dock_counts, evidence, receiving, rules
from dealers.tables import DockCount, ReturnBatch, ReturnLine
from portal import attachments, clock
from portal.db import raw_fetch
from portal.errors import NotFound, RuleViolation
from portal.tables import AuditEntry
from tests.dealers.factory import IN_WINDOW, cfl_line, network
from tests.helpers import api_token, client, login


async def _arrived(net) -> tuple[int, list[int]]:
    a = net["actors"]
    batch_id = await batches.create_draft(actor=a["clerk"])
    await batch_lines.add_lines(actor=a["clerk"], batch_id=batch_id,
                                lines=[cfl_line(net, 10), cfl_line(net, 5, lights=True)])
    await batches.submit_batch(actor=a["clerk"], batch_id=batch_id)
    await batches.sign_batch(actor=a["manager"], batch_id=batch_id, note="")
    await batches.approve_batch(actor=a["cs"], batch_id=batch_id, disposition="return")
    number = (await ReturnBatch.select(ReturnBatch.number).first())["number"]
    await receiving.arrive(actor=a["logistics"], number=number)
    lines = await ReturnLine.select(ReturnLine.id).where(ReturnLine.batch == batch_id).order_by(
        ReturnLine.line_no)
    return batch_id, [l["id"] for l in lines]


def _count(key: str, line_id: int, qty: int, base: int = 0) -> dock_counts.LineCount:
    return dock_counts.LineCount(key, line_id, base, qty, rules.Condition(cap_percent=90))


async def test_a_retried_count_is_applied_once():
    """R12 §7: the same key sent three times (retries, a second tab) makes one count."""
    net = await network()
    logistics = net["actors"]["logistics"]
    with clock.frozen(IN_WINDOW):
        batch_id, (line, _) = await _arrived(net)
        answers = [await dock_counts.record_count(actor=logistics, batch_id=batch_id,
                                                  count=_count("phone-key-0001", line, 9))
                   for _ in range(3)]
    assert [a["state"] for a in answers] == ["applied"] * 3
    assert [a["replayed"] for a in answers] == [False, True, True]
    assert {a["version"] for a in answers} == {1}
    assert await DockCount.count() == 1
    assert (await ReturnLine.select(ReturnLine.received_qty).where(
        ReturnLine.id == line).first())["received_qty"] == 9
    assert await AuditEntry.count().where(AuditEntry.action == "line_counted") == 1


async def test_a_count_over_someone_elses_is_a_conflict_not_an_overwrite():
    """Another clerk counted the line meanwhile: the phone's count (made on version 0) is not
    applied; the answer names who counted what, and a count on the new version is applied."""
    net = await network()
    a = net["actors"]
    with clock.frozen(IN_WINDOW):
        batch_id, (line, _) = await _arrived(net)
        await dock_counts.record_count(actor=a["logistics2"], batch_id=batch_id,
                                       count=_count("other-phone-01", line, 7))
        answer = await dock_counts.record_count(actor=a["logistics"], batch_id=batch_id,
                                                count=_count("my-phone-0001", line, 9))
        assert answer["state"] == "conflict"
        assert (answer["version"], answer["received_qty"], answer["counted_by"]) == \
            (1, 7, "logistics2")
        assert (await ReturnLine.select(ReturnLine.received_qty).where(
            ReturnLine.id == line).first())["received_qty"] == 7
        again = await dock_counts.record_count(actor=a["logistics"], batch_id=batch_id,
                                               count=_count("my-phone-0002", line, 9, base=1))
    assert (again["state"], again["version"]) == ("applied", 2)
    assert await DockCount.count() == 2  # both counts kept (R20)


async def test_counts_need_an_arrived_receivable_batch_and_a_real_key():
    net = await network()
    a = net["actors"]
    with clock.frozen(IN_WINDOW):
        batch_id, (line, other) = await _arrived(net)
        for bad in ("short", "has spaces in it", "x" * 65):
            try:
                await dock_counts.record_count(actor=a["logistics"], batch_id=batch_id,
                                               count=_count(bad, line, 1))
                raise AssertionError(bad)
            except Exception as exc:  # noqa: BLE001 - the refusal's kind is checked below
                assert getattr(exc, "status_code", 0) == 422, bad
        await receiving.receive_batch(actor=a["logistics"], batch_id=batch_id, counts=[
            receiving.Count(line, 10, rules.Condition()), receiving.Count(other, 5, rules.Condition())])
        try:
            await dock_counts.record_count(actor=a["logistics"], batch_id=batch_id,
                                           count=_count("late-phone-01", line, 3))
            raise AssertionError("counted a received batch")
        except Exception as exc:  # noqa: BLE001
            assert getattr(exc, "status_code", 0) == 409
    assert await DockCount.count() == 0


async def test_count_route_and_api_twin_apply_once_and_are_logistics_only():
    """The page's JSON route (CSRF header) and the API twin: applied once across both; an
    office's clerk may not count (R1: the batch is out of the role's reach)."""
    net = await network()
    with clock.frozen(IN_WINDOW):
        batch_id, (line, _) = await _arrived(net)
        body = {"key": "tab-key-000001", "line_id": line, "received_qty": 8, "base_version": 0}
        async with client() as c:
            token = await login(c, "logistics")
            first = await c.post(f"/batches/{batch_id}/counts", json=body,
                                 headers={"x-csrftoken": token})
            retry = await c.post(f"/batches/{batch_id}/counts", json=body,
                                 headers={"x-csrftoken": token})
            api = await c.post(f"/api/v1/batches/{batch_id}/counts", json=body, headers={
                "Authorization": f"Bearer {await api_token(net['users']['logistics'])}"})
            missing = await c.post("/batches/999999/counts", json=body,
                                   headers={"x-csrftoken": token})
        async with client() as c:
            token = await login(c, "clerk")
            clerk = await c.post(f"/batches/{batch_id}/counts", json=body,
                                 headers={"x-csrftoken": token})
            clerk_api = await c.post(f"/api/v1/batches/{batch_id}/counts", json=body, headers={
                "Authorization": f"Bearer {await api_token(net['users']['clerk'])}"})
            sibling_api = await c.post(f"/api/v1/batches/{batch_id}/counts", json=body, headers={
                "Authorization": f"Bearer {await api_token(net['users']['other_clerk'])}"})
    assert first.status_code == 200 and first.json()["state"] == "applied"
    assert retry.json()["replayed"] is True and api.json()["replayed"] is True
    assert missing.status_code == 404
    assert clerk.status_code == 403
    assert clerk_api.status_code == 403 and sibling_api.status_code == 404
    assert await DockCount.count() == 1


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (120, 120, 120)).save(out, "JPEG")
    return out.getvalue()


async def test_line_photos_are_seen_only_in_the_batch_scope_and_refused_when_not_images():
    """Issue 12 acceptance: another office's user gets 404 on a photo; a file that is not an
    image is refused with a clear error and nothing is stored."""
    net = await network()
    a = net["actors"]
    with clock.frozen(IN_WINDOW):
        batch_id, (line, _) = await _arrived(net)
        photo = await attachments.attach(actor=a["logistics"], subject_name=evidence.LINE,
                                         subject_id=line, filename="tube.jpg", data=_jpeg())
        arrival = await attachments.attach(actor=a["logistics"], subject_name=evidence.ARRIVAL,
                                           subject_id=batch_id, filename="carton.jpg",
                                           data=_jpeg())
        try:
            await attachments.attach(actor=a["logistics"], subject_name=evidence.LINE,
                                     subject_id=line, filename="notes.txt",
                                     data=b"just some text, not a photo")
            raise AssertionError("a text file was kept")
        except RuleViolation:
            pass
        try:
            await attachments.attach(actor=a["other_clerk"], subject_name=evidence.LINE,
                                     subject_id=line, filename="x.jpg", data=_jpeg())
            raise AssertionError("another office attached a photo")
        except NotFound:
            pass
        async with client() as c:
            await login(c, "gd.clerk")
            sibling = [(await c.get(f"/attachments/{i}")).status_code for i in (photo, arrival)]
        async with client() as c:
            await login(c, "clerk")
            own = (await c.get(f"/attachments/{photo}")).status_code
        async with client() as c:
            token = await login(c, "logistics")
            page = (await c.get(f"/batches/{batch_id}/receive")).text
            refused = await c.post(f"/attachments/{evidence.LINE}/{line}", data={"_csrf": token},
                                   files={"file": ("a.txt", b"plain text", "text/plain")})
    assert sibling == [404, 404] and own == 200
    assert f'src="/attachments/{photo}"' in page and f'src="/attachments/{arrival}"' in page
    assert 'capture="environment"' in page and 'accept="image/*"' in page
    assert refused.status_code in (413, 415, 422)
    assert (await raw_fetch("SELECT count(*) AS n FROM attachment"))[0]["n"] == 2


async def test_claim_and_disposal_photos_on_the_batch_page_in_scope_only():
    """R15: a carrier claim's photo; R9: a local disposal's evidence photo by the office. Both
    on the batch page with the camera input; another office gets 404 on each (R1)."""
    from dealers import special_cases

    net = await network()
    a = net["actors"]
    with clock.frozen(IN_WINDOW):
        batch_id, _ = await _arrived(net)
        await raw_fetch("UPDATE return_batch SET status = 'dispatched', carrier = '德邦物流' "
                        "WHERE id = $1", batch_id)
        claim = await special_cases.open_transit_claim(
            actor=a["logistics"], batch_id=batch_id, carrier="德邦物流", lost_qty=0,
            damaged_qty=2, claimed_fen=5000)
        claim_photo = await attachments.attach(actor=a["logistics"], subject_name=evidence.CLAIM,
                                               subject_id=claim, filename="carton.jpg",
                                               data=_jpeg())
        disposed = await batches.create_draft(actor=net["actors"]["other_clerk"])
        try:
            await attachments.attach(actor=a["clerk"], subject_name=evidence.DISPOSAL,
                                     subject_id=batch_id, filename="x.jpg", data=_jpeg())
            raise AssertionError("disposal evidence on a batch returned to the factory")
        except RuleViolation:
            pass
        await raw_fetch("UPDATE return_batch SET disposition = 'dispose', status = 'approved' "
                        "WHERE id = $1", disposed)
        sibling_photo = await attachments.attach(
            actor=a["other_clerk"], subject_name=evidence.DISPOSAL, subject_id=disposed,
            filename="scrapped.jpg", data=_jpeg())
        async with client() as c:
            await login(c, "logistics")
            page = (await c.get(f"/batches/{batch_id}")).text
        async with client() as c:
            await login(c, "clerk")
            office = [(await c.get(f"/attachments/{i}")).status_code
                      for i in (claim_photo, sibling_photo)]
        async with client() as c:
            await login(c, "gd.clerk")
            own_disposal = (await c.get(f"/batches/{disposed}")).text
    assert f'src="/attachments/{claim_photo}"' in page and 'id="arrival-photos-input"' in page
    assert f'id="claim-photos-{claim}-input"' in page and 'capture="environment"' in page
    assert office == [200, 404]
    assert f'src="/attachments/{sibling_photo}"' in own_disposal
    assert 'id="disposal-photos-input"' in own_disposal
