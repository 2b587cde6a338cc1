"""Return batch constraints the business depends on, enforced by the database (R6, R13)."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T05:44:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "return batch constraints"

SQL = [
    "CREATE SEQUENCE return_batch_number_seq",
    # R6: one regular batch per office per month (a withdrawn draft frees the month).
    """CREATE UNIQUE INDEX return_batch_one_regular ON return_batch (organisation, month)
       WHERE kind = 'regular' AND status <> 'withdrawn'""",
    "ALTER TABLE return_batch ADD CONSTRAINT batch_kind CHECK (kind IN ('regular', 'special'))",
    """ALTER TABLE return_batch ADD CONSTRAINT special_needs_approval
       CHECK (kind = 'regular' OR special_approval IS NOT NULL)""",
    "ALTER TABLE return_batch ADD CONSTRAINT freight_not_negative CHECK (freight_fen >= 0)",
    "ALTER TABLE return_batch ADD CONSTRAINT packages_positive CHECK (packages > 0)",
    "ALTER TABLE return_batch ADD CONSTRAINT month_is_first CHECK (EXTRACT(DAY FROM month) = 1)",
    "CREATE INDEX return_batch_queue ON return_batch (status, id)",
    "CREATE INDEX return_batch_org_month ON return_batch (organisation, month, id)",
    "CREATE INDEX return_batch_month ON return_batch (month, id)",
    "ALTER TABLE return_line ADD CONSTRAINT line_once UNIQUE (batch, line_no)",
    "CREATE INDEX return_line_product ON return_line (product, batch)",
    """ALTER TABLE return_line ADD CONSTRAINT line_quantity
       CHECK (quantity BETWEEN 0 AND 100000 AND (quantity > 0 OR extra))""",
    """ALTER TABLE return_line ADD CONSTRAINT received_range
       CHECK (received_qty IS NULL OR received_qty BETWEEN 0 AND 100000)""",
    """ALTER TABLE return_line ADD CONSTRAINT cap_range
       CHECK ((cap_percent IS NULL OR cap_percent BETWEEN 0 AND 100)
          AND (i_cap_percent IS NULL OR i_cap_percent BETWEEN 0 AND 100))""",
    # R13: exchanged + credited + rejected = received, always.
    """ALTER TABLE return_line ADD CONSTRAINT decision_adds_up CHECK (
         (exchanged_qty IS NULL AND credited_qty IS NULL AND rejected_qty IS NULL)
         OR (exchanged_qty >= 0 AND credited_qty >= 0 AND rejected_qty >= 0
             AND exchanged_qty + credited_qty + rejected_qty = received_qty))""",
    "ALTER TABLE reason_code ADD CONSTRAINT reason_once UNIQUE (kind, code)",
    "ALTER TABLE reason_code ADD CONSTRAINT reason_kind CHECK (kind IN ('defect', 'reject'))",
    """ALTER TABLE transit_claim ADD CONSTRAINT claim_amounts CHECK (
         lost_qty >= 0 AND damaged_qty >= 0 AND claimed_fen >= 0
         AND (recovered_fen IS NULL OR recovered_fen >= 0))""",
    "CREATE INDEX special_approval_org ON special_approval (organisation, month)",
]

# The coded lists HQ starts from (HQ edits them afterwards).
REASONS = [
    ("defect", "NO_LIGHT", "不亮", "Does not light"),
    ("defect", "FLICKER", "闪烁", "Flickers"),
    ("defect", "BROKEN", "破碎", "Broken"),
    ("defect", "BALLAST", "镇流器故障", "Ballast fault"),
    ("defect", "OTHER", "其他", "Other"),
    ("reject", "LIGHTS", "能亮，不予换货", "Still lights"),
    ("reject", "CAP_AGED", "灯头老化", "Cap aged"),
    ("reject", "TUBE_GREY", "灯管变灰或接桥发黑", "Tube greyed or bridges blackened"),
    ("reject", "OVER_15M", "出厂超过15个月", "Over 15 months since manufacture"),
    ("reject", "NO_WARRANTY", "不在保修范围", "Not under warranty"),
    ("reject", "MAN_DAMAGE", "人为损坏", "Damaged by misuse"),
    ("reject", "SHORT", "实收不足", "Not received"),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="dealers", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        db = engine_finder()
        for statement in SQL:
            await db.run_ddl(statement)
        for kind, code, zh, en in REASONS:
            await db.run_ddl(
                "INSERT INTO reason_code (kind, code, name_zh, name_en, active) "
                f"VALUES ('{kind}', '{code}', '{zh}', '{en}', true)"
            )

    manager.add_raw(run)
    return manager
