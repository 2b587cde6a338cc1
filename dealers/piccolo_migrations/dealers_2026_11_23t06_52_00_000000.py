"""A return line is a product or a spare part, never both (R23)."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T06:52:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "line is product or spare part"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="dealers", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        await engine_finder().run_ddl(
            "ALTER TABLE return_line ADD CONSTRAINT line_is_product_or_part "
            "CHECK ((product IS NULL) <> (spare_part IS NULL))")

    manager.add_raw(run)
    return manager
