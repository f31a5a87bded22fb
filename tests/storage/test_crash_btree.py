"""Crash points during B-tree commits (inserts, deletes, overflow chains) and the
checkpoints they trigger: after each simulated power loss,

1. stdlib sqlite3, opening the surviving db + WAL bytes *before* we touch
   them, says ``integrity_check`` ok and sees exactly the rows of the last
   returned commit or of the one in flight (never a mix);
2. our pager recovers the same rows, our integrity checker agrees, and after
   our close (checkpoint + WAL removal) sqlite3 still says ok.
"""
from __future__ import annotations

import os
import random
import sqlite3

import pytest

from storage import btree, integrity
from storage.io import FaultVFS, SimulatedCrash
from storage.pager import Pager
from storage.record import decode_record, encode_record

PATH = "/cb/t.db"
KI = btree.KeyInfo(collations=(None,), desc=(False,))
KINDS = ("write", "sync", "truncate")


def _row(rowid: int, rnd: random.Random) -> tuple:
    size = rnd.choice([5, 40, 200, 2500])  # 2500 > a 1024-byte page: overflow chains
    return (rowid, "r%d-" % rowid + "x" * size, rnd.randrange(100))


def _setup(vfs: FaultVFS) -> tuple[Pager, dict, tuple[int, int]]:
    rnd = random.Random(7)
    pager = Pager.open(PATH, vfs=vfs, page_size=1024, wal_autocheckpoint=0)
    txn = pager.begin_write()
    troot = btree.create_tree(txn, btree.TABLE)
    iroot = btree.create_tree(txn, btree.INDEX)
    btree.table_insert(txn, 1, 1, encode_record(("table", "t", "t", troot, "CREATE TABLE t(a, b, c)")))
    btree.table_insert(txn, 1, 2, encode_record(("index", "i", "t", iroot, "CREATE INDEX i ON t(c)")))
    model = {}
    for rowid in range(1, 121):
        model[rowid] = _row(rowid, rnd)
        btree.table_insert(txn, troot, rowid, encode_record(model[rowid]))
        btree.index_insert(txn, iroot, (model[rowid][2], rowid), KI)
    txn.commit()
    txn = pager.begin_write()
    for rowid in range(3, 121, 4):
        btree.table_delete(txn, troot, rowid)
        btree.index_delete(txn, iroot, (model.pop(rowid)[2], rowid), KI)
    txn.commit()
    return pager, model, (troot, iroot)


def _action(pager: Pager, model: dict, roots) -> dict:
    """One commit of inserts, deletes and replacements; returns the new model."""
    troot, iroot = roots
    rnd = random.Random(11)
    new = dict(model)
    txn = pager.begin_write()
    for rowid in list(new)[::3]:
        btree.table_delete(txn, troot, rowid)
        btree.index_delete(txn, iroot, (new.pop(rowid)[2], rowid), KI)
    for rowid in list(range(200, 260)) + [5, 6]:
        if rowid in new:
            btree.index_delete(txn, iroot, (new[rowid][2], rowid), KI)
        new[rowid] = _row(rowid, rnd)
        btree.table_insert(txn, troot, rowid, encode_record(new[rowid]))
        btree.index_insert(txn, iroot, (new[rowid][2], rowid), KI)
    pager.wal_autocheckpoint = 1  # the commit ends with a checkpoint: crash points there too
    txn.commit()
    return new


def _sqlite_rows(tmp, vfs: FaultVFS, tag: str) -> list:
    """Rows sqlite3 sees in the durable db (+ WAL) bytes; integrity must be ok."""
    d = os.path.join(tmp, tag)
    os.makedirs(d, exist_ok=True)
    db = os.path.join(d, "t.db")
    with open(db, "wb") as f:
        f.write(vfs.base.read_bytes(PATH))
    if vfs.base.exists(PATH + "-wal"):
        with open(db + "-wal", "wb") as f:
            f.write(vfs.base.read_bytes(PATH + "-wal"))
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", tag
        return con.execute("SELECT rowid, a, b, c FROM t ORDER BY rowid").fetchall()
    finally:
        con.close()


def _as_rows(model: dict) -> list:
    return [(rid,) + model[rid] for rid in sorted(model)]


def _our_rows(vfs: FaultVFS, roots) -> list:
    pager = Pager.open(PATH, vfs=vfs)
    try:
        with pager.begin_read() as r:
            assert integrity.check(r) == []
            cur = btree.TableCursor(r, roots[0])
            rows = []
            ok = cur.first()
            while ok:
                rows.append((cur.rowid,) + decode_record(cur.payload()))
                ok = cur.next()
            icur = btree.IndexCursor(r, roots[1], KI)
            keys = []
            ok = icur.first()
            while ok:
                keys.append(icur.key)
                ok = icur.next()
            assert keys == sorted((row[3], row[0]) for row in rows)
    finally:
        pager.close()
    return rows


@pytest.mark.parametrize("tear", ["sector", "any"])
def test_btree_commit_crash_points(tmp_path, tear):
    vfs = FaultVFS(seed=0)
    pager, model, roots = _setup(vfs)
    before = _as_rows(model)
    n0 = vfs.writes + vfs.syncs + vfs.truncates
    after = _as_rows(_action(pager, model, roots))
    n = vfs.writes + vfs.syncs + vfs.truncates - n0
    assert n >= 4 and pager.stats["checkpoints"] == 1
    pager.close()
    assert _sqlite_rows(str(tmp_path), vfs, "clean") == after
    seen = set()
    for k in range(1, n + 1):
        for seed in range(5):
            vfs = FaultVFS(seed=100 * k + seed, tear=tear)
            pager, model, roots = _setup(vfs)
            vfs.crash_at(k, kinds=KINDS)
            with pytest.raises(SimulatedCrash):
                _action(pager, model, roots)
            vfs.crash()
            tag = f"k{k}s{seed}"
            theirs = _sqlite_rows(str(tmp_path), vfs, tag)
            assert theirs in (before, after), tag
            ours = _our_rows(vfs, roots)  # recovers, checks, closes (checkpoint)
            assert ours == theirs, tag
            assert _sqlite_rows(str(tmp_path), vfs, tag + "-closed") == ours
            seen.add(ours == after)
    assert seen == {True, False}
