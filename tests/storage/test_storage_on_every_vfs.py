"""The same storage workload on every I/O implementation (ZODB-style conformance).

Real files, memory and the fault injector (with no fault armed) must behave
identically: create a database, write table and index trees through the B-tree
and the WAL, checkpoint, reopen, and read back exactly what was written.
"""
from __future__ import annotations

import random

import pytest

from storage import btree, integrity
from storage.io import FaultVFS, MemoryVFS, OsVFS
from storage.pager import Pager
from storage.record import decode_record, encode_record


def _vfs_and_path(kind: str, tmp_path):
    if kind == "os":
        return OsVFS(), str(tmp_path / "t.db")
    if kind == "memory":
        return MemoryVFS(), "/mem/t.db"
    return FaultVFS(seed=1), "/fault/t.db"


def _model_rows(n: int, seed: int) -> dict[int, tuple]:
    rnd = random.Random(seed)
    rows = {}
    for i in range(n):
        rowid = rnd.randrange(-1000, 10**6)
        size = rnd.choice([0, 10, 100, 3000])
        rows[rowid] = (rowid, "t" * size, rnd.random(), None, bytes(rnd.randrange(256) for _ in range(size // 10)))
    return rows


@pytest.mark.parametrize("kind", ["os", "memory", "fault"])
@pytest.mark.parametrize("page_size", [512, 4096])
def test_write_checkpoint_reopen_read(kind, page_size, tmp_path):
    vfs, path = _vfs_and_path(kind, tmp_path)
    model = _model_rows(600, seed=page_size)
    keyinfo = btree.KeyInfo(collations=(None,), desc=(False,))

    pager = Pager.open(path, vfs=vfs, page_size=page_size)
    txn = pager.begin_write()
    troot = btree.create_tree(txn, btree.TABLE)
    iroot = btree.create_tree(txn, btree.INDEX)
    # register both trees in sqlite_schema (page 1) so that checkers see them
    btree.table_insert(txn, 1, 1, encode_record(("table", "t", "t", troot, "CREATE TABLE t(a, b, c, d, e)")))
    btree.table_insert(txn, 1, 2, encode_record(("index", "i", "t", iroot, "CREATE INDEX i ON t(c)")))
    for rowid, row in model.items():
        btree.table_insert(txn, troot, rowid, encode_record(row))
        btree.index_insert(txn, iroot, (row[2], rowid), keyinfo)
    txn.commit()

    # delete a third in a second transaction, then checkpoint half-way
    doomed = sorted(model)[::3]
    txn = pager.begin_write()
    for rowid in doomed:
        assert btree.table_delete(txn, troot, rowid)
        assert btree.index_delete(txn, iroot, (model[rowid][2], rowid), keyinfo)
        del model[rowid]
    txn.commit()
    busy, log, done = pager.checkpoint("PASSIVE")
    assert busy == 0 and log == done and log > 0
    pager.close()

    pager = Pager.open(path, vfs=vfs)
    assert pager.page_size == page_size
    rtxn = pager.begin_read()
    cur = btree.TableCursor(rtxn, troot)
    seen = {}
    ok = cur.first()
    while ok:
        seen[cur.rowid] = decode_record(cur.payload())
        ok = cur.next()
    assert seen == model
    icur = btree.IndexCursor(rtxn, iroot, keyinfo)
    keys = []
    ok = icur.first()
    while ok:
        keys.append(icur.key)
        ok = icur.next()
    assert keys == sorted((row[2], rowid) for rowid, row in model.items())
    assert integrity.check(rtxn) == []
    rtxn.end()
    pager.close()
