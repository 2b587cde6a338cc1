"""A live portal on a free 127.0.0.1 port (uvicorn in a thread, same process, so the tests'
frozen clock and database apply) and real Chromium driven by Playwright's async API."""
from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
from contextlib import asynccontextmanager

import httpx
import uvicorn
from playwright.async_api import async_playwright

from portal.app import create_app
from tests.helpers import PASSWORD, test_settings

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def live_portal(extra_handlers=(), **settings):
    """Yields the base URL. http on 127.0.0.1 cannot carry Secure cookies, hence the setting."""
    port = _free_port()
    app = create_app(test_settings(secure_cookies=False, base_url=f"http://127.0.0.1:{port}",
                                   **settings), extra_handlers=extra_handlers)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    async with httpx.AsyncClient() as probe:
        while True:
            try:
                await probe.get(base + "/login")
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@asynccontextmanager
async def browser_page():
    """A fresh Chromium page that records console errors (CSP violations land there)."""
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is required (./dev test installs it)"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, headless=True,
                                          args=CHROMIUM_ARGS)
        context = await browser.new_context(locale="zh-CN")
        page = await context.new_page()
        page.console_errors = []  # type: ignore[attr-defined]
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
        try:
            yield page
        finally:
            await browser.close()


async def sign_in(page, base: str, username: str, password: str = PASSWORD) -> None:
    await page.goto(base + "/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("#login-submit")
    await page.wait_for_load_state("networkidle")


async def sign_out(page) -> None:
    await page.click("#logout")
    await page.wait_for_load_state("networkidle")
