"""Attachment bytes in an S3-compatible bucket (issue 12 §5: "S3-compatible object storage by
setting"): the portal's own signed requests against a real S3 server process (moto's), the same
four calls the local disk answers, and a photo attached end to end through it."""
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from portal import attachments, clock, storage
from portal.errors import NotFound
from tests.helpers import actor_of, make_org, make_user
from tests.portal.test_attachments import SUBJECT, _jpeg


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3_server():
    port = _free_port()
    server = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen([str(server), "-p", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONWARNINGS": ""})
    try:
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
async def bucket(s3_server):
    store = storage.S3Storage(s3_server, "portal-files", "test-key", "test-secret")
    await store._call("PUT")  # create the bucket
    storage.use_storage(store)
    yield store
    storage.use_storage(None)


async def test_put_get_list_delete_against_an_s3_server(bucket):
    await bucket.put("2026/12/abc", b"\x89PNG bytes")
    assert await bucket.get("2026/12/abc") == b"\x89PNG bytes"
    keys = dict(await bucket.list_keys())
    assert list(keys) == ["2026/12/abc"]
    assert abs(keys["2026/12/abc"] - clock.now()) < timedelta(minutes=5)
    await bucket.put("2001/01/old", b"x")
    assert [k for k, _ in await bucket.list_keys("2026/12/")] == ["2026/12/abc"]  # a month only
    await bucket.delete("2001/01/old")
    await bucket.delete("2026/12/abc")
    assert await bucket.list_keys() == []
    with pytest.raises(NotFound):
        await bucket.get("2026/12/abc")
    with pytest.raises(ValueError):
        await bucket.put("../outside", b"x")  # keys are ours alone


async def test_a_photo_attached_through_the_bucket_is_read_back(bucket):
    hq = await make_org("hq", region=None)
    office = await make_org("office", parent=hq)
    actor = await actor_of(await make_user(office, ["dealer_clerk"]))
    file_id = await attachments.attach(actor=actor, subject_name=SUBJECT,
                                       subject_id=office["id"], filename="carton.jpg",
                                       data=_jpeg((300, 200)))
    row, data = await attachments.open_file(actor=actor, attachment_id=file_id)
    assert data.startswith(b"\xff\xd8\xff") and row["size_bytes"] == len(data)
    assert [k for k, _ in await bucket.list_keys()] == [row["storage_key"]]
