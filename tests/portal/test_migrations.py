"""The committed migrations are the tables: Piccolo's auto-diff between the migration files and
`tables.py` is empty for every app, and the database they build has exactly the tables and
columns (type, nullability, default, foreign key) that Piccolo would create from `tables.py`.

If one of these fails after you changed a table: run `piccolo migrations new APP --auto`, and
put CHECKs, partial indexes, triggers and seed rows in a raw migration after it (README, Design).
"""
import os

import asyncpg
import pytest
from piccolo.apps.migrations.commands.new import AutoMigrationManager
from piccolo.conf.apps import Finder
from piccolo.table import sort_table_classes

from portal.db import raw_fetch
from portal.tables import Region

APPS = ["portal", "dealers", "spares", "settlements", "service"]
TABLES = Finder().get_table_classes()


@pytest.mark.parametrize("app", APPS)
async def test_auto_diff_is_empty(app):
    """What `piccolo migrations new APP --auto` would write: nothing."""
    app_config = Finder().get_app_config(app)
    alter_statements = await AutoMigrationManager(auto_input="n").get_alter_statements(
        app_config=app_config)
    statements = [s for group in alter_statements for s in group.statements]
    assert statements == [], f"{app}: migrations and tables.py differ:\n" + "\n".join(statements)


async def test_database_has_no_table_outside_tables_py():
    rows = await raw_fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert {r["tablename"] for r in rows} == {t._meta.tablename for t in TABLES} | {"migration"}


# One row per column: type with its length, NOT NULL, default, and the foreign key it carries.
_COLUMNS = """
SELECT a.attname AS name,
       format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS not_null,
       pg_get_expr(d.adbin, d.adrelid) AS default_,
       (SELECT f.relname || ' ON DELETE ' || c.confdeltype::text || ' ON UPDATE ' || c.confupdtype::text
          FROM pg_constraint c JOIN pg_class f ON f.oid = c.confrelid
         WHERE c.conrelid = a.attrelid AND c.contype = 'f' AND c.conkey = ARRAY[a.attnum]) AS fk,
       EXISTS (SELECT 1 FROM pg_index i
                WHERE i.indrelid = a.attrelid AND i.indisunique AND i.indpred IS NULL
                  AND i.indkey::int2[] = ARRAY[a.attnum]) AS unique_
  FROM pg_attribute a
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
"""


def _comparable(row):
    column = dict(row)
    if (column["default_"] or "").startswith("nextval("):
        column["default_"] = "nextval(sequence)"  # the sequence's name carries its schema
    return column


async def _piccolo_would_create(conn, tables):
    """The columns Piccolo's own DDL gives `tables`, built in a scratch schema (rolled back)."""
    await conn.execute("CREATE SCHEMA piccolo_scratch")
    await conn.execute("SET LOCAL search_path = piccolo_scratch, public")
    for table in tables:
        for ddl in table.create_table().ddl:
            await conn.execute(ddl)
    return {
        table._meta.tablename: {
            r["name"]: _comparable(r)
            for r in await conn.fetch(_COLUMNS, f'piccolo_scratch."{table._meta.tablename}"')}
        for table in tables}


async def test_columns_match_tables_py():
    """Name, type, nullability, default, foreign key and uniqueness of every column."""
    conn = await asyncpg.connect(os.environ["PORTAL_DATABASE_URL"])
    try:
        migrated = {
            t._meta.tablename: {
                r["name"]: _comparable(r)
                for r in await conn.fetch(_COLUMNS, f'public."{t._meta.tablename}"')}
            for t in TABLES}
        scratch = conn.transaction()
        await scratch.start()
        try:
            expected = await _piccolo_would_create(conn, sort_table_classes(list(TABLES)))
        finally:
            await scratch.rollback()  # leave nothing behind
    finally:
        await conn.close()
    differences = []
    for table, columns in expected.items():
        for column in sorted(columns.keys() | migrated[table].keys()):
            want, got = columns.get(column) or {}, migrated[table].get(column) or {}
            for key in sorted(want.keys() | got.keys()):
                if want.get(key) != got.get(key):
                    differences.append(f"{table}.{column} {key}: migrations give {got.get(key)!r}, "
                                       f"tables.py says {want.get(key)!r}")
    assert differences == [], "\n".join(differences)
    assert sum(len(columns) for columns in expected.values()) > 100


async def test_reference_regions_loaded_by_migration():
    """36 regions: 31 mainland divisions, Hong Kong, Macau, and the three Fujian cities (R2)."""
    assert await Region.count() == 36
    assert await Region.exists().where(Region.code == "CN-FJ-XM")
