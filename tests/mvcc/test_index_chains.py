"""Index keys held in version chains: prefix ranges and re-inserted keys.

Two bugs found through SQL (session 2): ``index_keys`` with a prefix upper
bound skipped keys that only existed in memory (a full key sorts after its
bare prefix), and the commit leader dropped an index key that one
transaction inserted, deleted and inserted again (its own intermediate
version counted as "a key that was in the B-tree").
"""
from __future__ import annotations

import sqlite3

from mvcc.database import Database
from storage.schema_table import read_schema


def _open(tmp_path):
    path = str(tmp_path / "ix.db")
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, b)")
    con.execute("CREATE UNIQUE INDEX tb ON t(b)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [(1, 10), (2, 20)])
    con.commit()
    con.close()
    db = Database.open(path)
    r = db.pager.begin_read()
    roots = {o.name: o.rootpage for o in read_schema(r)}
    r.end()
    from storage.btree import KeyInfo
    return path, db, db.table(roots["t"]), db.index(roots["tb"], KeyInfo([None], [False]), True)


def test_prefix_range_sees_uncommitted_keys(tmp_path):
    path, db, t, ix = _open(tmp_path)
    txn = db.begin("concurrent")
    txn.insert(t, 3, (None, 15))
    txn.index_add(ix, (15, 3))
    assert list(txn.index_keys(ix, (15,), (15,))) == [(15, 3)]
    assert list(txn.index_keys(ix, (10,), (15,))) == [(10, 1), (15, 3)]
    assert list(txn.index_keys(ix, (10,), (20,), reverse=True)) == [(20, 2), (15, 3), (10, 1)]
    assert list(txn.index_keys(ix, None, (15,))) == [(10, 1), (15, 3)]
    txn.commit()
    db.close()


def test_key_inserted_deleted_and_inserted_again_is_written(tmp_path):
    path, db, t, ix = _open(tmp_path)
    txn = db.begin("concurrent")
    txn.insert(t, 3, (None, 30))
    txn.index_add(ix, (30, 3))
    txn.index_remove(ix, (30, 3))
    txn.delete(t, 3)
    txn.insert(t, 3, (None, 30))
    txn.index_add(ix, (30, 3))
    txn.insert(t, 4, (None, 40))      # inserted and deleted: must leave nothing behind
    txn.index_add(ix, (40, 4))
    txn.index_remove(ix, (40, 4))
    txn.delete(t, 4)
    txn.commit()
    db.close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert con.execute("SELECT id FROM t WHERE b = 30").fetchall() == [(3,)]
    assert con.execute("SELECT count(*) FROM t").fetchone() == (3,)
    con.close()
