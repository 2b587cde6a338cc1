"""Reading form fields without trusting them: every parse returns a value or an error message.
Text and integers obey the same validation edge as the API (portal/validation.py)."""
from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request

from portal.errors import ValidationFailed
from portal.validation import CONTROL_MESSAGE, INT4_MAX, parse_int, text_problem


async def read_form(request: Request) -> Any:
    return await request.form()


def text(form: Any, name: str, limit: int = 500, *, multiline: bool = True) -> str:
    """The field's text, stripped and cut to `limit`. Control characters (NUL, ...; also tab
    and line breaks when not `multiline`) are refused: ValidationFailed naming the field."""
    value = form.get(name) or ""
    if not isinstance(value, str):
        return ""
    if problem := text_problem(value, multiline=multiline):
        raise ValidationFailed({name: problem})
    return value.strip()[:limit]


def integer(form: Any, name: str, errors: dict[str, str], *, required: bool = True,
            low: int = 0, high: int = INT4_MAX) -> int | None:
    try:
        raw = text(form, name, 40)
    except ValidationFailed:
        errors[name] = "Enter a whole number."
        return None
    if not raw:
        if required:
            errors[name] = "Required."
        return None
    value, problem = parse_int(raw, name)
    if problem == "Enter a whole number.":
        errors[name] = problem
        return None
    if value is None or not low <= value <= high:
        errors[name] = "Out of range."
        return None
    return value


def iso_date(form: Any, name: str, errors: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat(text(form, name, 20))
    except (ValueError, ValidationFailed):
        errors[name] = "Enter a date as YYYY-MM-DD."
        return None


def _all(form: Any, name: str) -> list:
    # Litestar's getall raises KeyError for a missing key; no checked box is an empty list.
    try:
        return list(form.getall(name))
    except KeyError:
        return []


def int_list(form: Any, name: str) -> list[int]:
    """Every value as an integer (ids: int4); one that is not is refused, never dropped."""
    out = []
    for value in _all(form, name):
        number, problem = parse_int(str(value), name)
        if number is None:
            raise ValidationFailed({name: problem or "Enter a whole number."})
        out.append(number)
    return out


def str_list(form: Any, name: str) -> list[str]:
    values = [str(v) for v in _all(form, name)]
    if any(text_problem(v, multiline=False) for v in values):
        raise ValidationFailed({name: CONTROL_MESSAGE})
    return values


def query_int(request: Request, name: str) -> int | None:
    """An optional integer in the query string (a filter, a keyset cursor): absent is None;
    malformed or beyond int4 is refused (422 naming it), never silently dropped."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    value, problem = parse_int(raw, name)
    if problem:
        raise ValidationFailed({name: problem})
    return value
