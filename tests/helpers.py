"""make_x(**overrides) helpers and a signed-in test client. Plain functions, no factory framework."""
from __future__ import annotations

import re
from contextlib import asynccontextmanager
from typing import Any

from litestar.testing import AsyncTestClient

from portal import auth, clock
from portal.actor import Actor
from portal.app import create_app
from portal.settings import Settings
from portal.tables import ManagerCoverage, Organisation, Region, User

PASSWORD = "correct-horse-battery"
_password_hash: list[str] = []


def test_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"db_pool": False, "secure_cookies": True, "debug": False,
                              # the suite builds hundreds of apps in one process: a frozen heap
                              # would keep each one's garbage
                              "gc_tuned": False}
    values.update(overrides)
    return Settings.from_env(**values)


async def region_id(code: str) -> int:
    return (await Region.select(Region.id).where(Region.code == code).first())["id"]


async def make_org(kind: str = "office", parent: dict | None = None, region: str | None = "CN-JS",
                   name: str | None = None, **overrides: Any) -> dict:
    """An organisation with its path; head office when kind == 'hq'."""
    if kind != "hq" and parent is None:
        parent = await make_org("hq", region=None)
    org = Organisation(name=name or f"{kind}-{clock.now().timestamp()}", name_en=name or kind,
                       kind=kind, parent=parent["id"] if parent else None,
                       region=await region_id(region) if region else None,
                       created_at=clock.now(), **overrides)
    await Organisation.insert(org)
    path = f"{parent['path'] if parent else ''}{org.id}."
    await Organisation.update({Organisation.path: path}).where(Organisation.id == org.id)
    return {"id": org.id, "path": path, "kind": kind, "parent": parent["id"] if parent else None}


async def make_user(org: dict, roles: list[str] | None = None, username: str | None = None,
                    covers: list[dict] | None = None, **overrides: Any) -> dict:
    if not _password_hash:
        _password_hash.append(auth.hash_password(PASSWORD))
    count = await User.count()
    user = User(username=username or f"user{count + 1}", display_name=username or f"User {count + 1}",
                email=overrides.pop("email", f"user{count + 1}@example.test"),
                password_hash=_password_hash[0], organisation=org["id"],
                roles=roles or ["dealer_clerk"], created_at=clock.now(), **overrides)
    await User.insert(user)
    for office in covers or []:
        await ManagerCoverage.insert(ManagerCoverage(user=user.id, organisation=office["id"]))
    return {"id": user.id, "username": user.username, "org": org}


async def actor_of(user: dict) -> Actor:
    actor = await auth.load_actor(user["id"])
    assert actor is not None
    return actor


def csrf_from(html: str) -> str:
    match = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


@asynccontextmanager
async def client(extra_handlers: tuple = (), **settings_overrides: Any):
    app = create_app(test_settings(**settings_overrides), extra_handlers=extra_handlers)
    async with AsyncTestClient(app=app, base_url="https://portal.test") as c:
        c.follow_redirects = False
        yield c


async def login(c: AsyncTestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the real form; returns the session's CSRF token."""
    page = await c.get("/login")
    response = await c.post("/login", data={"username": username, "password": password,
                                            "_csrf": csrf_from(page.text), "next": "/"})
    assert response.status_code == 303, response.text
    home = await c.get("/")
    return csrf_from(home.text)


async def api_token(user: dict) -> str:
    return await auth.create_api_token(actor=await actor_of(user), name="test")
test_settings.__test__ = False  # a helper, not a test, for pytest
