"""A spares change in one statement (issue 17 §5): the record, its stock movements and its audit
row are written together by data-modifying CTEs, in the transaction `@transactional` opened.

PostgreSQL runs every sub-statement of a WITH exactly once, whether or not the main query reads
it, with the same guarantees as separate statements: the balance trigger still refuses the whole
statement when a balance would go negative (R23), and the audit row (R20) exists exactly when
the change does."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import asyncpg

from portal import audit
from portal.errors import RuleViolation


class Params:
    """Bind parameters collected while a statement is written: `p(value)` appends the value and
    returns its placeholder (`$3`), so numbers never drift. `values` is the list `scope_sql`
    appends to as well."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any, cast: str = "") -> str:
        self.values.append(value)
        return f"${len(self.values)}{'::' + cast if cast else ''}"


MOVEMENT_COLUMNS = "location, spare_part, condition, quantity, kind, reference, actor, at"


def movements(p: Params, moves: list[tuple[int, int, str, int]], *, kind: str,
              reference_sql: str, actor_id: int | None, at: Any, source: str = "") -> str:
    """INSERT of the movements (location, part, condition, signed quantity); `reference_sql` is
    an SQL expression (over `source`, a CTE of the same statement, when given)."""
    columns = (p([m[0] for m in moves], "int[]"), p([m[1] for m in moves], "int[]"),
               p([m[2] for m in moves], "text[]"), p([m[3] for m in moves], "int[]"))
    return (f"INSERT INTO stock_movement ({MOVEMENT_COLUMNS}) SELECT t.l, t.p, t.c, t.q, "
            f"{p(kind, 'text')}, {reference_sql}, {p(actor_id, 'int')}, {p(at, 'timestamptz')} "
            f"FROM {source + ', ' if source else ''}unnest({', '.join(columns)}) AS t(l, p, c, q)")


_AUDIT_CASTS = ("timestamptz", "int", "int", "text", "", "text", "jsonb", "jsonb", "text", "text")


def audit_row(p: Params, *, source: str, object_id_sql: str, **fields: Any) -> str:
    """INSERT of one audit row (`portal.audit.entry`'s values) for each row of `source`, whose
    object id is `object_id_sql`: the record inserted earlier in the same statement."""
    values = audit.entry(object_id="", **fields)
    select = [object_id_sql if i == 4 else p(v, cast) for i, (v, cast)
              in enumerate(zip(values, _AUDIT_CASTS, strict=True))]
    return f"INSERT INTO audit_entry ({audit.COLUMNS}) SELECT {', '.join(select)} FROM {source}"


@contextlib.contextmanager
def enough_stock() -> Iterator[None]:
    """R23: the balance trigger refused a movement (a balance would go negative): say so."""
    try:
        yield
    except asyncpg.exceptions.CheckViolationError as exc:
        raise RuleViolation("Not enough parts in stock (R23).") from exc
