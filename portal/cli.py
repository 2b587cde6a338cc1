"""`portal serve | migrate | demo | createuser | notify`."""
from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from typing import TypedDict


def _conf():
    """Import piccolo_conf: starts the embedded PostgreSQL when no URL is configured."""
    import piccolo_conf

    return piccolo_conf


def migrate() -> None:
    _conf()
    from piccolo.apps.migrations.commands.forwards import run_forwards

    for app_name in ("portal", "dealers", "spares", "settlements", "service", "goods",
                     "oversight", "tower"):
        result = asyncio.run(run_forwards(app_name=app_name, migration_id="all", fake=False))
        if not result.success:  # run_forwards reports failure instead of raising
            sys.exit(f"migration of {app_name} failed: {result.message}")


def serve(host: str, port: int, demo: bool, workers: int = 1) -> None:
    migrate()
    if demo:
        asyncio.run(_load_demo())
    import uvicorn

    if workers > 1:  # each worker builds its own app (portal.app.served_app) and pool
        from portal.settings import served_base_url

        os.environ["PORTAL_SERVED_BASE_URL"] = served_base_url(host, port)
        print(f"Portal running on http://{host}:{port} with {workers} worker processes "
              "(Ctrl-C to stop)", flush=True)
        uvicorn.run("portal.app:served_app", factory=True, workers=workers, host=host,
                    port=port, log_level="info", **UVICORN_OPTIONS)
        return

    from portal.app import create_app
    from portal.settings import Settings, served_base_url

    # Links in emails use the address served on, unless PORTAL_BASE_URL says otherwise.
    settings = Settings.from_env()
    if not settings.base_url_configured:
        settings = Settings.from_env(base_url=served_base_url(host, port),
                                     base_url_configured=False)
    app = create_app(settings, run_jobs=True)
    print(f"Portal running on http://{host}:{port}  (Ctrl-C to stop)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="info", **UVICORN_OPTIONS)


# uvicorn must not rewrite the client address from X-Forwarded-For (its default trusts
# 127.0.0.1, i.e. any local process): `portal.proxies.client_ip` reads the header itself, and
# only from PORTAL_TRUSTED_PROXIES. One place decides, so the throttle and the logs agree.
class _UvicornOptions(TypedDict):
    proxy_headers: bool


UVICORN_OPTIONS: _UvicornOptions = {"proxy_headers": False}


async def _load_demo() -> bool:
    """Load the demo once (each part skips itself when already there) and say what was done
    and which offices may submit a regular batch today. Returns whether anything was loaded."""
    # The CLI is part of the composition root: it may load every domain's demo data.
    import portal.app  # noqa: F401  the composition root registers the attachments' subjects
    from dealers.demo import load_batches_demo, open_window_offices
    from goods.demo import load_goods_demo
    from oversight.demo import load as load_oversight_demo
    from portal import db
    from portal.demo import load_demo
    from service.demo import load_service_demo
    from settlements.demo import load_settlements_demo
    from spares.demo import load_spares_demo
    from tower.demo import load as load_tower_demo

    # a few thousand short queries: one pool for the load instead of a connection per query
    pooled = db.engine().pool is None
    if pooled:
        await db.start_pool(min_size=1, max_size=2)
    try:
        loaded = [await load_demo(), await load_spares_demo(), await load_batches_demo(),
                  await load_settlements_demo(), await load_service_demo(),
                  await load_goods_demo(), await load_tower_demo(),
                  await load_oversight_demo()]
    finally:
        if pooled:
            await db.engine().close_connection_pool()
    print("Demo loaded." if any(loaded) else "Demo already loaded: nothing changed.", flush=True)
    open_now = await open_window_offices()
    print("Return windows open today: " + (", ".join(open_now) if open_now else
          "none (days 22 to the month's end belong to no window)")
          + ". js.clerk can submit any day through the special approval the demo granted "
            "Jiangsu (/special-approvals).", flush=True)
    return any(loaded)


def createuser(username: str, organisation_id: int, roles: list[str]) -> None:
    migrate()
    password = getpass.getpass("Password: ")
    print(f"created user {asyncio.run(_create_first_user(username, organisation_id, roles, password))}")


async def _create_first_user(username: str, organisation_id: int, roles: list[str],
                             password: str) -> int:
    """The first admin has nobody to act for them: the audit row records no actor."""
    from portal.db import in_transaction

    return await in_transaction(lambda: _insert_first_user(username, organisation_id, roles,
                                                            password))


async def _insert_first_user(username: str, organisation_id: int, roles: list[str],
                             password: str) -> int:
    from portal import audit, auth, clock, people
    from portal.tables import User

    errors = people.check_user_fields(username=username, display_name=username, roles=roles,
                                     password=password, locale="zh_CN")
    if errors:
        raise SystemExit("; ".join(f"{k}: {v}" for k, v in errors.items()))
    user = User(username=username.lower(), display_name=username,
                password_hash=auth.hash_password(password), organisation=organisation_id,
                roles=roles, created_at=clock.now())
    await User.insert(user)
    await audit.record(actor=None, object_type="user", object_id=user.id, action="create",
                       organisation_id=organisation_id,
                       after={"username": username, "roles": roles})
    return user.id


def notify_now() -> None:
    _conf()
    from portal.app import run_jobs_once
    from portal.settings import Settings

    asyncio.run(run_jobs_once(Settings.from_env()))


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="portal", description="After-sales portal")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="migrate, then serve the portal")
    p_serve.add_argument("--host", default="127.0.0.1")
    p_serve.add_argument("--port", type=int, default=8000)
    p_serve.add_argument("--demo", action="store_true", help="load the demo network first")
    p_serve.add_argument("--workers", type=int, default=1,
                         help="worker processes (each with its own pool; jobs run in one)")
    sub.add_parser("migrate", help="apply the committed migrations")
    sub.add_parser("demo", help="load the demo network (idempotent)")
    sub.add_parser("notify", help="send due reminders and queued emails once")
    p_user = sub.add_parser("createuser", help="create a user (asks for the password)")
    p_user.add_argument("username")
    p_user.add_argument("--organisation", type=int, default=1)
    p_user.add_argument("--role", action="append", default=None)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.host, args.port, args.demo, max(1, args.workers))
    elif args.command == "migrate":
        migrate()
    elif args.command == "demo":
        migrate()
        asyncio.run(_load_demo())
    elif args.command == "notify":
        notify_now()
    elif args.command == "createuser":
        createuser(args.username, args.organisation, args.role or ["hq_admin"])


if __name__ == "__main__":
    main()
