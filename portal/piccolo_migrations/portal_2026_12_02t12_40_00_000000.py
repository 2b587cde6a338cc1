"""Who is asking may be remembered by each process (portal/idcache.py): a change to what the
identity statement reads tells every listening process when it commits."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T12:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "identity change notifications"

# Only what can change an identity already known: a new user, organisation, session or token
# is unknown to every process until first asked for; a session's last_seen_at and a token's
# last_used_at are keep-alive times each process reads afresh when they matter.
_TRIGGERS = {
    "portal_user": "UPDATE OR DELETE OR TRUNCATE",
    "organisation": "UPDATE OR DELETE OR TRUNCATE",
    "manager_coverage": "INSERT OR UPDATE OR DELETE OR TRUNCATE",
    "user_session": 'UPDATE OF "user", token_hash, csrf_token, created_at OR DELETE OR TRUNCATE',
    "api_token": 'UPDATE OF "user", token_hash, revoked_at OR DELETE OR TRUNCATE',
}
SQL = [
    "CREATE FUNCTION portal_identity_changed() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN PERFORM pg_notify('portal_identity', ''); RETURN NULL; END $$",
    *(f"CREATE TRIGGER {table}_identity_changed AFTER {events} ON {table} "
      "FOR EACH STATEMENT EXECUTE FUNCTION portal_identity_changed()"
      for table, events in _TRIGGERS.items()),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        db = engine_finder()
        for statement in SQL:
            await db.run_ddl(statement)

    manager.add_raw(run)
    return manager
