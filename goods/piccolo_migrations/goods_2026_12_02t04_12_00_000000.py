"""Goods (R13, R16, R18): the rules the database keeps whatever the code path, and the indexes
the repeat-claim check and the queues read."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T04:12:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "goods checks and indexes"

STATEMENTS = [
    # R13: exchanged = shipped + credited instead + still owed, always
    "ALTER TABLE goods_replacement_line ADD CONSTRAINT goods_replacement_adds_up "
    "CHECK (exchanged_qty = shipped_qty + credited_qty + owed_qty AND shipped_qty >= 0 "
    "AND credited_qty >= 0 AND owed_qty >= 0 AND exchanged_qty > 0)",
    "ALTER TABLE goods_replacement_line ADD CONSTRAINT goods_replacement_credit_reason "
    "CHECK (credited_qty = 0 OR credit_reason <> '')",
    "ALTER TABLE goods_hq_stock ADD CONSTRAINT goods_hq_stock_not_negative CHECK (on_hand >= 0)",
    "ALTER TABLE goods_shipment ADD CONSTRAINT goods_shipment_packages CHECK (packages > 0)",
    "ALTER TABLE goods_shipment ADD CONSTRAINT goods_shipment_short "
    "CHECK (short_qty >= 0 AND (status <> 'short' OR short_qty > 0))",
    "ALTER TABLE goods_shipment ADD CONSTRAINT goods_shipment_resolution "
    "CHECK ((status = 'resolved') = (resolution IS NOT NULL) "
    "AND (resolution IS NULL OR resolution IN ('reship', 'credit')))",
    "ALTER TABLE goods_shipment_line ADD CONSTRAINT goods_shipment_line_qty "
    "CHECK (quantity > 0 AND (received_qty IS NULL OR received_qty BETWEEN 0 AND quantity))",
    "CREATE UNIQUE INDEX goods_shipment_line_once ON goods_shipment_line "
    "(shipment, replacement_line)",
    "CREATE INDEX goods_shipment_open ON goods_shipment (replacement) "
    "WHERE status IN ('shipped', 'short')",
    "ALTER TABLE goods_scrap_lot ADD CONSTRAINT goods_scrap_lot_qty CHECK (quantity > 0)",
    "ALTER TABLE goods_scrap_item ADD CONSTRAINT goods_scrap_item_qty CHECK (quantity > 0)",
    "ALTER TABLE goods_rejected ADD CONSTRAINT goods_rejected_qty "
    "CHECK (quantity > 0 AND freight_fen >= 0)",
    "ALTER TABLE goods_rejected ADD CONSTRAINT goods_rejected_sent "
    "CHECK (status <> 'returned' OR (sent_on IS NOT NULL AND waybill <> ''))",
    # R18: the repeat-claim look-up of one batch reads earlier lines by product and date code
    "CREATE INDEX IF NOT EXISTS goods_return_line_product_date_code ON return_line "
    "(product, date_code) WHERE date_code IS NOT NULL",
    "CREATE UNIQUE INDEX goods_supplier_claim_month ON goods_supplier_claim (supplier, month)",
    "ALTER TABLE goods_supplier_claim ADD CONSTRAINT goods_supplier_claim_amounts "
    "CHECK (quantity >= 0 AND amount_fen >= 0 AND (accepted_fen IS NULL OR accepted_fen >= 0) "
    "AND (settled_fen IS NULL OR settled_fen >= 0))",
    "ALTER TABLE goods_supplier_claim_line ADD CONSTRAINT goods_claim_line_qty "
    "CHECK (quantity > 0 AND amount_fen >= 0)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="goods", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        for statement in STATEMENTS:
            await engine_finder().run_ddl(statement)

    manager.add_raw(run)
    return manager
