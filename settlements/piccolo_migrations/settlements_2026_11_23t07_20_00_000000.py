"""Statement constraints (R26): one per dealer and period; each source in one statement."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T07:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "statement constraints"

SQL = [
    "ALTER TABLE statement ADD CONSTRAINT statement_once UNIQUE (dealer, period)",
    "ALTER TABLE statement ADD CONSTRAINT statement_period_first CHECK (EXTRACT(DAY FROM period) = 1)",
    "ALTER TABLE statement_line ADD CONSTRAINT source_once UNIQUE (source_type, source_id)",
    "CREATE INDEX statement_line_statement ON statement_line (statement)",
    "ALTER TABLE purchase_volume ADD CONSTRAINT volume_once UNIQUE (period, dealer)",
    "ALTER TABLE purchase_volume ADD CONSTRAINT volume_not_negative CHECK (amount_fen >= 0)",
    "ALTER TABLE rebate_policy ADD CONSTRAINT rebate_policy_once UNIQUE (effective_from)",
    """CREATE TRIGGER rebate_policy_append_only BEFORE UPDATE OR DELETE ON rebate_policy
       FOR EACH ROW EXECUTE FUNCTION portal_refuse_change()""",
    # R26: an approved statement is frozen; corrections are adjustment lines next period.
    """
    CREATE OR REPLACE FUNCTION statement_line_frozen() RETURNS trigger AS $$
    DECLARE s text;
    BEGIN
        SELECT status INTO s FROM statement WHERE id = COALESCE(NEW.statement, OLD.statement);
        IF s <> 'draft' THEN
            RAISE EXCEPTION 'statement % is frozen', COALESCE(NEW.statement, OLD.statement)
                USING ERRCODE = 'P0001';
        END IF;
        RETURN COALESCE(NEW, OLD);
    END;
    $$ LANGUAGE plpgsql
    """,
    """CREATE TRIGGER statement_line_frozen BEFORE INSERT OR UPDATE OR DELETE ON statement_line
       FOR EACH ROW EXECUTE FUNCTION statement_line_frozen()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="settlements", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        db = engine_finder()
        for statement in SQL:
            await db.run_ddl(statement)

    manager.add_raw(run)
    return manager
