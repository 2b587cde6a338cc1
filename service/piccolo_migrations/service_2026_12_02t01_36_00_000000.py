"""Complaints (R32): the rules the database keeps whatever the code path, and the indexes the
public forms' rate limit and the assigned units' queues read."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T01:36:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "complaint steps checks, public attempts index"

STATEMENTS = [
    # R32: a complaint that does not stand is answered with its reason, and the customer told
    "ALTER TABLE complaint ADD CONSTRAINT complaint_not_standing_answered "
    "CHECK (status <> 'not_standing' OR (judgement <> '' AND told_at IS NOT NULL))",
    "ALTER TABLE complaint ADD CONSTRAINT complaint_channel "
    "CHECK (channel IN ('phone', 'web', 'letter', 'visit', 'card'))",
    "ALTER TABLE complaint ADD CONSTRAINT complaint_about "
    "CHECK (about IN ('product', 'repair_point', 'office', 'person', 'other'))",
    # R32: assigned by type: top management, HQ logistics, HQ tech, CS, or the unit concerned
    "ALTER TABLE complaint ADD CONSTRAINT complaint_assigned_to CHECK (assigned_to IS NULL OR "
    "assigned_to IN ('management', 'hq_logistics', 'hq_tech', 'hq_cs', 'unit'))",
    "ALTER TABLE complaint ADD CONSTRAINT complaint_unit_named "
    "CHECK ((assigned_to = 'unit') = (assigned_org IS NOT NULL))",
    "CREATE INDEX complaint_assigned_org ON complaint (assigned_org, status) "
    "WHERE assigned_org IS NOT NULL",
    "CREATE INDEX complaint_phone ON complaint (phone)",
    "CREATE INDEX public_attempt_lookup ON public_attempt (action, ip, at)",
    "CREATE INDEX public_attempt_at ON public_attempt (at)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="service", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        for statement in STATEMENTS:
            await engine_finder().run_ddl(statement)

    manager.add_raw(run)
    return manager
