"""Stock and deposit rules the database enforces (R22, R23, R28)."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T06:33:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "stock ledger and deposit constraints"

SQL = [
    "ALTER TABLE stock_balance ADD CONSTRAINT balance_once UNIQUE (location, spare_part, condition)",
    # R23: never negative, whatever the code path, also under concurrency (row lock on upsert).
    "ALTER TABLE stock_balance ADD CONSTRAINT stock_not_negative CHECK (quantity >= 0)",
    "ALTER TABLE stock_movement ADD CONSTRAINT movement_condition CHECK (condition IN ('good', 'faulty'))",
    "ALTER TABLE stock_movement ADD CONSTRAINT movement_not_zero CHECK (quantity <> 0)",
    "CREATE INDEX stock_movement_location ON stock_movement (location, spare_part, condition, id)",
    """
    CREATE OR REPLACE FUNCTION stock_movement_to_balance() RETURNS trigger AS $$
    BEGIN
        -- UPDATE first: an INSERT .. ON CONFLICT would check the CHECK constraint against the
        -- bare movement (a negative quantity) before seeing the existing balance.
        UPDATE stock_balance SET quantity = quantity + NEW.quantity
        WHERE location = NEW.location AND spare_part = NEW.spare_part
          AND condition = NEW.condition;
        IF NOT FOUND THEN
            INSERT INTO stock_balance (location, spare_part, condition, quantity)
            VALUES (NEW.location, NEW.spare_part, NEW.condition, NEW.quantity)
            ON CONFLICT (location, spare_part, condition)
            DO UPDATE SET quantity = stock_balance.quantity + EXCLUDED.quantity;
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
    """,
    """CREATE TRIGGER stock_movement_balance AFTER INSERT ON stock_movement
       FOR EACH ROW EXECUTE FUNCTION stock_movement_to_balance()""",
    """CREATE TRIGGER stock_movement_append_only BEFORE UPDATE OR DELETE ON stock_movement
       FOR EACH ROW EXECUTE FUNCTION portal_refuse_change()""",
    """CREATE TRIGGER deposit_movement_append_only BEFORE UPDATE OR DELETE ON deposit_movement
       FOR EACH ROW EXECUTE FUNCTION portal_refuse_change()""",
    "ALTER TABLE deposit_movement ADD CONSTRAINT deposit_movement_not_zero CHECK (amount_fen <> 0)",
    # A Stripe payment or a bank reference credits a deposit once.
    "ALTER TABLE deposit_movement ADD CONSTRAINT deposit_reference_once UNIQUE (kind, reference)",
    "ALTER TABLE stock_template ADD CONSTRAINT template_once UNIQUE (sales_scale, spare_part)",
    "ALTER TABLE stock_template ADD CONSTRAINT template_positive CHECK (quantity > 0)",
    "ALTER TABLE repair_point_application ADD CONSTRAINT scale_known CHECK (sales_scale IN ('small', 'medium', 'large'))",
    "ALTER TABLE repair_point_application ADD CONSTRAINT fee_not_negative CHECK (proposed_fee_fen >= 0)",
    "ALTER TABLE exchange ADD CONSTRAINT exchange_positive CHECK (quantity > 0)",
    "ALTER TABLE deposit ADD CONSTRAINT deposit_not_negative CHECK (required_fen >= 0)",
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
