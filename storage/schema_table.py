"""A minimal reader of ``sqlite_schema``, the table rooted at page 1.

Single job: list the schema objects of a database as plain rows, through the
B-tree layer (``btree.TableCursor``), so that storage tools (the inspector,
the demo, tests) can find table and index root pages before the SQL layer
exists; ``sql/`` will replace it with a real schema. The row format is that
of section 2.6 "Storage Of The SQL Database Schema" in SQLite's "Database
File Format" document (https://www.sqlite.org/fileformat2.html):

| column   | meaning                                                   |
|----------|-----------------------------------------------------------|
| type     | 'table', 'index', 'view' or 'trigger'                     |
| name     | the object's name                                         |
| tbl_name | the table it belongs to (its own name for a table)        |
| rootpage | root page of its b-tree; 0 (or NULL) for views, triggers  |
|          | and virtual tables                                        |
| sql      | the CREATE statement; NULL for automatic indexes          |

Public surface: ``SchemaRow``, ``read_schema(txn) -> list[SchemaRow]``.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from storage import btree
from storage.errors import CorruptError

__all__ = ["SchemaRow", "read_schema", "SCHEMA_ROOT"]

#: sqlite_schema's root page is always page 1
SCHEMA_ROOT = 1


class SchemaRow(NamedTuple):
    """One row of ``sqlite_schema``."""

    type: str
    name: str
    tbl_name: str
    rootpage: int
    sql: str | None


def _text(v: Any) -> str | None:
    """A text column the way SQLite reads it: a blob or a number converts to text."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def read_schema(txn: Any) -> list[SchemaRow]:
    """Every row of ``sqlite_schema`` in rowid order.

    Lenient where SQLite is (a name or SQL stored as a blob or number reads as
    text; a NULL root page is 0); ``CorruptError`` where it is not: fewer than
    five columns, a NULL type/name/tbl_name, a root page that is not a
    non-negative integer.
    """
    cur = btree.TableCursor(txn, SCHEMA_ROOT)
    rows: list[SchemaRow] = []
    ok = cur.first()
    while ok:
        rec = cur.record()
        if len(rec) < 5:
            raise CorruptError(detail=f"sqlite_schema row {cur.rowid} has {len(rec)} columns")
        typ, name, tbl, sql = _text(rec[0]), _text(rec[1]), _text(rec[2]), _text(rec[4])
        root = rec[3]
        if root is None:
            root = 0
        elif isinstance(root, float) and root.is_integer():
            root = int(root)
        if typ is None or name is None or tbl is None or not isinstance(root, int) or root < 0:
            raise CorruptError(detail=f"sqlite_schema row {cur.rowid} is malformed")
        rows.append(SchemaRow(typ, name, tbl, root, sql))
        ok = cur.next()
    return rows
