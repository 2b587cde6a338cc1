"""Stripe's published example objects (openapi/fixtures3.json, `../shared/stripe/` beside the
project), read at run time by the local fake Stripe servers so the shapes our code parses are
Stripe's, not invented ones. They are never copied into the project.

Looked up in: $STRIPE_FIXTURES, then `shared/stripe/` beside the clone, then /work/shared. A clone
with none of them (say, a CI checkout somewhere else) falls back to bare objects carrying only
`object`, `id`, `livemode`, `metadata` and the lists inside, on top of which the fakes set every field the portal
reads; `SOURCE` says which was used, and a warning is printed."""
from __future__ import annotations

import json
import os
import warnings
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = [p for p in (os.environ.get("STRIPE_FIXTURES"),) if p] + [
    str(ROOT.parent / "shared" / "stripe" / "fixtures3.json"),
    "/work/shared/stripe/fixtures3.json",
]
PREFIX = {"account": "acct", "event": "evt", "transfer": "tr", "transfer_reversal": "trr",
          "payment_intent": "pi", "setup_intent": "seti"}
SOURCE = next((p for p in CANDIDATES if Path(p).is_file()), "")


@cache
def resources() -> dict:
    if SOURCE:
        return json.loads(Path(SOURCE).read_text())["resources"]
    warnings.warn("Stripe's fixtures3.json was not found (set STRIPE_FIXTURES); the fake Stripe "
                  "servers answer with bare objects.", stacklevel=2)
    bare = {name: {"object": name, "id": f"{prefix}_bare", "livemode": False, "metadata": {}}
            for name, prefix in PREFIX.items()}
    bare["event"].update(data={"object": {}}, type="", api_version="2020-08-27", created=0)
    bare["account"]["external_accounts"] = {"object": "list", "data": [], "url": ""}
    bare["transfer"]["reversals"] = {"object": "list", "data": [], "url": ""}
    return bare
