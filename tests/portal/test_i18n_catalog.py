"""zh-CN (default) and English: the catalog is complete, placeholders survive translation, and
the pages follow the user's language."""
import re
import sys
from pathlib import Path

import pytest

from portal import i18n
from tests.helpers import client, csrf_from, login, make_org, make_user

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import catalog  # noqa: E402

PLACEHOLDER = re.compile(r"%\(\w+\)s|%%")


def test_every_message_has_a_chinese_translation():
    assert catalog.missing() == []


def test_translations_keep_their_placeholders():
    zh = catalog.load("zh_CN")
    broken = [m.id for m in zh if m.id and m.string
              and sorted(PLACEHOLDER.findall(m.id)) != sorted(PLACEHOLDER.findall(m.string))]
    assert broken == []


def test_translate_picks_the_language():
    assert i18n.translate("Not found.", "zh_CN") == "未找到。"
    assert i18n.translate("Not found.", "en") == "Not found."
    assert i18n.translate("Week %(week)s", "zh_CN", week=2) == "第 2 周"


@pytest.mark.parametrize("header, expected", [
    ("en-US,en;q=0.9", "en"), ("zh-CN,zh;q=0.9", "zh_CN"), ("fr-FR", "zh_CN"), (None, "zh_CN")])
def test_locale_from_accept_language(header, expected):
    assert i18n.pick_locale(None, None, header) == expected


def test_money_in_yuan_with_fen():
    token = i18n.current_locale.set("zh_CN")
    try:
        assert i18n.money(123456) == "¥1,234.56"
    finally:
        i18n.current_locale.reset(token)


async def test_pages_follow_the_users_language_and_switch():
    hq = await make_org("hq", region=None)
    office = await make_org("office", parent=hq, region="CN-JS")
    await make_user(office, ["dealer_clerk"], username="clerk")
    async with client() as c:
        token = await login(c, "clerk")
        zh = await c.get("/")
        assert '<html lang="zh-CN">' in zh.text and "您的返厂窗口" in zh.text
        r = await c.post("/lang", data={"locale": "en", "_csrf": token, "next": "/"})
        assert r.status_code == 303
        en = await c.get("/")
        assert '<html lang="en">' in en.text and "Your return window" in en.text
    async with client() as again:  # the choice is kept per user
        await login(again, "clerk")
        assert "Your return window" in (await again.get("/")).text


async def test_signed_out_pages_follow_browser_then_cookie():
    async with client() as c:
        page = await c.get("/login", headers={"Accept-Language": "en-GB"})
        assert "Sign in" in page.text
        r = await c.post("/lang", data={"locale": "zh_CN", "_csrf": csrf_from(page.text),
                                        "next": "/login"})
        assert r.status_code == 303
        assert "登录" in (await c.get("/login", headers={"Accept-Language": "en-GB"})).text


def test_status_parameters_are_translated_too():
    text = i18n.translate("This batch is %(status)s; the action is not possible now.", "zh_CN",
                          status="submitted")
    assert "已提交" in text and "submitted" not in text
