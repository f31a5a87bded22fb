"""Fixtures for the MVCC tests: a database made by stdlib sqlite3, opened through mvcc."""
from __future__ import annotations

import sqlite3

import pytest

from mvcc.database import Database
from storage.schema_table import read_schema


class Env:
    """A Database plus the VersionedTree of table ``t(id INTEGER PRIMARY KEY, value)``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.db = Database.open(path)
        r = self.db.pager.begin_read()
        roots = {row.name: row.rootpage for row in read_schema(r)}
        r.end()
        self.t = self.db.table(roots["t"])

    def value(self, txn, rowid):
        row = txn.get(self.t, rowid)
        return None if row is None else row[1]

    def set(self, txn, rowid, value) -> bool:
        return txn.update(self.t, rowid, (None, value))

    def where(self, txn, pred):
        return sorted((rowid, row[1]) for rowid, row in txn.rows(self.t) if pred(row[1]))


@pytest.fixture
def env(tmp_path):
    path = str(tmp_path / "mv.db")
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, value)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [(1, 10), (2, 20)])
    con.commit()
    con.close()
    e = Env(path)
    yield e
    e.db._check()
    e.db.close()
