"""Decided batches whose receipt the office has not opened: the clerk's home counts them from a
partial index, so its cost follows unread receipts, not every batch ever decided (issue 17 §3).
Receipts decided more than 30 days before this migration count as read: until now the home
listed every decided batch, which an office has long since read."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T15:26:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unread receipts"

SQL = [
    """UPDATE return_batch SET receipt_read_at = decided_at
       WHERE status = 'dispositioned' AND decided_at < now() - interval '30 days'""",
    """CREATE INDEX return_batch_unread_receipt ON return_batch (organisation, decided_at)
       WHERE status = 'dispositioned' AND receipt_read_at IS NULL""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="dealers", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        db = engine_finder()
        for statement in SQL:
            await db.run_ddl(statement)

    manager.add_raw(run)
    return manager
