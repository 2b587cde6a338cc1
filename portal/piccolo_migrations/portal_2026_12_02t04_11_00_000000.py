"""Attachments: looked up by their record; sizes positive."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T04:11:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "attachment index and checks"

SQL = [
    "CREATE INDEX attachment_subject ON attachment (subject, subject_id)",
    "ALTER TABLE attachment ADD CONSTRAINT attachment_size_positive CHECK (size_bytes > 0)",
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
