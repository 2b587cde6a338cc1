"""Fee, dispute and closure constraints (R24, R25, R29)."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T06:41:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "fee, dispute and closure constraints"

SQL = [
    "ALTER TABLE repair_fee ADD CONSTRAINT fee_amount CHECK (amount_fen >= 0)",
    "ALTER TABLE repair_fee ADD CONSTRAINT fee_first_of_month CHECK (EXTRACT(DAY FROM effective_from) = 1)",
    "CREATE INDEX repair_fee_point ON repair_fee (repair_point, effective_from DESC, id DESC)",
    """ALTER TABLE consumer_dispute ADD CONSTRAINT dispute_status
       CHECK (status IN ('open', 'settled', 'escalated', 'ruled'))""",
    "ALTER TABLE closure ADD CONSTRAINT closure_amounts CHECK (missing_fen >= 0 AND refund_fen >= 0)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="spares", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        db = engine_finder()
        for statement in SQL:
            await db.run_ddl(statement)

    manager.add_raw(run)
    return manager
