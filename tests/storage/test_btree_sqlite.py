"""Files written by sqlite3, read through our cursors and then changed by our writes.

The stdlib ``sqlite3`` module makes databases of many shapes (page sizes,
heavy deletes leaving freeblocks and fragments, overflow chains, DESC and
NOCASE indexes, WITHOUT ROWID tables, auto-vacuum); our cursors must return
exactly what sqlite3 returns, seeks must agree with a model, and after our
inserts/deletes sqlite3's integrity_check must still say ok.
"""
from __future__ import annotations

import bisect
import os
import random
import sqlite3
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from fakestore import (  # noqa: E402
    FakeStore, dump_check, entry_cmp, nocase, scan, schema_insert, sqlite_check, typed,
)

from storage import btree, freelist  # noqa: E402
from storage.page import local_size  # noqa: E402
from storage.record import encode_record  # noqa: E402

OPS = ["=", ">=", ">", "<=", "<"]

#: per index name: (collations, desc) of its key columns
KEYINFOS = {
    "t_a": ((None,), (False,)),
    "t_bd": ((nocase, None), (True, False)),
    "t_ca": ((None, None), (False, True)),
}
INDEX_COLS = {"t_a": "a, rowid", "t_bd": "b, a, rowid", "t_ca": "c, a, rowid"}
INDEX_ORDER = {
    "t_a": "a, rowid",
    "t_bd": "b COLLATE NOCASE DESC, a, rowid",
    "t_ca": "c, a DESC, rowid",
}


def _value(rnd: random.Random, big: bool):
    k = rnd.random()
    if k < 0.3:
        return rnd.randrange(-10**6, 10**6)
    if k < 0.45:
        return rnd.choice([None, 0, 1, 1.0, -2.5, 2**62, -2**63])
    if k < 0.55:
        return rnd.random() * 1000
    if k < 0.85:
        return rnd.choice(["a", "A", "b", "B", "ab", "aB", "é", "É", ""]) + str(rnd.randrange(300))
    if k < 0.95 or not big:
        return rnd.randbytes(rnd.randrange(8))
    return rnd.choice("mM") * rnd.randrange(500, 9000)


def make_db(path: str, page_size: int, shape: str, seed: int = 1) -> None:
    rnd = random.Random(seed)
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA page_size={page_size}")
    con.execute("PRAGMA journal_mode=DELETE")
    if shape == "autovacuum":
        con.execute("PRAGMA auto_vacuum=FULL")
    con.execute("CREATE TABLE t(a, b, c, d)")
    con.execute("CREATE INDEX t_a ON t(a)")
    con.execute("CREATE INDEX t_bd ON t(b COLLATE NOCASE DESC, a)")
    con.execute("CREATE INDEX t_ca ON t(c, a DESC)")
    con.execute("CREATE TABLE w(k TEXT PRIMARY KEY, v) WITHOUT ROWID")
    big = shape in ("overflow", "autovacuum")
    n = 1500 if page_size < 4096 else 3000
    rows = [(_value(rnd, big), _value(rnd, big), _value(rnd, False),
             rnd.randbytes(rnd.randrange(4000)) if big and rnd.random() < 0.2 else rnd.randrange(9))
            for _ in range(n)]
    con.executemany("INSERT INTO t VALUES (?,?,?,?)", rows)
    con.executemany("INSERT OR REPLACE INTO w VALUES (?,?)",
                    [("k%05d" % rnd.randrange(10**5), _value(rnd, big)) for _ in range(n // 2)])
    if shape in ("deletes", "autovacuum"):
        con.execute("DELETE FROM t WHERE abs(random()) % 10 < 7")
        con.execute("DELETE FROM w WHERE abs(random()) % 10 < 6")
    if shape == "updates":
        con.execute("UPDATE t SET d = zeroblob(abs(random()) % 300) WHERE rowid % 3 = 0")
        con.execute("UPDATE t SET b = NULL WHERE rowid % 5 = 0")
        con.execute("DELETE FROM t WHERE rowid % 7 = 0")
    con.commit()
    con.close()


def schema(txn) -> dict[str, tuple]:
    """name -> sqlite_schema row, read with our own cursor over page 1."""
    return {r[1]: r for _, r in scan(btree.TableCursor(txn, 1))}


SHAPES = [(512, "plain"), (512, "deletes"), (1024, "overflow"), (1024, "updates"),
          (4096, "deletes"), (4096, "overflow"), (65536, "plain"), (1024, "autovacuum")]


@pytest.mark.parametrize("page_size,shape", SHAPES)
def test_read_sqlite3_files(tmp_path, page_size, shape):
    path = str(tmp_path / "s.db")
    make_db(path, page_size, shape)
    con = sqlite3.connect(path)
    store = FakeStore.load(path)
    txn = store.read()
    sch = schema(txn)
    rnd = random.Random(page_size)
    # the table: full scans both ways, iter_rows, seeks
    exp = con.execute("SELECT rowid, a, b, c, d FROM t ORDER BY rowid").fetchall()
    troot = sch["t"][3]
    got = scan(btree.TableCursor(txn, troot))
    assert [typed((r, *v)) for r, v in got] == [typed(x) for x in exp]
    assert scan(btree.TableCursor(txn, troot), backward=True) == got
    c = btree.TableCursor(txn, troot)
    c.seek(exp[len(exp) // 2][0], ">=")
    assert [r for r, _ in c.iter_rows()] == [x[0] for x in exp[len(exp) // 2:]]
    assert btree.count(txn, troot) == len(exp)
    keys = [x[0] for x in exp]
    c = btree.TableCursor(txn, troot)
    for _ in range(300):
        k = rnd.randrange(-5, keys[-1] + 5)
        op = rnd.choice(OPS)
        if op == "=":
            e = k if k in set(keys) else None
        elif op in (">=", ">"):
            i = (bisect.bisect_left if op == ">=" else bisect.bisect_right)(keys, k)
            e = keys[i] if i < len(keys) else None
        else:
            i = (bisect.bisect_right if op == "<=" else bisect.bisect_left)(keys, k) - 1
            e = keys[i] if i >= 0 else None
        assert c.seek(k, op) == (e is not None)
        if e is not None:
            assert c.rowid == e
    # every index: scan in sqlite3's order, prefix seeks against a model
    for name, (colls, desc) in KEYINFOS.items():
        ki = btree.KeyInfo(colls, desc)
        root = sch[name][3]
        sql_rows = con.execute(f"SELECT {INDEX_COLS[name]} FROM t ORDER BY {INDEX_ORDER[name]}"
                               ).fetchall()
        ents = scan(btree.IndexCursor(txn, root, ki))
        assert [typed(e) for e in ents] == [typed(r) for r in sql_rows], name
        assert btree.count(txn, root) == len(ents)
        cur = btree.IndexCursor(txn, root, ki)
        for _ in range(150):
            n = rnd.randrange(1, len(ents[0]) + 1)
            key = rnd.choice(ents)[:n] if rnd.random() < 0.7 else (_value(rnd, False),)
            op = rnd.choice(OPS)
            m = len(key)
            if op in ("=", ">=", ">"):
                cand = [e for e in ents if entry_cmp(e, key, colls, desc, m) >= (1 if op == ">" else 0)]
                e = cand[0] if cand else None
                if op == "=" and e is not None and entry_cmp(e, key, colls, desc, m):
                    e = None
            else:
                cand = [e for e in ents if entry_cmp(e, key, colls, desc, m) <= (0 if op == "<=" else -1)]
                e = cand[-1] if cand else None
            assert cur.seek(key, op) == (e is not None), (name, key, op)
            if e is not None:
                assert typed(cur.key) == typed(e)
    # the WITHOUT ROWID table is an index b-tree keyed by (k, v)
    wrows = con.execute("SELECT k, v FROM w ORDER BY k").fetchall()
    wroot = sch["w"][3]
    assert [typed(e) for e in scan(btree.IndexCursor(txn, wroot))] == [typed(r) for r in wrows]
    if wrows:
        cur = btree.IndexCursor(txn, wroot)
        assert cur.seek((wrows[len(wrows) // 2][0],), "=")
        assert typed(cur.key) == typed(wrows[len(wrows) // 2])
    con.close()


@pytest.mark.parametrize("page_size,shape", [(512, "deletes"), (1024, "overflow"),
                                             (4096, "updates"), (65536, "plain")])
def test_modify_sqlite3_files(tmp_path, page_size, shape):
    """Our inserts, updates and deletes on a sqlite3-made file keep it valid."""
    path = str(tmp_path / "m.db")
    make_db(path, page_size, shape, seed=7)
    con = sqlite3.connect(path)
    con.execute("DROP TABLE w")
    con.commit()
    rows = {r[0]: r[1:] for r in con.execute("SELECT rowid, a, b, c, d FROM t")}
    con.close()
    store = FakeStore.load(path)
    txn = store.write()
    sch = schema(txn)
    troot = sch["t"][3]
    idx = {name: (sch[name][3], btree.KeyInfo(*KEYINFOS[name])) for name in ("t_a", "t_bd", "t_ca")}

    def keys_of(rowid, r):
        a, b, c, _ = r
        return {"t_a": (a, rowid), "t_bd": (b, a, rowid), "t_ca": (c, a, rowid)}

    rnd = random.Random(page_size)
    top = max(rows) + 200
    for _ in range(1500):
        rowid = rnd.randrange(1, top)
        old = rows.get(rowid)
        if old is not None:
            for name, k in keys_of(rowid, old).items():
                assert btree.index_delete(txn, idx[name][0], k, idx[name][1]), (name, k)
        if rnd.random() < 0.55:
            new = (_value(rnd, True), _value(rnd, True), _value(rnd, False),
                   rnd.randbytes(rnd.randrange(3 * page_size if rnd.random() < 0.1 else 20)))
            btree.table_insert(txn, troot, rowid, encode_record(new))
            for name, k in keys_of(rowid, new).items():
                assert btree.index_insert(txn, idx[name][0], k, idx[name][1])
            rows[rowid] = new
        elif old is not None:
            assert btree.table_delete(txn, troot, rowid)
            del rows[rowid]
    txn.commit()
    con = dump_check(store, path)
    got = con.execute("SELECT rowid, a, b, c, d FROM t ORDER BY rowid").fetchall()
    assert [typed(x) for x in got] == [typed((k, *v)) for k, v in sorted(rows.items())]
    r = store.read()
    for name, order in INDEX_ORDER.items():
        sql_rows = con.execute(f"SELECT {INDEX_COLS[name]} FROM t ORDER BY {order}").fetchall()
        ours = scan(btree.IndexCursor(r, idx[name][0], idx[name][1]))
        assert [typed(e) for e in ours] == [typed(x) for x in sql_rows]
    con.close()


def test_drop_and_clear_return_pages(tmp_path):
    store = FakeStore(1024)
    txn = store.write()
    roots = {}
    for name in ("keep", "gone", "empty"):
        root = btree.create_tree(txn, btree.TABLE)
        roots[name] = root
        schema_insert(txn, "table", name, name, root, f"CREATE TABLE {name}(a, b)")
    iroot = btree.create_tree(txn, btree.INDEX)
    schema_insert(txn, "index", "gone_a", "gone", iroot, "CREATE INDEX gone_a ON gone(a)")
    for r in range(1, 1200):
        for name in ("keep", "gone", "empty"):
            payload = encode_record((r, "p" * (r % 50) if r % 97 else "O" * 5000))
            btree.table_insert(txn, roots[name], r, payload)
        btree.index_insert(txn, iroot, (r, r))
    txn.commit()
    dump_check(store, str(tmp_path / "d.db")).close()
    size_before = store.db_size

    def tree_pages(t, root):
        return len(btree._tree_pages(t, root))

    txn = store.write()
    gone_pages = tree_pages(txn, roots["gone"])
    ovfl = 0
    c = btree.TableCursor(txn, roots["gone"])
    ok = c.first()
    while ok:
        if len(c.payload()) > 1024 - 35:
            ovfl += -(-(len(c.payload()) - local_size(len(c.payload()), 1024, True)) // 1020)
        ok = c.next()
    idx_pages = tree_pages(txn, iroot)
    empty_pages = tree_pages(txn, roots["empty"])
    empty_ovfl = ovfl  # the same rows went into "empty"
    btree.drop_tree(txn, roots["gone"])
    btree.drop_tree(txn, iroot)
    btree.clear_tree(txn, roots["empty"])
    assert btree.count(txn, roots["empty"]) == 0
    freed = gone_pages + ovfl + idx_pages + (empty_pages - 1) + empty_ovfl
    assert freelist.free_count(txn) == freed
    free_list = list(freelist.iter_free_pages(txn))
    assert len(free_list) == len(set(free_list)) == freed
    # remove the schema rows of the dropped trees
    for rowid, rec in scan(btree.TableCursor(txn, 1)):
        if rec[1] in ("gone", "gone_a"):
            btree.table_delete(txn, 1, rowid)
    h = txn.writable(1).data
    h[40:44] = (int.from_bytes(h[40:44], "big") + 1).to_bytes(4, "big")
    txn.commit()
    con = dump_check(store, str(tmp_path / "d.db"))
    assert con.execute("PRAGMA freelist_count").fetchone()[0] == freed
    assert con.execute("SELECT count(*) FROM keep").fetchone()[0] == 1199
    assert con.execute("SELECT count(*) FROM empty").fetchone()[0] == 0
    con.close()
    # reuse: new data fits in the freed pages, the file does not grow
    txn = store.write()
    root = btree.create_tree(txn, btree.TABLE)
    schema_insert(txn, "table", "again", "again", root, "CREATE TABLE again(a, b)")
    for r in range(1, 400):
        btree.table_insert(txn, root, r, encode_record((r, "q" * 30)))
    assert txn.db_size == size_before
    assert freelist.free_count(txn) < freed
    txn.commit()
    con = dump_check(store, str(tmp_path / "d.db"))
    assert con.execute("SELECT count(*) FROM again").fetchone()[0] == 399


def test_drop_sqlite3_made_table(tmp_path):
    path = str(tmp_path / "x.db")
    make_db(path, 1024, "overflow")
    con = sqlite3.connect(path)
    con.execute("DROP INDEX t_bd")
    con.execute("DROP INDEX t_ca")
    con.commit()
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.close()
    store = FakeStore.load(path)
    txn = store.write()
    before = freelist.free_count(txn)
    sch = schema(txn)
    for name in ("t", "t_a", "w"):
        btree.drop_tree(txn, sch[name][3])
    for rowid, rec in scan(btree.TableCursor(txn, 1)):
        btree.table_delete(txn, 1, rowid)
    h = txn.writable(1).data
    h[40:44] = (int.from_bytes(h[40:44], "big") + 1).to_bytes(4, "big")
    assert freelist.free_count(txn) == pages - 1  # everything but page 1
    assert before < pages - 1
    txn.commit()
    con = dump_check(store, path)
    assert con.execute("SELECT count(*) FROM sqlite_schema").fetchone() == (0,)
    assert con.execute("PRAGMA freelist_count").fetchone()[0] == pages - 1


def test_sqlite3_reuses_our_freelist(tmp_path):
    """sqlite3 can allocate from a freelist we built (trunks and leaves)."""
    store = FakeStore(512)
    txn = store.write()
    root = btree.create_tree(txn, btree.TABLE)
    schema_insert(txn, "table", "t", "t", root, "CREATE TABLE t(a, b)")
    for r in range(3000):
        btree.table_insert(txn, root, r, encode_record((r, "f" * 60)))
    for r in range(0, 3000):
        if r % 10:
            btree.table_delete(txn, root, r)
    nfree = freelist.free_count(txn)
    assert nfree > (512 // 4 - 8)  # more than one trunk's worth
    txn.commit()
    path = str(tmp_path / "f.db")
    con = dump_check(store, path)
    assert con.execute("PRAGMA freelist_count").fetchone()[0] == nfree
    con.executemany("INSERT INTO t VALUES (?, ?)", [(i, "g" * 60) for i in range(2000)])
    con.commit()
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()
    # and we read what sqlite3 wrote into our former free pages
    store = FakeStore.load(path)
    got = scan(btree.TableCursor(store.read(), root))
    assert len(got) == 300 + 2000
    sqlite_check(path).close()
