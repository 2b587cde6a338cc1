"""Control tower: what the tables cannot say themselves — the early warning's one-alert-per-
evidence key (R7, R16), the appraisal's one score per unit and quarter (R36), the indexes the
KPI statements read on other apps' tables (R35), and R31's targets as the first history rows."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T04:12:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "control tower keys, indexes and R31 targets"

STATEMENTS = [
    # R16: the same alert is never raised twice for the same evidence
    "CREATE UNIQUE INDEX quality_alert_evidence ON quality_alert "
    "(product, date_code_month, region, window_start, window_end)",
    "CREATE INDEX quality_alert_open ON quality_alert (status, raised_at) WHERE status = 'open'",
    "ALTER TABLE quality_alert ADD CONSTRAINT quality_alert_dismissed_reason "
    "CHECK (status <> 'dismissed' OR reason <> '')",
    # R35: one target per measure and quarter; targets are ratios in basis points
    "CREATE UNIQUE INDEX service_target_once ON service_target (measure, effective_from)",
    "ALTER TABLE service_target ADD CONSTRAINT service_target_bp "
    "CHECK (value_bp BETWEEN 0 AND 10000)",
    "ALTER TABLE service_target ADD CONSTRAINT service_target_quarter "
    "CHECK (extract(day FROM effective_from) = 1 AND extract(month FROM effective_from) IN (1, 4, 7, 10))",
    # R36: one score per unit and quarter, 0-100
    "CREATE UNIQUE INDEX appraisal_score_once ON appraisal_score (organisation, period_start)",
    "ALTER TABLE appraisal_score ADD CONSTRAINT appraisal_score_range CHECK (score BETWEEN 0 AND 100)",
    "ALTER TABLE corrective_action ADD CONSTRAINT corrective_action_kind "
    "CHECK (kind IN ('corrective', 'preventive'))",
    # R35: the KPI statements read these by time (other apps' tables, indexed from here)
    "CREATE INDEX IF NOT EXISTS tower_service_call_called ON service_call (called_at)",
    "CREATE INDEX IF NOT EXISTS tower_complaint_recorded ON complaint (recorded_at)",
    "CREATE INDEX IF NOT EXISTS tower_customer_product_purchased ON customer_product (purchased_on)",
    "CREATE INDEX IF NOT EXISTS tower_return_batch_received ON return_batch (received_at) "
    "WHERE received_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS tower_return_line_batch_product ON return_line (batch, product)",
    # R31: the manuals' targets, the first rows of the history (HQ revises them each quarter)
    "INSERT INTO service_target (measure, value_bp, effective_from, reason, created_at) VALUES "
    "('on_site', 10000, DATE '2000-01-01', 'R31', now()), "
    "('complaint_rate', 100, DATE '2000-01-01', 'R31', now()), "
    "('resolution', 9700, DATE '2000-01-01', 'R31', now()), "
    "('satisfaction', 9500, DATE '2000-01-01', 'R31', now()), "
    "('first_time_fix', 9000, DATE '2000-01-01', 'R31', now()), "
    "('return_rate', 200, DATE '2000-01-01', 'R31', now())",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tower", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        for statement in STATEMENTS:
            await engine_finder().run_ddl(statement)

    manager.add_raw(run)
    return manager
