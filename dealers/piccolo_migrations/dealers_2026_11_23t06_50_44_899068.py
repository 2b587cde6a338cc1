from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete
from piccolo.columns.base import OnUpdate
from piccolo.columns.column_types import ForeignKey
from piccolo.columns.column_types import Serial
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class SparePart(Table, tablename="spare_part", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


ID = "2026-11-23T06:50:44:899068"
VERSION = "1.38.0"
DESCRIPTION = "spare part lines"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="dealers", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="ReturnLine",
        tablename="return_line",
        column_name="spare_part",
        db_column_name="spare_part",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": SparePart,
            "on_delete": OnDelete.restrict,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.alter_column(
        table_class_name="ReturnLine",
        tablename="return_line",
        column_name="product",
        db_column_name="product",
        params={"null": True},
        old_params={"null": False},
        column_class=ForeignKey,
        old_column_class=ForeignKey,
        schema=None,
    )

    return manager
