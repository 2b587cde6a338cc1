"""Every page a demo user can reach from the navigation and one click further answers without a
server error, in both languages (catches template errors on pages no other test opens)."""
import re

import pytest

from portal.cli import _load_demo
from tests.helpers import client, csrf_from

USERS = ["js.clerk", "js.manager", "jl.clerk", "js.repair", "js.store1", "rm.east", "hq.admin",
         "hq.cs", "hq.logistics", "hq.tech", "hq.finance", "auditor"]
LINK = re.compile(r'href="(/[^"#?]*)(?:\?[^"]*)?"')
SKIP = ("/static/", "/logout", "/batches/import-template.csv")


async def _login(c, username: str) -> None:
    page = await c.get("/login")
    r = await c.post("/login", data={"username": username, "password": "demo-pass-2026",
                                     "_csrf": csrf_from(page.text), "next": "/"})
    assert r.status_code == 303, username


@pytest.mark.parametrize("username", USERS)
async def test_every_reachable_page_renders(username):
    await _load_demo()
    async with client() as c:
        await _login(c, username)
        seen: set[str] = set()
        queue = ["/"]
        broken = []
        while queue and len(seen) < 60:
            path = queue.pop(0)
            if path in seen or path.startswith(SKIP):
                continue
            seen.add(path)
            for lang in ("zh-CN", "en"):
                r = await c.get(path, headers={"Accept-Language": lang})
                if r.status_code >= 500 or r.status_code not in (200, 303, 403, 404, 409):
                    broken.append(f"{path} {lang}: {r.status_code}")
            if r.status_code == 200 and "text/html" in r.headers.get("content-type", ""):
                queue += [m for m in LINK.findall(r.text) if m not in seen]
        assert broken == [], broken
        assert len(seen) >= 5
