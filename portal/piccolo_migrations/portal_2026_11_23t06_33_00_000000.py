"""Payments: amounts positive; Stripe events append-only."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T06:33:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "payment constraints"

SQL = [
    "ALTER TABLE payment ADD CONSTRAINT payment_positive CHECK (amount_fen > 0)",
    "CREATE INDEX payment_object ON payment (purpose, object_id)",
    """CREATE TRIGGER stripe_event_append_only BEFORE UPDATE OR DELETE ON stripe_event
       FOR EACH ROW EXECUTE FUNCTION portal_refuse_change()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        db = engine_finder()
        for statement in SQL:
            await db.run_ddl(statement)

    manager.add_raw(run)
    return manager
