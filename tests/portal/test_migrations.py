"""The committed migrations create exactly what the Piccolo tables describe."""
import pytest
from piccolo.conf.apps import Finder

from portal.db import raw_fetch
from portal.tables import Region

TABLES = Finder().get_table_classes()


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t._meta.tablename)
async def test_table_columns_match_database(table):
    rows = await raw_fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $1",
        table._meta.tablename)
    in_db = {r["column_name"] for r in rows}
    in_code = {c._meta.db_column_name for c in table._meta.columns}
    assert in_code == in_db


async def test_reference_regions_loaded_by_migration():
    """36 regions: 31 mainland divisions, Hong Kong, Macau, and the three Fujian cities (R2)."""
    assert await Region.count() == 36
    assert await Region.exists().where(Region.code == "CN-FJ-XM")
