"""Reading form fields without trusting them: every parse returns a value or an error message."""
from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request


async def read_form(request: Request) -> Any:
    return await request.form()


def text(form: Any, name: str, limit: int = 500) -> str:
    value = form.get(name) or ""
    return str(value).strip()[:limit] if isinstance(value, str) else ""


def integer(form: Any, name: str, errors: dict[str, str], *, required: bool = True,
            low: int = 0, high: int = 2**31 - 1) -> int | None:
    raw = text(form, name, 40)
    if not raw:
        if required:
            errors[name] = "Required."
        return None
    try:
        value = int(raw)
    except ValueError:
        errors[name] = "Enter a whole number."
        return None
    if not low <= value <= high:
        errors[name] = "Out of range."
        return None
    return value


def iso_date(form: Any, name: str, errors: dict[str, str]) -> date | None:
    raw = text(form, name, 20)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = "Enter a date as YYYY-MM-DD."
        return None


def _all(form: Any, name: str) -> list:
    # Litestar's getall raises KeyError for a missing key; no checked box is an empty list.
    try:
        return list(form.getall(name))
    except KeyError:
        return []


def int_list(form: Any, name: str) -> list[int]:
    values = _all(form, name)
    out = []
    for value in values:
        try:
            out.append(int(value))
        except (TypeError, ValueError):
            continue
    return out


def str_list(form: Any, name: str) -> list[str]:
    return [str(v) for v in _all(form, name)]


def query_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    try:
        return int(raw) if raw else None
    except ValueError:
        return None
