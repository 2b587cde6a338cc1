"""Queries per request of every page in each demo user's navigation (issue 17 §1: "the number
of queries per request stated in the README for every page"). Loads the demo, signs each user
in through the form, and requests their home and each page their navigation links to twice:
the second request is counted (`portal.db.count_queries`), as a returning user's would be, with
who is asking remembered by the process. Prints a Markdown table: page, then the queries it
made for each user who can open it.
Run: .venv/bin/python bench/page_queries.py"""
from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import run, start_database  # noqa: E402

start_database()

import httpx  # noqa: E402

from portal import db  # noqa: E402

USERS = ["js.clerk", "js.manager", "js.repair", "js.store1", "rm.east", "hq.admin", "hq.cs",
         "hq.logistics", "hq.tech", "hq.finance", "hq.vp"]
LINK = re.compile(r'<nav[^>]*>(.*?)</nav>', re.IGNORECASE | re.DOTALL)
HREF = re.compile(r'href="(/[^"#]*)"')


async def main() -> None:
    from portal.app import create_app
    from portal.cli import _load_demo

    await _load_demo()
    app = create_app()
    found: dict[str, dict[str, int]] = {}
    async with app.lifespan():
        for username in USERS:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="https://bench") as c:
                page = await c.get("/login")
                token = re.search(r'name="_csrf" value="([^"]+)"', page.text)
                assert token, "no sign-in form"
                signed = await c.post("/login", data={
                    "username": username, "password": "demo-pass-2026", "_csrf": token.group(1),
                    "next": "/"})
                if signed.status_code != 303:
                    print(f"{username}: not a demo user here, skipped", file=sys.stderr)
                    continue
                home = await c.get("/")
                paths = ["/"] + [href for block in LINK.findall(home.text)
                                 for href in HREF.findall(block)
                                 if not href.startswith(("/static/", "/logout"))]
                for path in dict.fromkeys(paths):
                    await c.get(path)  # first: templates compiled, keep-alive written
                    with db.count_queries() as counted:
                        answer = await c.get(path)
                    if answer.status_code == 200:
                        found.setdefault(path, {})[username] = counted.count
    print("| page | queries per request, by demo user |\n|---|---|")
    for path, by_user in sorted(found.items()):
        print(f"| `{path}` | " + ", ".join(f"{user} {n}" for user, n in by_user.items()) + " |")


if __name__ == "__main__":
    run(main)
