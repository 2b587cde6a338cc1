"""Constraints the business depends on, enforced by the database (not only by code)."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T05:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "constraints, append-only audit"

SQL = [
    # R20: audit rows are never updated or deleted.
    """
    CREATE OR REPLACE FUNCTION portal_refuse_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME USING ERRCODE = 'P0001';
    END;
    $$ LANGUAGE plpgsql
    """,
    """CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
       FOR EACH ROW EXECUTE FUNCTION portal_refuse_change()""",
    """CREATE TRIGGER policy_value_append_only BEFORE UPDATE OR DELETE ON policy_value
       FOR EACH ROW EXECUTE FUNCTION portal_refuse_change()""",
    "CREATE INDEX audit_entry_object ON audit_entry (object_type, object_id, at)",
    "ALTER TABLE manager_coverage ADD CONSTRAINT manager_coverage_once UNIQUE (\"user\", organisation)",
    "ALTER TABLE notification ADD CONSTRAINT notification_once UNIQUE (\"user\", kind, dedupe_key)",
    "CREATE INDEX notification_inbox ON notification (\"user\", created_at DESC)",
    "ALTER TABLE policy_value ADD CONSTRAINT policy_value_once UNIQUE (key, effective_from)",
    "ALTER TABLE product_category ADD CONSTRAINT warranty_not_negative CHECK (warranty_months >= 0)",
    "ALTER TABLE spare_part ADD CONSTRAINT price_not_negative CHECK (unit_price_fen >= 0)",
    "ALTER TABLE policy_value ADD CONSTRAINT policy_not_negative CHECK (value >= 0)",
    """ALTER TABLE organisation ADD CONSTRAINT hq_has_no_parent
       CHECK ((kind = 'hq') = (parent IS NULL))""",
    "CREATE INDEX login_attempt_recent ON login_attempt (username, at)",
    "CREATE INDEX login_attempt_ip ON login_attempt (ip, at)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        db = engine_finder()
        for statement in SQL:
            await db.run_ddl(statement)
        from portal.regions import REGIONS

        for code, zh, en in REGIONS:
            await db.run_ddl(
                "INSERT INTO region (code, name_zh, name_en) "
                f"VALUES ('{code}', '{zh}', '{en}') ON CONFLICT (code) DO NOTHING"
            )

    manager.add_raw(run)
    return manager
