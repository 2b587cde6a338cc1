"""Piccolo configuration: the one engine, from PORTAL_DATABASE_URL or the embedded server."""
from piccolo.conf.apps import AppRegistry

from portal.db import PortalEngine
from portal.embedded import database_url

DB = PortalEngine(config={"dsn": database_url()})

APP_REGISTRY = AppRegistry(
    apps=[
        "portal.piccolo_app",
        "dealers.piccolo_app",
        "spares.piccolo_app",
        "settlements.piccolo_app",
        "service.piccolo_app",
        "goods.piccolo_app",
        "tower.piccolo_app",
        "oversight.piccolo_app",
    ]
)
