"""DDL inside MVCC transactions: trees created and dropped at commit, sqlite3 sees them."""
from __future__ import annotations

import sqlite3

import pytest

from mvcc.database import Database
from mvcc.errors import SchemaChangedError
from storage import btree

KEYINFO = btree.KeyInfo(collations=(None,), desc=(False,))


def _schema_rows(path):
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = con.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name").fetchall()
    data = con.execute("SELECT * FROM n ORDER BY id").fetchall() if any(r[1] == "n" for r in rows) else None
    cookie = con.execute("PRAGMA schema_version").fetchone()[0]
    con.close()
    return rows, data, cookie


def _create_table_with_index(db, rows):
    txn = db.begin("immediate")
    schema = db.table(1)
    t = txn.create_tree("table")
    i = txn.create_tree("index", keyinfo=KEYINFO)
    assert t.root < 0 and i.root < 0
    txn.insert_auto(schema, ("table", "n", "n", t.root, "CREATE TABLE n(id INTEGER PRIMARY KEY, v)"))
    txn.insert_auto(schema, ("index", "nv", "n", i.root, "CREATE INDEX nv ON n(v)"))
    for rowid, v in rows:
        txn.insert(t, rowid, (None, v))
        txn.index_add(i, (v, rowid))
    assert [r for r, _ in txn.rows(t)] == [r for r, _ in rows]   # readable before commit
    txn.commit()
    assert t.root > 1 and i.root > 1 and db.trees[t.root] is t
    return t, i


def test_create_table_and_index_in_one_transaction(tmp_path):
    path = str(tmp_path / "ddl.db")
    db = Database.open(path)
    t, i = _create_table_with_index(db, [(1, "a"), (2, "b"), (3, "c")])
    reader = db.begin()
    roots = {row[1]: row[3] for _, row in reader.rows(db.table(1))}
    assert roots == {"n": t.root, "nv": i.root}
    assert list(reader.index_keys(i)) == [("a", 1), ("b", 2), ("c", 3)]
    reader.commit()
    db.close()
    rows, data, cookie = _schema_rows(path)
    assert [r[1] for r in rows] == ["n", "nv"]
    assert data == [(1, "a"), (2, "b"), (3, "c")]
    assert cookie == 1


def test_rolled_back_create_leaves_nothing(tmp_path):
    path = str(tmp_path / "rb.db")
    db = Database.open(path)
    txn = db.begin("immediate")
    t = txn.create_tree("table")
    txn.insert_auto(db.table(1), ("table", "n", "n", t.root, "CREATE TABLE n(id INTEGER PRIMARY KEY, v)"))
    txn.insert(t, 1, (None, "x"))
    txn.rollback()
    assert t.root not in db.trees
    db.close()
    rows, data, cookie = _schema_rows(path)
    assert rows == [] and data is None


def test_drop_frees_pages_and_old_transactions_get_sqlite_schema(tmp_path):
    path = str(tmp_path / "drop.db")
    db = Database.open(path)
    t, i = _create_table_with_index(db, [(k, "x" * 300) for k in range(1, 200)])
    old = db.begin()
    old.insert_auto(t, (None, "late"))
    ddl = db.begin("immediate")
    schema = db.table(1)
    for rowid, row in list(ddl.rows(schema)):
        ddl.delete(schema, rowid)
    ddl.drop_tree(i)
    ddl.drop_tree(t)
    ddl.commit()
    with pytest.raises(SchemaChangedError):
        old.commit()
    db.close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] == 0
    assert con.execute("PRAGMA freelist_count").fetchone()[0] > 10
    con.close()
