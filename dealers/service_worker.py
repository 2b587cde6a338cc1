"""The dock's service worker (issue 12 §7), served from the site's root so its scope covers the
receiving pages (/receiving and /batches/<id>/receive). Deliberately public: it is the same
static script for everyone and holds no data (a signed-out phone must still be able to update
it); it is on the public allowlist in tests/portal/test_guards.py."""
from __future__ import annotations

from pathlib import Path

from litestar import Response, get

from portal.web import public

SCRIPT = Path(__file__).resolve().parent.parent / "static" / "sw.js"


@get("/sw.js", guards=[public], include_in_schema=False)
async def service_worker() -> Response:
    return Response(SCRIPT.read_bytes(), media_type="text/javascript",
                    headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"})
