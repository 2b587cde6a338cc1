"""Oversight: what the tables cannot say themselves — the rules the database keeps whatever the
code path (R30, R37, R38) and the indexes the pages read."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T04:12:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "oversight checks and indexes"

STATEMENTS = [
    # R30: the audited office bears none of the audit's cost; a cost is never negative
    "ALTER TABLE office_audit ADD CONSTRAINT office_audit_cost_not_office "
    "CHECK (cost_bearer <> office)",
    "ALTER TABLE office_audit ADD CONSTRAINT office_audit_cost_positive CHECK (cost_fen >= 0)",
    # R30: no visit before the vice-president's approval; a report after the visit; R36 score
    "ALTER TABLE office_audit ADD CONSTRAINT office_audit_visit_approved "
    "CHECK (visited_at IS NULL OR decided_at IS NOT NULL)",
    "ALTER TABLE office_audit ADD CONSTRAINT office_audit_report_visited "
    "CHECK (reported_at IS NULL OR (visited_at IS NOT NULL AND score IS NOT NULL))",
    "ALTER TABLE office_audit ADD CONSTRAINT office_audit_score "
    "CHECK (score IS NULL OR score BETWEEN 0 AND 100)",
    "CREATE INDEX office_audit_office ON office_audit (office, id)",
    "CREATE INDEX office_audit_reported ON office_audit (reported_at) WHERE reported_at IS NOT NULL",
    "CREATE UNIQUE INDEX audit_member_once ON audit_member (audit, \"user\")",
    "CREATE UNIQUE INDEX audit_member_one_lead ON audit_member (audit) WHERE duty = 'lead'",
    # R30: an order is issued by someone (the line department) before the office answers it
    "ALTER TABLE rectification_order ADD CONSTRAINT rectification_issued_first "
    "CHECK (answered_at IS NULL OR issued_at IS NOT NULL)",
    "CREATE INDEX rectification_order_audit ON rectification_order (audit)",
    "CREATE INDEX point_visit_point ON point_visit (repair_point, visited_on)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="oversight", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        for statement in STATEMENTS:
            await engine_finder().run_ddl(statement)

    manager.add_raw(run)
    return manager
