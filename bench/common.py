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
    from portal import embedded

    url = embedded.start_embedded(_ROOT / "pgdata", cleanup_mode="delete")
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


async def compare(service, raw, repeat: int = 9, setup=None) -> dict[str, dict[str, float]]:
    """Time the service and its raw twin interleaved — A, B, A, B… — so a change of load during
    the run moves both alike (issue 17 §6). `setup`, when given, runs untimed before each run
    and its result is passed to the timed function. Returns {"service"|"raw": {"min", "median"}}
    in seconds."""
    samples: dict[str, list[float]] = {"service": [], "raw": []}
    for _ in range(repeat):
        for name, fn in (("service", service), ("raw", raw)):
            prepared = await setup() if setup is not None else None
            start = time.perf_counter()
            await (fn(prepared) if setup is not None else fn())
            samples[name].append(time.perf_counter() - start)
    return {name: {"min": min(values), "median": statistics.median(values)}
            for name, values in samples.items()}


def report_pair(name: str, pair: dict[str, dict[str, float]], queries: int | str) -> None:
    """One line: medians, their ratio, and the ratio of the minimums (the least noisy)."""
    service, raw = pair["service"], pair["raw"]
    print(f"{name:<44} service {service['median'] * 1000:8.2f} ms (min {service['min'] * 1000:.2f})"
          f"   raw {raw['median'] * 1000:8.2f} ms (min {raw['min'] * 1000:.2f})"
          f"   ratio {service['median'] / raw['median']:5.2f}x (min {service['min'] / raw['min']:.2f}x)"
          f"   queries {queries}", flush=True)


def report(name: str, service: float, raw: float, queries: int | str) -> None:
    print(f"{name:<44} service {service * 1000:9.1f} ms   raw {raw * 1000:9.1f} ms   "
          f"ratio {service / raw:5.2f}x   queries {queries}", flush=True)


def run(main) -> None:
    try:
        asyncio.run(main())
    finally:
        from portal import embedded

        if embedded._server is not None:
            embedded._server.cleanup()
