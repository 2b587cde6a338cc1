"""GB/T 27922 self-assessment (issue 15 §7): what the tables cannot say themselves — one
assessment per year, each indicator once per assessment, a source the code knows, points
within the indicator's maximum, and append-only scores."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T07:09:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "self-assessment keys and checks"

STATEMENTS = [
    "CREATE UNIQUE INDEX self_assessment_year ON self_assessment (year)",
    "CREATE UNIQUE INDEX self_assessment_item_once ON self_assessment_item (assessment, code)",
    "ALTER TABLE self_assessment_item ADD CONSTRAINT self_assessment_item_source "
    "CHECK (source IN ('live', 'evidence'))",
    "ALTER TABLE self_assessment_item ADD CONSTRAINT self_assessment_item_points "
    "CHECK (max_points BETWEEN 0 AND 100)",
    "ALTER TABLE self_assessment_score ADD CONSTRAINT self_assessment_score_points "
    "CHECK (points >= 0)",
    "CREATE INDEX self_assessment_score_item ON self_assessment_score (item, id)",
    # a score is never edited or removed: a new score is a new row (portal_refuse_change is
    # the portal app's append-only trigger function)
    "CREATE TRIGGER self_assessment_score_append_only BEFORE UPDATE OR DELETE ON "
    "self_assessment_score FOR EACH ROW EXECUTE FUNCTION portal_refuse_change()",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tower", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        for statement in STATEMENTS:
            await engine_finder().run_ddl(statement)

    manager.add_raw(run)
    return manager
