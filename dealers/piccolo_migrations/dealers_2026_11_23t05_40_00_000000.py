"""Calendar constraints and the default calendar of seed 003 (R2, R4)."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T05:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "calendar constraints"

SQL = [
    # Several changes for the same month may be made; the latest (highest id) wins, all are kept.
    "CREATE INDEX calendar_lookup ON calendar_assignment (region, effective_from DESC, id DESC)",
    """ALTER TABLE calendar_assignment ADD CONSTRAINT calendar_week_range
       CHECK (week IS NULL OR week BETWEEN 1 AND 3)""",
    """ALTER TABLE calendar_assignment ADD CONSTRAINT calendar_first_of_month
       CHECK (EXTRACT(DAY FROM effective_from) = 1)""",
    """CREATE TRIGGER calendar_append_only BEFORE UPDATE OR DELETE ON calendar_assignment
       FOR EACH ROW EXECUTE FUNCTION portal_refuse_change()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="dealers", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        db = engine_finder()
        for statement in SQL:
            await db.run_ddl(statement)
        # R2: the default assignment, in force from long before the portal existed.
        from dealers.rules import DEFAULT_CALENDAR

        for code, week in DEFAULT_CALENDAR.items():
            await db.run_ddl(
                "INSERT INTO calendar_assignment (region, week, effective_from, reason, created_at) "
                f"SELECT id, {int(week)}, DATE '2000-01-01', 'seed 003 default', now() "
                f"FROM region WHERE code = '{code}'"
            )

    manager.add_raw(run)
    return manager
