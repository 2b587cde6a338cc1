"""Shared bench set-up: a throwaway embedded PostgreSQL, migrated, and timing helpers.

Benchmarks are not tests: they print figures (medians, ratios to a raw-SQL baseline measured
in the same run on the same database, query counts) and never fail on time."""
from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

_ROOT = Path(tempfile.mkdtemp(prefix="portal-bench-"))


def start_database() -> str:
    os.environ.pop("PORTAL_DATABASE_URL", None)
    os.environ["PORTAL_VAR_DIR"] = str(_ROOT)
    os.environ.setdefault("PORTAL_SECRET_KEY", "bench")
    from portal import db

    url = db.start_embedded(_ROOT / "pgdata", cleanup_mode="delete")
    os.environ["PORTAL_DATABASE_URL"] = url
    from portal.cli import migrate

    migrate()
    return url


async def timed(fn, repeat: int = 5) -> float:
    """Median seconds of `repeat` runs of the coroutine function `fn`."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def report(name: str, service: float, raw: float, queries: int | str) -> None:
    print(f"{name:<44} service {service * 1000:9.1f} ms   raw {raw * 1000:9.1f} ms   "
          f"ratio {service / raw:5.2f}x   queries {queries}", flush=True)


def run(main) -> None:
    try:
        asyncio.run(main())
    finally:
        from portal import db

        if db._server is not None:
            db._server.cleanup()
