"""Issue 10, item 2 and the redirect part of item 4: login throttling that holds under a
concurrent burst, client IPs from forwarded headers only behind a trusted proxy, a signed-out
CSRF token an attacker cannot plant (login CSRF), and redirect targets that are same-site paths
and never break the Location header. Each test fails without its protection."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import threading
from contextlib import asynccontextmanager
from urllib.parse import unquote

import httpx
import pytest
import uvicorn
from litestar import Request
from litestar.testing import AsyncTestClient

from portal import auth
from portal.app import create_app
from portal.cli import UVICORN_OPTIONS
from portal.errors import Throttled, ValidationFailed
from portal.proxies import client_ip
from portal.redirects import safe_next
from portal.tables import LoginAttempt, UserSession
from tests.helpers import PASSWORD, client, csrf_from, make_org, make_user, test_settings

LIMIT = 5  # Settings.login_max_failures


async def _people():
    hq = await make_org("hq", region=None)
    office = await make_org("office", parent=hq, region="CN-JS")
    for name in ("clerk", "u1", "u2", "u3", "u4", "u5", "u6", "u7"):
        await make_user(office, ["dealer_clerk"], username=name)
    return office


@pytest.fixture
def verifications(monkeypatch):
    """Counts argon2 verifications: the work a guess costs, and what the throttle must bound."""
    calls: list[str] = []
    real = auth.verify_password

    def counting(password_hash: str, password: str) -> bool:
        calls.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    return calls


@asynccontextmanager
async def _served(**settings):
    """The app on a free port under uvicorn with exactly the options `portal serve` uses."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(test_settings(secure_cookies=False, **settings))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on", **UVICORN_OPTIONS))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
            for _ in range(200):
                try:
                    await c.get("/login")
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.05)
            yield c
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# --- a. one atomic decision per attempt -----------------------------------------------------------

async def test_concurrent_wrong_passwords_evaluate_at_most_the_limit(verifications):
    await _people()
    settings = test_settings()

    async def attempt(i: int):
        try:
            await auth.authenticate(settings, username="clerk", password=f"guess-{i}", ip="9.9.9.9")
        except (ValidationFailed, Throttled) as exc:
            return type(exc)
        return None

    outcomes = await asyncio.gather(*(attempt(i) for i in range(20)))
    assert len(verifications) <= LIMIT, f"{len(verifications)} guesses were evaluated"
    assert outcomes.count(ValidationFailed) == len(verifications)
    assert outcomes.count(Throttled) == 20 - len(verifications)
    assert await LoginAttempt.count() == len(verifications)


async def test_concurrent_wrong_passwords_over_http_evaluate_at_most_the_limit(verifications):
    """Through the real server (the test client runs requests one after another)."""
    await _people()
    async with _served() as c:
        token = csrf_from((await c.get("/login")).text)

        async def attempt(i: int):
            return (await c.post("/login", data={"username": "clerk", "password": f"guess-{i}",
                                                 "_csrf": token, "next": "/"})).status_code

        statuses = await asyncio.gather(*(attempt(i) for i in range(20)))
    assert len(verifications) <= LIMIT, f"{len(verifications)} guesses were evaluated"
    assert statuses.count(422) == len(verifications)
    assert statuses.count(429) == 20 - len(verifications)


async def test_unknown_user_costs_one_verification_and_counts_like_a_known_one(verifications):
    await _people()
    settings = test_settings()
    for i in range(LIMIT):
        with pytest.raises(ValidationFailed):
            await auth.authenticate(settings, username="nobody", password="x", ip=f"10.1.1.{i}")
    assert len(verifications) == LIMIT  # the dummy hash: same work as for a real user
    with pytest.raises(Throttled):
        await auth.authenticate(settings, username="nobody", password="x", ip="10.1.1.99")
    assert len(verifications) == LIMIT


async def test_a_successful_attempt_is_not_counted_as_a_failure():
    await _people()
    settings = test_settings()
    for _ in range(LIMIT - 1):
        with pytest.raises(ValidationFailed):
            await auth.authenticate(settings, username="clerk", password="wrong", ip="1.1.1.1")
    actor = await auth.authenticate(settings, username="clerk", password=PASSWORD, ip="1.1.1.1")
    assert actor.username == "clerk"
    assert await LoginAttempt.count().where(LoginAttempt.succeeded == True) == 1  # noqa: E712
    with pytest.raises(ValidationFailed):  # the fifth failure is still evaluated
        await auth.authenticate(settings, username="clerk", password="wrong", ip="1.1.1.1")
    with pytest.raises(Throttled):
        await auth.authenticate(settings, username="clerk", password=PASSWORD, ip="1.1.1.1")


# --- b. client IP: forwarded headers only from a trusted proxy -----------------------------------

def _request(peer: str, forwarded: str | None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers,
                    "client": (peer, 1234), "query_string": b"", "app": None})  # type: ignore


@pytest.mark.parametrize("peer, forwarded, trusted, expected", [
    ("203.0.113.9", "1.2.3.4", (), "203.0.113.9"),                     # nobody trusted
    ("203.0.113.9", "1.2.3.4", ("10.0.0.0/8",), "203.0.113.9"),        # peer not a proxy
    ("10.0.0.2", "1.2.3.4", ("10.0.0.0/8",), "1.2.3.4"),
    ("10.0.0.2", "6.6.6.6, 1.2.3.4", ("10.0.0.0/8",), "1.2.3.4"),     # client-sent hop ignored
    ("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.7", ("10.0.0.0/8",), "1.2.3.4"),  # proxy chain
    ("10.0.0.2", "10.0.0.8, 10.0.0.7", ("10.0.0.0/8",), "10.0.0.8"),  # all trusted: leftmost
    ("10.0.0.2", "not-an-ip", ("10.0.0.0/8",), "10.0.0.2"),           # garbage: the peer
    ("10.0.0.2", None, ("10.0.0.2",), "10.0.0.2"),
    ("::1", "2001:db8::5", ("::1",), "2001:db8::5"),
])
def test_client_ip(peer, forwarded, trusted, expected):
    assert client_ip(_request(peer, forwarded), trusted) == expected


class _Peer:
    """Puts the socket peer the test client cannot choose into the scope."""

    def __init__(self, app, peer: str):
        self.app, self.peer = app, peer

    def __getattr__(self, name):
        return getattr(self.app, name)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            scope = {**scope, "client": (self.peer, 4321)}
        await self.app(scope, receive, send)


async def _wrong_logins_from(c, spoofed: list[str]) -> list[int]:
    statuses = []
    token = csrf_from((await c.get("/login")).text)
    for i, forwarded in enumerate(spoofed):
        r = await c.post("/login", data={"username": f"u{i + 1}", "password": "wrong",
                                         "_csrf": token, "next": "/"},
                         headers={"x-forwarded-for": forwarded})
        statuses.append(r.status_code)
    return statuses


async def test_spoofed_forwarded_for_from_untrusted_peer_does_not_change_the_throttled_ip():
    await _people()
    async with client() as c:  # no trusted proxy (the default)
        statuses = await _wrong_logins_from(c, [f"198.51.100.{i}" for i in range(LIMIT + 1)])
    assert statuses == [422] * LIMIT + [429]  # one IP, whatever the header claims
    assert {r["ip"] for r in await LoginAttempt.select(LoginAttempt.ip)} == {"testclient"}


async def test_forwarded_for_from_a_trusted_proxy_is_the_client_ip():
    await _people()
    app = create_app(test_settings(trusted_proxies=("10.0.0.0/8",)))
    async with AsyncTestClient(app=_Peer(app, "10.0.0.2"), base_url="https://portal.test") as c:
        c.follow_redirects = False
        statuses = await _wrong_logins_from(c, [f"198.51.100.{i}" for i in range(LIMIT + 1)])
    assert statuses == [422] * (LIMIT + 1)  # six clients, one failure each
    assert {r["ip"] for r in await LoginAttempt.select(LoginAttempt.ip)} == {
        f"198.51.100.{i}" for i in range(LIMIT + 1)}


@pytest.mark.parametrize("trusted, throttled", [((), True), (("127.0.0.1",), False)])
async def test_served_portal_believes_forwarded_for_only_from_a_trusted_peer(trusted, throttled):
    """Through the real server: uvicorn's own proxy_headers believes X-Forwarded-For from
    127.0.0.1 by default, so any local process (or a proxy nobody configured) could pick the IP."""
    await _people()
    async with _served(**({"trusted_proxies": trusted} if trusted else {})) as c:
        statuses = await _wrong_logins_from(c, [f"198.51.100.{i}" for i in range(LIMIT + 1)])
    assert statuses == [422] * LIMIT + ([429] if throttled else [422])


def test_trusted_proxies_setting_is_validated(monkeypatch):
    from portal.settings import Settings

    monkeypatch.setenv("PORTAL_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16")
    assert Settings.from_env().trusted_proxies == ("10.0.0.1", "192.168.0.0/16")
    monkeypatch.setenv("PORTAL_TRUSTED_PROXIES", "10.0.0.1,proxy.example")
    with pytest.raises(ValueError):
        Settings.from_env()


# --- c. a signed-out CSRF token an attacker cannot plant ------------------------------------------

async def _login_with(c, *, cookie: tuple[str, str] | None, token: str, headers=None):
    if cookie:
        c.cookies.set(cookie[0], cookie[1], domain="portal.test")
    return await c.post("/login", data={"username": "clerk", "password": PASSWORD,
                                        "_csrf": token, "next": "/"}, headers=headers or {})


@pytest.mark.parametrize("name", ["portal_csrf", "__Host-portal_csrf"])
async def test_planted_random_cookie_and_token_are_refused(name):
    await _people()
    async with client() as c:
        r = await _login_with(c, cookie=(name, "attacker-nonce"), token="attacker-nonce")
        assert r.status_code == 403
    assert await UserSession.count() == 0


async def test_pair_signed_with_another_key_is_refused():
    await _people()
    forged = hmac.new(b"not-the-portal-key", b"anon-csrf:attacker-nonce",
                      hashlib.sha256).hexdigest()
    async with client() as c:
        r = await _login_with(c, cookie=("__Host-portal_csrf", "attacker-nonce"), token=forged)
        assert r.status_code == 403
    assert await UserSession.count() == 0


async def test_plain_cookie_name_is_not_read_when_cookies_are_secure():
    """A sibling subdomain or a plain-http attacker can set `portal_csrf`, never `__Host-…`."""
    await _people()
    async with client() as attacker:
        page = await attacker.get("/login")
        nonce = page.cookies.get("__Host-portal_csrf")
        token = csrf_from(page.text)
    assert nonce
    async with client() as victim:
        r = await _login_with(victim, cookie=("portal_csrf", nonce), token=token)
        assert r.status_code == 403
    assert await UserSession.count() == 0


@pytest.mark.parametrize("headers", [
    {"origin": "https://evil.example"},
    {"origin": "null"},
    {"origin": "http://portal.test"},  # plain http when the portal is https-only
    {"referer": "https://evil.example/login"},
    {"origin": "https://portal.test.evil.example"},
])
async def test_cross_origin_signed_out_posts_are_refused(headers):
    await _people()
    async with client() as c:
        token = csrf_from((await c.get("/login")).text)
        r = await _login_with(c, cookie=None, token=token, headers=headers)
        assert r.status_code == 403
        lang = await c.post("/lang", data={"locale": "en", "_csrf": token, "next": "/"},
                            headers=headers)
        assert lang.status_code == 403
    assert await UserSession.count() == 0


@pytest.mark.parametrize("secure", [True, False])
@pytest.mark.parametrize("headers", [{}, {"origin": "https://portal.test"},
                                     {"referer": "https://portal.test/login?next=/"}])
async def test_normal_signed_out_flow_works(secure, headers):
    await _people()
    async with client(secure_cookies=secure) as c:
        page = await c.get("/login")
        name = "__Host-portal_csrf" if secure else "portal_csrf"
        set_cookie = [v for k, v in page.headers.multi_items()
                      if k == "set-cookie" and v.startswith(name + "=")]
        assert set_cookie and ("secure" in set_cookie[0].lower()) is secure
        assert "httponly" in set_cookie[0].lower() and "path=/" in set_cookie[0].lower()
        token = csrf_from(page.text)
        assert token != page.cookies.get(name)  # the form carries the HMAC, not the nonce
        lang = await c.post("/lang", data={"locale": "en", "_csrf": token, "next": "/login"},
                            headers=headers)
        assert lang.status_code == 303
        r = await _login_with(c, cookie=None, token=token, headers=headers)
        assert r.status_code == 303, r.text
        cleared = [v for k, v in r.headers.multi_items()
                   if k == "set-cookie" and v.startswith(name + "=")]
        assert cleared and "max-age=0" in cleared[0].lower()
    assert await UserSession.count() == 1


# --- d. redirect targets ------------------------------------------------------------------------

@pytest.mark.parametrize("target, expected", [
    ("/batches/3", "/batches/3"),
    ("/statements?month=2026-11&page=2", "/statements?month=2026-11&page=2"),
    ("/批次", "/%E6%89%B9%E6%AC%A1"),
    ("/%E6%89%B9", "/%E6%89%B9"),
    ("/statements?x=批", "/statements?x=%E6%89%B9"),
    ("//evil.example", "/"),
    ("/\\evil.example", "/"),
    ("/\t/evil.example", "/"),
    ("/\n/evil.example", "/"),
    ("http://x", "/"),
    ("https://evil.example/", "/"),
    ("javascript:alert(1)", "/"),
    ("", "/"),
    (None, "/"),
    ("/a b", "/"),
    ("/x\x00", "/"),
    ("/\u3000/evil", "/%E3%80%80/evil"),  # encoded, so no browser reads it as a host
])
def test_safe_next(target, expected):
    assert safe_next(target) == expected
    assert safe_next(target).encode("ascii")


@pytest.mark.parametrize("path, inner", [
    ("/history/catalog/批次/1", "/history/catalog/%E6%89%B9%E6%AC%A1/1"),
    ("/statements?x=批", "/statements?x=%E6%89%B9"),
    ("/statements?month=2026-11&status=approved", "/statements?month=2026-11&status=approved"),
])
async def test_signed_out_non_latin1_paths_redirect_to_login(path, inner):
    async with client() as c:
        r = await c.get(path)
        assert r.status_code == 303
        location = r.headers["location"]
        assert location.startswith("/login?next=") and location.isascii()
        assert unquote(location.removeprefix("/login?next=")) == inner
        page = await c.get(location)  # the login form carries it back, still encoded
        assert page.status_code == 200 and f'name="next" value="{inner}"' in page.text.replace(
            "&amp;", "&")
        htmx = await c.get(path, headers={"HX-Request": "true"})
        assert htmx.status_code == 401 and htmx.headers["hx-redirect"] == location


@pytest.mark.parametrize("target, expected", [
    ("/批次", "/%E6%89%B9%E6%AC%A1"),
    ("//evil.example", "/"),
    ("/\\evil.example", "/"),
    ("/\t/evil.example", "/"),
    ("http://x", "/"),
])
async def test_login_and_language_next_are_safe(target, expected):
    await _people()
    async with client() as c:
        token = csrf_from((await c.get("/login")).text)
        lang = await c.post("/lang", data={"locale": "en", "_csrf": token, "next": target})
        assert lang.status_code == 303 and lang.headers["location"] == expected
        r = await c.post("/login", data={"username": "clerk", "password": PASSWORD,
                                         "_csrf": token, "next": target})
        assert r.status_code == 303 and r.headers["location"] == expected
