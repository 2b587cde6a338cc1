"""R16: at most one open (unverified) quality dispute per batch, whatever the code path."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T22:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one open quality dispute per batch"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="dealers", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX quality_dispute_one_open ON quality_dispute (batch) "
            "WHERE verified_at IS NULL")

    async def run_backwards():
        from piccolo.engine import engine_finder

        await engine_finder().run_ddl("DROP INDEX IF EXISTS quality_dispute_one_open")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
