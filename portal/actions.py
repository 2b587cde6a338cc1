"""One pattern for every action a person takes (issue 11 §5).

- **One input model per action**, a dataclass, shared by the HTML form and its API twin: the
  API twin receives it from JSON (Litestar decodes and type-checks it), the page handler reads
  the same dataclass from the posted form with `form_input`. Field names are the form's names;
  an amount in fen (`freight_fen`) is typed in yuan in a form field without the suffix
  (`freight`), as people write money. Pass a model on with `**asdict(data)`, never
  `**vars(data)`: a dataclass decoded from JSON keeps its defaults on the class, not the instance.
- **One route per action**: `POST /things/{id}/submit`, `POST /things/{id}/sign`, ... each a
  handler of a few lines that reads its model and calls `act`.
- **One helper for "act, re-render with errors, or redirect"**: `act` runs the service call;
  when a rule refuses, the same page comes back with the message beside the field or the action
  (422/409/403 as the error says); when it worked, `done` redirects to `location` and the page
  says `success`. Not-found stays a 404 page (nothing about the record is revealed).
"""
from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import Any, TypeVar

from litestar import Request, Response

from portal.errors import PortalError, ValidationFailed
from portal.forms import int_list, str_list
from portal.i18n import gettext
from portal.money import parse_signed_yuan
from portal.validation import INT4_MAX, parse_int, text_problem

M = TypeVar("M")
# How a model's field is typed on a form; messages are msgids (translated where shown).
MESSAGES = {
    int: "Enter a whole number.",
    date: "Enter a date as YYYY-MM-DD.",
    "fen": "Enter an amount in yuan, e.g. 120.00.",
}
TEXT_LIMIT = 2000  # longer than any field a service accepts: the service says what is allowed


def _optional(hint: Any) -> tuple[Any, bool]:
    """`int | None` -> (int, True)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0], len(args) < len(typing.get_args(hint))
    return hint, False


def form_input(model: type[M], form: Mapping[str, Any]) -> M:
    """The posted form read into the action's input model. Empty fields take the model's
    default (or None where the field may be None); text keeps what the person typed, stripped;
    a value of the wrong kind is reported beside its field (ValidationFailed with every field's
    message at once), never dropped."""
    hints = typing.get_type_hints(model)
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in dataclasses.fields(model):  # type: ignore[arg-type]
        kind, optional = _optional(hints[field.name])
        is_fen = field.name.endswith("_fen") and kind is int
        name = field.name.removesuffix("_fen") if is_fen else field.name
        has_default = (field.default is not dataclasses.MISSING
                       or field.default_factory is not dataclasses.MISSING)
        if typing.get_origin(kind) is list:
            values[field.name] = (int_list(form, name) if typing.get_args(kind) == (int,)
                                  else str_list(form, name))
            continue
        if kind is bool:
            values[field.name] = str(form.get(name) or "") not in ("", "0", "false", "off")
            continue
        raw = form.get(name)
        raw = raw if isinstance(raw, str) else ""
        if problem := text_problem(raw, multiline=kind is str):
            errors[name] = problem
            continue
        raw = raw.strip()
        if kind is str:
            values[field.name] = raw[:TEXT_LIMIT]
            continue
        if not raw:
            if not (has_default or optional):
                errors[name] = "Required."
            elif optional and not has_default:
                values[field.name] = None
            continue
        value: Any
        if is_fen:
            value = parse_signed_yuan(raw)
        elif kind is int:
            value, problem = parse_int(raw, name)
            if problem or value is None or not -INT4_MAX - 1 <= value <= INT4_MAX:
                value = None
        elif kind is date:
            try:
                value = date.fromisoformat(raw)
            except ValueError:
                value = None
        else:
            raise TypeError(f"{model.__name__}.{field.name}: no form reading for {kind}")
        if value is None:
            errors[name] = MESSAGES["fen" if is_fen else kind]
        else:
            values[field.name] = value
    if errors:
        raise ValidationFailed(errors)
    return model(**values)


Page = Callable[..., Awaitable[Response]]


def kept(form: Any) -> dict[str, Any]:
    """What was typed, to show again: a field sent several times (ticked boxes) as a list."""
    values: dict[str, Any] = {}
    for key in dict(form):
        several = form.getall(key) if hasattr(form, "getall") else [form[key]]
        values[key] = several if len(several) > 1 else several[0]
    return values


async def act(request: Request, model: type[M] | Callable[[Any], M] | None,
              run: Callable[[M], Awaitable[Any]], *, page: Page,
              success: str | Callable[[Any], str] = "", location: str = "",
              respond: Callable[[Any, M], Response | Awaitable[Response]] | None = None,
              error_key: str = "action", **params: Any) -> Response:
    """Read the posted form into `model` (a dataclass, or a reader function for forms of
    repeated rows, which raises ValidationFailed) and `run` the service with it. When the form or a rule
    refuses, `page(status_code=..., errors=..., form=...)` shows the same page again with the
    message beside its field (or under `error_key`) and what was typed kept; when it worked,
    redirect to `location`, which then says `success` (a msgid with `params`, or a function of
    what `run` returned, for actions whose outcome decides the words) — or answer with
    `respond(result, data)`: a file, or a message naming what was typed."""
    from portal.web import done

    form = await request.form()
    try:
        data: Any = None
        if isinstance(model, type) and dataclasses.is_dataclass(model):
            data = form_input(model, form)
        elif model is not None:
            data = model(form)
        result = await run(data)
    except ValidationFailed as exc:
        return await page(status_code=exc.status_code, errors=exc.errors, form=kept(form))
    except PortalError as exc:
        if exc.status_code == 404:
            raise
        return await page(status_code=exc.status_code, form=kept(form),
                          errors={error_key: gettext(exc.message, **exc.params)})
    if respond is not None:
        answer = respond(result, data)
        return await answer if inspect.isawaitable(answer) else answer
    message = success(result) if callable(success) else success
    return done(request, message, location, **params)
