"""Issue 12 §1: every page fits a phone. Each demo user walks, in real Chromium at 360 px wide,
breadth-first from the home page over every same-site link (a few pages per route pattern, as
tests/portal/test_page_crawl.py discovers them) and on each page nothing is wider than the
screen: document.documentElement.scrollWidth <= innerWidth (a wide table scrolling inside its
own box is not page overflow). The navigation is collapsed behind the menu button, which is a
tap target of at least 44 px, and number fields bring up the numeric keypad."""
from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from urllib.parse import urlsplit

from portal import clock
from portal.cli import _load_demo
from tests.browser.live import browser_page, live_portal, sign_in
from tests.portal.test_page_crawl import USERS, _pattern, _same_site

WHEN = datetime(2026, 12, 10, 10, 0, tzinfo=clock.CHINA)
PER_PATTERN = 2   # pages per route pattern and user
MAX_PAGES = 45    # per user, a safety bound
# elements wider than the screen, outermost first (what overflows, for the failure message)
WIDE = """() => { const w = window.innerWidth; const out = [];
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (r.right > w + 1 && !e.closest('.table-scroll, table, pre') ) {
      out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
               (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '') +
               ' ' + Math.round(r.right)); }
    if (out.length > 4) break; }
  return out; }"""
SMALL_TAPS = """() => Array.from(document.querySelectorAll(
    'main button:not([disabled]), main .button, header summary, main input[type=submit]'))
  .filter(e => e.offsetParent !== null)
  .map(e => [e.id || e.textContent.trim().slice(0, 20), e.getBoundingClientRect().height])
  .filter(([_, h]) => h < 44)"""
NUMBER_FIELDS = """() => Array.from(document.querySelectorAll(
    'input[type=number], input[name$=qty], input[name^=received_], input[name*=quantity]'))
  .filter(e => e.type !== 'hidden' && e.getAttribute('inputmode') !== 'numeric'
          && e.getAttribute('inputmode') !== 'decimal')
  .map(e => e.name)"""


async def test_every_page_fits_a_360_px_phone():
    with clock.frozen(WHEN):
        await _load_demo()
        async with live_portal() as base, browser_page() as page:
            await page.set_viewport_size({"width": 360, "height": 740})
            problems: list[str] = []
            total = 0
            for username in USERS:
                await page.context.clear_cookies()
                await sign_in(page, base, username, "demo-pass-2026")
                fetched: Counter[str] = Counter()
                queue, queued, pages = ["/"], {"/"}, 0
                while queue and pages < MAX_PAGES:
                    url = queue.pop(0)
                    pattern = _pattern(urlsplit(url).path)
                    if fetched[pattern] >= PER_PATTERN:
                        continue
                    fetched[pattern] += 1
                    response = await page.goto(base + url)
                    if response is None or response.status != 200 or \
                            "text/html" not in (response.headers.get("content-type") or ""):
                        continue
                    if urlsplit(page.url).path == "/login":
                        continue
                    pages += 1
                    width = await page.evaluate("document.documentElement.scrollWidth")
                    inner = await page.evaluate("window.innerWidth")
                    if width > inner:
                        problems.append(f"{username} {url}: {width} px wide "
                                        f"{await page.evaluate(WIDE)}")
                    if pattern == "/":  # the navigation: collapsed, behind a big enough button
                        assert not await page.is_visible("nav.main-nav"), username
                        summary = await page.query_selector("details.nav-menu summary")
                        assert summary is not None, username
                        box = await summary.bounding_box()
                        assert box and box["height"] >= 44, (username, box)
                    for name, height in await page.evaluate(SMALL_TAPS):
                        problems.append(f"{username} {url}: tap target {name!r} {height:.0f} px")
                    for name in await page.evaluate(NUMBER_FIELDS):
                        problems.append(f"{username} {url}: {name} has no numeric keypad")
                    for href in await page.eval_on_selector_all(
                            "a[href]", "els => els.map(e => e.getAttribute('href'))"):
                        target = _same_site(href)
                        if target and target not in queued and not re.search(
                                r"\.(csv|xlsx|pdf|png|jpg)$|/export|/download", target):
                            queued.add(target)
                            queue.append(target)
                total += pages
                assert pages >= 3, (username, pages)
            print(f"\n{total} pages at 360 px for {len(USERS)} users")
            assert problems == [], f"{len(problems)} problems:\n" + "\n".join(
                dict.fromkeys(problems))
            assert page.console_errors == []  # type: ignore[attr-defined]
