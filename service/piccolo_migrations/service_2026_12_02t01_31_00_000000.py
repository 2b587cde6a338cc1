"""Customer service: what the tables cannot say themselves — the rules the database keeps
whatever the code path (R32, R33, R34) and the indexes the queues and lookups read."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T01:31:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "customer service checks and indexes"

STATEMENTS = [
    # R32: nothing is closed without the customer told; a major complaint needs a preventive
    # action; a complaint that does not stand is answered with its reason
    "ALTER TABLE complaint ADD CONSTRAINT complaint_told_before_closed "
    "CHECK (closed_at IS NULL OR told_at IS NOT NULL)",
    "ALTER TABLE complaint ADD CONSTRAINT complaint_major_prevented "
    "CHECK (closed_at IS NULL OR NOT major OR preventive <> '')",
    "ALTER TABLE complaint ADD CONSTRAINT complaint_kind "
    "CHECK (kind IS NULL OR kind IN ('quality', 'service', 'suggestion'))",
    "CREATE INDEX complaint_queue ON complaint (status, resolve_by) "
    "WHERE status NOT IN ('closed', 'not_standing')",
    "CREATE INDEX complaint_org ON complaint (organisation, id)",
    # R33: scores 1 to 5; a card is filled in once
    "ALTER TABLE opinion_card ADD CONSTRAINT opinion_card_scores CHECK ("
    "(submitted_at IS NULL AND attitude IS NULL AND skill IS NULL AND punctuality IS NULL) OR "
    "(submitted_at IS NOT NULL AND attitude BETWEEN 1 AND 5 AND skill BETWEEN 1 AND 5 "
    "AND punctuality BETWEEN 1 AND 5))",
    "CREATE INDEX service_call_queue ON service_call (status, visit_by) "
    "WHERE status = 'open'",
    "CREATE INDEX service_call_org ON service_call (organisation, id)",
    # R34: at least 5 % of the year's customers; one plan per organisation and year; one
    # survey per organisation and year
    "ALTER TABLE return_visit_plan ADD CONSTRAINT return_visit_plan_five_percent "
    "CHECK (planned * 100 >= customers * 5)",
    "CREATE UNIQUE INDEX return_visit_plan_once ON return_visit_plan (organisation, year)",
    "CREATE UNIQUE INDEX return_visit_once ON return_visit (plan, customer)",
    "CREATE UNIQUE INDEX survey_once ON survey (organisation, year)",
    "CREATE INDEX customer_org ON customer (organisation, id)",
    "CREATE INDEX customer_phone ON customer (phone)",
    "CREATE INDEX customer_product_customer ON customer_product (customer)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="service", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        for statement in STATEMENTS:
            await engine_finder().run_ddl(statement)

    manager.add_raw(run)
    return manager
