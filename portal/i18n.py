"""zh-CN (default) and English through Babel catalogs. msgids are English; the zh_CN catalog
translates them. Catalogs are read from the .po files at start-up (no compile step to forget)."""
from __future__ import annotations

import io
import re
from contextvars import ContextVar
from functools import cache, lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from portal.money import format_fen

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)

# A rule's id cited in a message ("… (R26).", "…（R13）。"): messages keep it, so grep finds the
# rule from the text and the text from the rule, but nobody reads it (issue 9 §6).
RULE_CITATION = re.compile(r"\s?[(（]R\d{1,2}[a-z]?(?:\s*(?:[,，、/–-]|and|or)\s*R?\d{1,2}[a-z]?)*[)）]")

# Codes that templates translate as they are (statuses, kinds, roles, queues) are not English:
# when the catalog has nothing better, English readers get these words (Chinese readers get the
# zh catalog's). Not a *_LABELS dict on purpose: these are not msgids.
ENGLISH_FOR_CODE = {
    "hq": "head office", "office": "office", "agent": "logistics agent", "store": "franchise store",
    "subdistributor": "sub-distributor", "repair_point": "repair point",
    "dealer_clerk": "dealer clerk", "manager": "manager", "repair_staff": "repair-point staff",
    "hq_cs": "HQ customer service", "hq_logistics": "HQ logistics", "hq_tech": "HQ tech",
    "hq_finance": "HQ finance", "hq_admin": "HQ administrator", "auditor": "auditor",
    "vice_president": "marketing vice-president",
    "in_transit": "in transit", "to_sign": "to sign", "to_approve": "to approve",
    "to_receive": "to receive", "to_dispatch": "to dispatch", "to_decide": "to decide", "to_verify": "to verify",
    "to_read": "receipts to read",
    "second_approval": "awaiting second approval", "receipt_ready": "receipt ready",
    "count_difference": "count difference",
    # return-batch statuses whose code is not the word a clerk uses
    "dispositioned": "decided", "received": "counted", "dispatched": "in transit",
}


def plain(text: str) -> str:
    """What a reader sees of a message: without the rule ids it cites."""
    return RULE_CITATION.sub("", text) if "R" in text else text


@cache
def translations(locale: str) -> NullTranslations:
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


@lru_cache(maxsize=8192)
def translated(locale: str, message: str) -> str:
    """A message as the reader of `locale` sees it. Kept: a page asks for a hundred or more,
    and the catalogs do not change while the server runs (they are read at start-up)."""
    return plain(_word(translations(locale), message))


def gettext(message: str, **params: object) -> str:
    locale = current_locale.get()
    text = translated(locale, message)
    if isinstance(params.get("status"), str):
        # Status codes travel as parameters ("This batch is %(status)s"): say them in the
        # reader's language too.
        params["status"] = _word(translations(locale), params["status"])  # type: ignore[arg-type]
    return text % params if params else text


def _word(catalog: NullTranslations, message: str) -> str:
    text = catalog.gettext(message)
    return ENGLISH_FOR_CODE.get(message, text) if text == message else text


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    text = plain(translations(current_locale.get()).ngettext(singular, plural, n))
    params.setdefault("num", n)
    return text % params


def translate(message: str, locale: str, **params: object) -> str:
    token = current_locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    try:
        return gettext(message, **params)
    finally:
        current_locale.reset(token)


def pick_locale(user_locale: str | None, cookie: str | None, accept_language: str | None) -> str:
    """User setting first, then the language cookie, then the browser's; zh_CN otherwise."""
    for candidate in (user_locale, cookie):
        if candidate in LOCALES:
            return candidate
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LOCALE


def html_lang(locale: str) -> str:
    return locale.replace("_", "-")  # Babel writes zh_CN, HTML wants zh-CN


def money(amount_fen: int | None) -> str:
    if amount_fen is None:
        return ""
    return format_fen(amount_fen, current_locale.get())


def local_name(row: dict, base: str = "name") -> str:
    """Pick `name_zh`/`name_en` (or `name`/`name_en`) for the current language."""
    if current_locale.get() == "en":
        return row.get(f"{base}_en") or row.get(f"{base}_zh") or row.get(base) or ""
    return row.get(f"{base}_zh") or row.get(base) or row.get(f"{base}_en") or ""
