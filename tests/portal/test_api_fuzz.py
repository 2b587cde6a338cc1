"""Issue 10 §7: a bounded schemathesis run inside the suite. The app's own OpenAPI document
drives it against a live portal (uvicorn on a free port, the demo network loaded) as a clerk,
customer service, finance and the HQ administrator; every operation gets a fixed number of
schema-conforming and schema-violating cases from a fixed seed. Any 5xx, any status the
document does not list, any body that does not match its schema, and any value the database
had to refuse behind the validation edge (portal.failures.data_refused) fails the test.

PORTAL_FUZZ_EXAMPLES (default 6) sets the cases per operation, role and mode."""
from __future__ import annotations

import logging
import os
import re
import time
from collections import Counter
from datetime import datetime

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portal import auth, clock
from portal.cli import _load_demo
from portal.db import raw_fetch
from tests.browser.live import live_portal

EXAMPLES = int(os.environ.get("PORTAL_FUZZ_EXAMPLES", "6"))
ROLES = ("js.clerk", "hq.cs", "hq.finance", "hq.admin")
UNAVAILABLE: list[str] = []  # documented 503s: payment operations, Stripe not configured here


def no_server_error(ctx, response, case) -> None:
    """Any 5xx fails, except the 503 a payment operation documents (Stripe is not configured
    in this run, so those answer "record a bank transfer instead")."""
    if response.status_code < 500:
        return
    if response.status_code == 503 and "503" in case.operation.definition.raw["responses"]:
        UNAVAILABLE.append(case.operation.label)
        return
    raise AssertionError(f"{response.status_code} from {case.operation.label}: "
                         f"{response.text[:300]}")


CHECKS = [no_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
DAY = datetime(2026, 12, 10, 10, 0, tzinfo=clock.CHINA)  # inside Jiangsu's return week


class _Gaps(logging.Handler):
    """Records what the database refused behind the edge (each one is a validation gap)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage())


async def _tokens() -> dict[str, str]:
    tokens = {}
    for username in ROLES:
        row = (await raw_fetch("SELECT id FROM portal_user WHERE username = $1", username))[0]
        actor = await auth.load_actor(row["id"])
        tokens[username] = await auth.create_api_token(actor=actor, name="fuzz")
    return tokens


def _fuzz(operation, mode: GenerationMode, base: str, token: str, session) -> int:
    """Run one operation in one mode as one role; return the number of cases sent."""
    sent = [0]

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
              report_multiple_bugs=False)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        sent[0] += 1
        response = case.call(base_url=base, session=session, timeout=30,
                             headers={"Authorization": f"Bearer {token}",
                                      "Accept-Language": "en"})
        case.validate_response(response, checks=CHECKS)

    run()
    return sent[0]


async def test_api_fuzz_finds_no_5xx_and_no_schema_violation():
    started = time.monotonic()
    with clock.frozen(DAY):
        await _load_demo()
        tokens = await _tokens()
    gaps = _Gaps()
    logging.getLogger("portal.errors").addHandler(gaps)
    failures: list[str] = []
    cases = operations = 0
    try:
        with clock.frozen(DAY):
            async with live_portal(db_pool=True) as base:
                async with httpx.AsyncClient() as fetch:
                    doc = (await fetch.get(base + "/api/v1/schema/openapi.json")).json()
                schema = schemathesis.openapi.from_dict(doc)
                import requests

                with requests.Session() as session:
                    for result in schema.get_all_operations():
                        operation = result.ok()
                        if not operation.path.startswith("/api/"):
                            continue  # the document is the API's; pages are tested elsewhere
                        operations += 1
                        for username, token in tokens.items():
                            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                                try:
                                    cases += _fuzz(operation, mode, base, token, session)
                                except Unsatisfiable:
                                    continue  # nothing to negate: the operation takes no input
                                except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001
                                    failures.append(f"{operation.label} as {username} ({mode}): "
                                                    f"{str(exc)[:600]}")
    finally:
        logging.getLogger("portal.errors").removeHandler(gaps)
    elapsed = time.monotonic() - started
    print(f"\nschemathesis: {operations} operations, {cases} cases, {len(failures)} failures, "
          f"{len(gaps.records)} database refusals, {len(UNAVAILABLE)} documented 503s "
          f"(payments without Stripe), {elapsed:.0f} s")
    kinds = Counter(re.findall(r"(ST\d+ [^\n]+|\d{3} from [^:]+)", "\n".join(failures)))
    print("\n".join(f"{n:5}  {kind}" for kind, n in kinds.most_common(40)))
    assert not gaps.records, "values refused by the database behind the edge:\n" + \
        "\n".join(gaps.records[:20])
    assert not failures, "\n\n".join(failures[:30])
    assert operations > 40 and cases > operations * len(ROLES)
