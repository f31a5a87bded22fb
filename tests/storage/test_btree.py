"""Table and index B-trees against dict/sorted-list models, with sqlite3 as the judge.

Every run ends by dumping the file and asking sqlite3 for ``PRAGMA
integrity_check`` (which also cross-checks the index against its table) and
for every row, which must equal the model.
"""
from __future__ import annotations

import bisect
import functools
import os
import random
import sys
import tempfile

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

sys.path.insert(0, os.path.dirname(__file__))
from fakestore import (  # noqa: E402
    FakeStore, dump_check, entry_cmp, nocase, scan, schema_insert, typed,
)

from storage import btree, freelist  # noqa: E402
from storage.record import decode_record, encode_record  # noqa: E402

OPS = ["=", ">=", ">", "<=", "<"]
PAGE_CONFIGS = [(512, 0), (512, 32), (1024, 0), (4096, 0), (4096, 32), (65536, 0)]
MACHINE_SETTINGS = settings(max_examples=int(os.environ.get("MVLITE_BTREE_EXAMPLES", "50")),
                            stateful_step_count=40, deadline=None,
                            suppress_health_check=list(HealthCheck))


def _blob(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


# -- table trees -------------------------------------------------------------------

class TableMachine(RuleBasedStateMachine):
    """insert/update/delete by rowid, seeks with every op, scans both ways."""

    @initialize(cfg=st.sampled_from(PAGE_CONFIGS), prefill=st.sampled_from([0, 40, 700, 2500]),
                seed=st.integers(0, 2**20))
    def setup(self, cfg, prefill, seed):
        ps, res = cfg
        self.usable = ps - res
        self.store = FakeStore(ps, res)
        self.txn = self.store.write()
        self.root = btree.create_tree(self.txn, btree.TABLE)
        schema_insert(self.txn, "table", "t", "t", self.root, "CREATE TABLE t(a, b)")
        self.model: dict[int, tuple] = {}
        # start from a tree of some depth, filled in random order
        rnd = random.Random(seed)
        for r in rnd.sample(range(-20, 3000), prefill):
            self._put(r, rnd.randrange(2**20), rnd.randrange(120) if rnd.random() < 0.95
                      else rnd.randrange(3 * self.usable))

    def _size(self, s: int) -> int:
        # small rows mostly; above 200 scale to the page so that payloads span
        # from one cell to several overflow pages whatever the page size
        return s if s < 200 else (s - 200) * self.usable // 600

    def _put(self, rowid: int, seed: int, size: int) -> None:
        vals = (seed, _blob(seed, size))
        btree.table_insert(self.txn, self.root, rowid, encode_record(vals))
        self.model[rowid] = vals

    @rule(rowid=st.one_of(st.integers(-20, 3100),
                          st.sampled_from([-2**63, 2**63 - 1, 0, 1, -1, 2**31, 2**40])),
          s=st.integers(0, 2600), seed=st.integers(0, 2**20))
    def insert(self, rowid, s, seed):
        self._put(rowid, seed, self._size(s))

    @rule(start=st.integers(-20, 3100), n=st.integers(1, 400), s=st.integers(0, 150),
          seed=st.integers(0, 2**20))
    def bulk_insert(self, start, n, s, seed):
        rnd = random.Random(seed)
        for r in range(start, start + n):
            self._put(r, rnd.randrange(2**20), rnd.randrange(s + 1))

    @rule(rowid=st.integers(-20, 3100))
    def delete(self, rowid):
        assert btree.table_delete(self.txn, self.root, rowid) == (rowid in self.model)
        self.model.pop(rowid, None)

    @rule(start=st.integers(-20, 3100), n=st.integers(1, 1500), step=st.integers(1, 3))
    def bulk_delete(self, start, n, step):
        for r in range(start, start + n, step):
            assert btree.table_delete(self.txn, self.root, r) == (r in self.model)
            self.model.pop(r, None)

    @rule(data=st.data())
    def update_existing(self, data):
        if not self.model:
            return
        rowid = data.draw(st.sampled_from(sorted(self.model)))
        self._put(rowid, data.draw(st.integers(0, 2**20)), self._size(data.draw(st.integers(0, 2600))))

    @rule(rowid=st.one_of(st.integers(-30, 3120), st.sampled_from([-2**63, 2**63 - 1])),
          op=st.sampled_from(OPS))
    def seek(self, rowid, op):
        keys = sorted(self.model)
        if op == "=":
            exp = rowid if rowid in self.model else None
        elif op == ">=":
            i = bisect.bisect_left(keys, rowid)
            exp = keys[i] if i < len(keys) else None
        elif op == ">":
            i = bisect.bisect_right(keys, rowid)
            exp = keys[i] if i < len(keys) else None
        elif op == "<=":
            i = bisect.bisect_right(keys, rowid) - 1
            exp = keys[i] if i >= 0 else None
        else:
            i = bisect.bisect_left(keys, rowid) - 1
            exp = keys[i] if i >= 0 else None
        c = btree.TableCursor(self.txn, self.root)
        assert c.seek(rowid, op) == (exp is not None)
        assert c.valid == (exp is not None)
        if exp is not None:
            assert c.rowid == exp
            assert c.record() == self.model[exp]
            # and the neighbours are right too
            i = keys.index(exp)
            if c.next():
                assert c.rowid == keys[i + 1]
                assert c.prev() and c.rowid == exp
            else:
                assert i == len(keys) - 1
            if c.valid and c.prev():
                assert c.rowid == keys[i - 1]
            elif c.valid:
                assert i == 0

    @rule()
    def scans(self):
        exp = sorted(self.model.items())
        assert scan(btree.TableCursor(self.txn, self.root)) == exp
        assert scan(btree.TableCursor(self.txn, self.root), backward=True) == exp
        c = btree.TableCursor(self.txn, self.root)
        c.first()
        assert list(c.iter_rows()) == exp
        assert btree.count(self.txn, self.root) == len(exp)
        assert btree.table_max_rowid(self.txn, self.root) == (exp[-1][0] if exp else None)

    @rule()
    def commit_and_continue(self):
        self.txn.commit()
        self.txn = self.store.write()

    @invariant()
    def size_matches(self):
        if hasattr(self, "txn"):
            assert btree.count(self.txn, self.root) == len(self.model)

    def teardown(self):
        if not hasattr(self, "store"):
            return
        _depth_and_pages(self.txn, self.root)
        self.txn.commit()
        with tempfile.TemporaryDirectory() as d:
            con = dump_check(self.store, os.path.join(d, "t.db"))
            rows = con.execute("SELECT rowid, a, b FROM t").fetchall()
            con.close()
        assert rows == [(k, *v) for k, v in sorted(self.model.items())]


TestTableMachine = TableMachine.TestCase
TestTableMachine.settings = MACHINE_SETTINGS


# -- index trees -------------------------------------------------------------------

_WORDS = ["a", "A", "b", "B", "ab", "aB", "AB", "abc", "é", "É", "z", "", "a b"]
index_values = st.one_of(
    st.none(),
    st.integers(-5, 5),
    st.sampled_from([-2**63, 2**63 - 1, 2**40]),
    st.sampled_from([1.0, -0.5, 2.5, 1e300, -1e300, float("inf"), float("-inf")]),
    st.sampled_from(_WORDS),
    st.text(max_size=4),
    st.binary(max_size=4),
    st.builds(lambda c, n: c * n, st.sampled_from("xyXY"), st.integers(50, 3000)),  # overflow
)


class IndexMachine(RuleBasedStateMachine):
    """An index on t(a, b) kept in step with table t; seeks with prefix keys."""

    @initialize(cfg=st.sampled_from(PAGE_CONFIGS), desc=st.tuples(st.booleans(), st.booleans()),
                use_nocase=st.booleans(), prefill=st.sampled_from([0, 30, 250, 700]),
                seed=st.integers(0, 2**20))
    def setup(self, cfg, desc, use_nocase, prefill, seed):
        ps, res = cfg
        self.store = FakeStore(ps, res)
        self.txn = self.store.write()
        self.colls = (nocase if use_nocase else None, None)
        self.desc = desc
        self.ki = btree.KeyInfo(self.colls, desc)
        self.troot = btree.create_tree(self.txn, btree.TABLE)
        self.iroot = btree.create_tree(self.txn, btree.INDEX)
        schema_insert(self.txn, "table", "t", "t", self.troot, "CREATE TABLE t(a, b)")
        self.order = "a%s%s, b%s" % (" COLLATE NOCASE" if use_nocase else "",
                                     " DESC" if desc[0] else "", " DESC" if desc[1] else "")
        schema_insert(self.txn, "index", "i", "t", self.iroot, f"CREATE INDEX i ON t({self.order})")
        self.model: dict[int, tuple] = {}
        self._ents = None
        if prefill:
            self.bulk_put(prefill, seed, seed % 3 == 0)

    def _cmp(self, x, y, n=None):
        return entry_cmp(x, y, self.colls, self.desc, n)

    def _entries(self):
        if self._ents is None:
            self._ents = sorted(((a, b, r) for r, (a, b) in self.model.items()),
                                key=functools.cmp_to_key(self._cmp))
        return self._ents

    def _remove(self, rowid):
        self._ents = None
        a, b = self.model.pop(rowid)
        assert btree.index_delete(self.txn, self.iroot, (a, b, rowid), self.ki)
        assert btree.table_delete(self.txn, self.troot, rowid)

    def _put(self, rowid, a, b):
        if rowid in self.model:
            self._remove(rowid)
        btree.table_insert(self.txn, self.troot, rowid, encode_record((a, b)))
        assert btree.index_insert(self.txn, self.iroot, (a, b, rowid), self.ki)
        self.model[rowid] = (a, b)
        self._ents = None

    @rule(rowid=st.integers(1, 400), a=index_values, b=index_values)
    def put(self, rowid, a, b):
        self._put(rowid, a, b)

    @rule(n=st.integers(1, 300), seed=st.integers(0, 2**20), big=st.booleans())
    def bulk_put(self, n, seed, big):
        rnd = random.Random(seed)
        pool = [None, 0, 1, -3, 2.5, 1.0, "a", "A", "b", "abc", "ABC", b"\x00", b"a", "é"]
        for _ in range(n):
            a = rnd.choice(pool) if rnd.random() < 0.7 else rnd.randrange(-1000, 1000)
            if big and rnd.random() < 0.2:
                a = rnd.choice("pqPQ") * rnd.randrange(100, 1500)
            self._put(rnd.randrange(1, 2000), a, rnd.choice(pool))

    @rule(data=st.data())
    def remove_existing(self, data):
        if self.model:
            self._remove(data.draw(st.sampled_from(sorted(self.model))))

    @rule(n=st.integers(1, 300), seed=st.integers(0, 2**20))
    def bulk_remove(self, n, seed):
        keys = sorted(self.model)
        random.Random(seed).shuffle(keys)
        for r in keys[:n]:
            self._remove(r)

    @rule(a=index_values, b=index_values, rowid=st.integers(0, 2001))
    def delete_missing(self, a, b, rowid):
        if rowid in self.model and self._cmp((a, b, rowid), (*self.model[rowid], rowid)) == 0:
            return  # an entry equal to it exists: covered by remove_existing
        assert not btree.index_delete(self.txn, self.iroot, (a, b, rowid), self.ki)

    @rule(data=st.data(), op=st.sampled_from(OPS), n=st.integers(1, 3))
    def seek(self, data, op, n):
        ents = self._entries()
        if ents and data.draw(st.booleans()):
            key = data.draw(st.sampled_from(ents))[:n]  # a key that is there
        else:
            key = (data.draw(index_values), data.draw(index_values), data.draw(st.integers(0, 2001)))[:n]
        if op in ("=", ">="):
            cand = [e for e in ents if self._cmp(e, key, n) >= 0]
            exp = cand[0] if cand else None
            if op == "=" and exp is not None and self._cmp(exp, key, n) != 0:
                exp = None
        elif op == ">":
            cand = [e for e in ents if self._cmp(e, key, n) > 0]
            exp = cand[0] if cand else None
        elif op == "<=":
            cand = [e for e in ents if self._cmp(e, key, n) <= 0]
            exp = cand[-1] if cand else None
        else:
            cand = [e for e in ents if self._cmp(e, key, n) < 0]
            exp = cand[-1] if cand else None
        c = btree.IndexCursor(self.txn, self.iroot, self.ki)
        assert c.seek(key, op) == (exp is not None), (key, op, exp)
        if exp is not None:
            assert typed(c.key) == typed(exp)
            i = ents.index(exp)
            if c.next():
                assert typed(c.key) == typed(ents[i + 1])
                assert c.prev() and typed(c.key) == typed(exp)
            else:
                assert i == len(ents) - 1

    @rule()
    def scans(self):
        exp = [typed(e) for e in self._entries()]
        assert [typed(k) for k in scan(btree.IndexCursor(self.txn, self.iroot, self.ki))] == exp
        assert [typed(k) for k in scan(btree.IndexCursor(self.txn, self.iroot, self.ki),
                                       backward=True)] == exp
        c = btree.IndexCursor(self.txn, self.iroot, self.ki)
        c.first()
        assert [typed(k) for k in c.iter_keys()] == exp
        assert btree.count(self.txn, self.iroot) == len(exp)

    @rule()
    def commit_and_continue(self):
        self.txn.commit()
        self.txn = self.store.write()

    def teardown(self):
        if not hasattr(self, "store"):
            return
        _depth_and_pages(self.txn, self.iroot)
        _depth_and_pages(self.txn, self.troot)
        self.txn.commit()
        with tempfile.TemporaryDirectory() as d:
            con = dump_check(self.store, os.path.join(d, "i.db"))
            rows = con.execute(f"SELECT a, b, rowid FROM t INDEXED BY i ORDER BY {self.order}, rowid"
                               ).fetchall()
            con.close()
        assert [typed(r) for r in rows] == [typed(e) for e in self._entries()]
        got = scan(btree.IndexCursor(self.store.read(), self.iroot, self.ki))
        assert [typed(k) for k in got] == [typed(r) for r in rows]


TestIndexMachine = IndexMachine.TestCase
TestIndexMachine.settings = MACHINE_SETTINGS


# -- unit checks of the tree shape rules ------------------------------------------------

def _depth_and_pages(txn, root):
    """(leaf depth, number of pages) of a tree, asserting SQLite's shape rules: every
    leaf at the same depth, no non-root page empty, one page type per level."""
    depths = set()
    types: dict[int, int] = {}
    pages = 0

    def walk(pgno, d):
        nonlocal pages
        pages += 1
        data = txn.page(pgno).data
        hdr = 100 if pgno == 1 else 0
        n = int.from_bytes(data[hdr + 3:hdr + 5], "big")
        if pgno != root:
            assert n > 0, f"non-root page {pgno} is empty"
        assert types.setdefault(d, data[hdr]) == data[hdr], f"page {pgno}: mixed page types"
        if data[hdr] & 8:
            depths.add(d)
            return
        node = btree._load(txn, pgno, data[hdr] & 1 == 1)
        for c in node.child:
            walk(c, d + 1)

    walk(root, 0)
    assert len(depths) == 1
    return depths.pop(), pages


def test_sequential_append_packs_pages_full(tmp_path):
    """Rowids in order use SQLite's balance_quick: leaves end up (nearly) full."""
    store = FakeStore(1024)
    txn = store.write()
    root = btree.create_tree(txn, btree.TABLE)
    schema_insert(txn, "table", "t", "t", root, "CREATE TABLE t(a, b)")
    rec = encode_record((None, "x" * 40))
    for r in range(1, 5001):
        btree.table_insert(txn, root, r, rec)
    depth, pages = _depth_and_pages(txn, root)
    per_leaf = (1024 - 8) // (len(rec) + 2 + 2 + 2)
    assert pages <= 5000 / per_leaf * 1.1 + 5
    assert depth >= 2
    txn.commit()
    con = dump_check(store, str(tmp_path / "a.db"))
    assert con.execute("SELECT count(*), min(rowid), max(rowid) FROM t").fetchone() == (5000, 1, 5000)


def test_index_append_packs_pages(tmp_path):
    store = FakeStore(1024)
    txn = store.write()
    troot = btree.create_tree(txn, btree.TABLE)
    iroot = btree.create_tree(txn, btree.INDEX)
    schema_insert(txn, "table", "t", "t", troot, "CREATE TABLE t(a)")
    schema_insert(txn, "index", "i", "t", iroot, "CREATE INDEX i ON t(a)")
    for r in range(1, 3001):
        btree.table_insert(txn, troot, r, encode_record((r * 10,)))
        btree.index_insert(txn, iroot, (r * 10, r))
    _, pages = _depth_and_pages(txn, iroot)
    assert pages < 3000 * 9 / (1024 - 12) * 1.25 + 5
    txn.commit()
    dump_check(store, str(tmp_path / "a.db"))


def test_delete_everything_collapses_to_empty_root(tmp_path):
    store = FakeStore(512)
    txn = store.write()
    root = btree.create_tree(txn, btree.TABLE)
    schema_insert(txn, "table", "t", "t", root, "CREATE TABLE t(a, b)")
    keys = list(range(2000))
    random.Random(3).shuffle(keys)
    for r in keys:
        btree.table_insert(txn, root, r, encode_record((r, "y" * (r % 90))))
    size_full = txn.db_size
    random.Random(4).shuffle(keys)
    for r in keys:
        assert btree.table_delete(txn, root, r)
    assert _depth_and_pages(txn, root) == (0, 1)
    # every page but the two roots (sqlite_schema and t) is on the freelist
    assert freelist.free_count(txn) == size_full - 2
    txn.commit()
    con = dump_check(store, str(tmp_path / "e.db"))
    assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_schema_root_page1_grows_and_shrinks(tmp_path):
    """Page 1 (100 bytes shorter) overflows into children and pulls them back up."""
    store = FakeStore(512)
    txn = store.write()
    names = []
    for i in range(60):
        root = btree.create_tree(txn, btree.TABLE)
        name = f"table_with_a_long_name_{i:03d}"
        schema_insert(txn, "table", name, name, root, f"CREATE TABLE {name}(a, b)")
        names.append((name, root))
    assert txn.page(1).data[100] == 5  # page 1 is an interior page now
    txn.commit()
    con = dump_check(store, str(tmp_path / "s.db"))
    assert len(con.execute("SELECT name FROM sqlite_schema").fetchall()) == 60
    con.close()
    txn = store.write()
    c = btree.TableCursor(txn, 1)
    rowids = [r for r, _ in scan(c)]
    for r in rowids[:-1]:
        btree.table_delete(txn, 1, r)
    for name, root in names[:-1]:
        btree.drop_tree(txn, root)
    assert txn.page(1).data[100] == 13  # back to a single leaf
    h = txn.writable(1).data
    h[40:44] = (int.from_bytes(h[40:44], "big") + 1).to_bytes(4, "big")
    txn.commit()
    con = dump_check(store, str(tmp_path / "s.db"))
    assert [r[0] for r in con.execute("SELECT name FROM sqlite_schema")] == [names[-1][0]]


def test_index_insert_equal_key(tmp_path):
    """An equal key: identical bytes are a no-op; a collation-equal key replaces the bytes."""
    store = FakeStore(4096)
    txn = store.write()
    ki = btree.KeyInfo((nocase,), (False,))
    iroot = btree.create_tree(txn, btree.INDEX)
    assert btree.index_insert(txn, iroot, ("abc", 1), ki)
    assert not btree.index_insert(txn, iroot, ("abc", 1), ki)
    assert not btree.index_insert(txn, iroot, ("ABC", 1), ki)
    assert scan(btree.IndexCursor(txn, iroot, ki)) == [("ABC", 1)]
    assert btree.index_insert(txn, iroot, ("ABC", 2), ki)
    assert btree.count(txn, iroot) == 2
    assert btree.index_delete(txn, iroot, ("abc", 1), ki)
    assert scan(btree.IndexCursor(txn, iroot, ki)) == [("ABC", 2)]


def test_seek_after_deletes_moves_to_neighbour_leaf():
    """Interior keys that no longer exist in any leaf must not fool seeks."""
    store = FakeStore(512)
    txn = store.write()
    root = btree.create_tree(txn, btree.TABLE)
    for r in range(0, 3000, 3):
        btree.table_insert(txn, root, r, encode_record((r, "z" * 30)))
    # delete exactly the rows that are interior keys (the last row of many leaves)
    seps = []
    node = btree._load(txn, root, True)
    stack = [node]
    while stack:
        nd = stack.pop()
        if not nd.leaf:
            seps.extend(nd.keys)
            stack.extend(btree._load(txn, c, True) for c in nd.child)
    for r in seps:
        btree.table_delete(txn, root, r)
    alive = sorted(set(range(0, 3000, 3)) - set(seps))
    c = btree.TableCursor(txn, root)
    for r in seps:
        i = bisect.bisect_left(alive, r)
        assert c.seek(r, ">=") == (i < len(alive))
        if i < len(alive):
            assert c.rowid == alive[i]
        assert c.seek(r, "<=") == (i > 0)
        if i > 0:
            assert c.rowid == alive[i - 1]
        assert not c.seek(r, "=")
    assert len(seps) > 20  # the tree did have interior levels


# -- the long seeded run ---------------------------------------------------------------

def _long_run(tmp_path, n_ops: int, page_size: int, seed: int) -> None:
    rnd = random.Random(seed)
    store = FakeStore(page_size)
    txn = store.write()
    usable = store.usable_size
    troot = btree.create_tree(txn, btree.TABLE)
    iroot = btree.create_tree(txn, btree.INDEX)
    schema_insert(txn, "table", "t", "t", troot, "CREATE TABLE t(a, b)")
    schema_insert(txn, "index", "i", "t", iroot, "CREATE INDEX i ON t(a)")
    model: dict[int, tuple] = {}
    keyspace = n_ops // 4

    def value():
        k = rnd.random()
        if k < 0.5:
            return rnd.randrange(-10**6, 10**6)
        if k < 0.8:
            return "k%d" % rnd.randrange(10**6)
        if k < 0.9:
            return None
        if k < 0.97:
            return rnd.random()
        return "L" * rnd.randrange(usable // 4, usable * 3)  # overflows in the index too

    for step in range(n_ops):
        op = rnd.random()
        rowid = rnd.randrange(keyspace)
        if op < 0.55:  # insert or update
            a = value()
            size = rnd.randrange(40) if rnd.random() < 0.9 else rnd.randrange(usable * 4)
            vals = (a, rnd.randbytes(size))
            old = model.get(rowid)
            if old is not None:
                assert btree.index_delete(txn, iroot, (old[0], rowid))
            btree.table_insert(txn, troot, rowid, encode_record(vals))
            btree.index_insert(txn, iroot, (a, rowid))
            model[rowid] = vals
        elif op < 0.9:
            old = model.pop(rowid, None)
            assert btree.table_delete(txn, troot, rowid) == (old is not None)
            if old is not None:
                assert btree.index_delete(txn, iroot, (old[0], rowid))
        else:
            c = btree.TableCursor(txn, troot)
            if c.seek(rowid, ">="):
                assert c.rowid >= rowid and c.record() == model[c.rowid]
        if step % 25000 == 24999:
            txn.commit()
            txn = store.write()
    txn.commit()
    r = store.read()
    got = scan(btree.TableCursor(r, troot))
    assert got == sorted(model.items())
    idx = scan(btree.IndexCursor(r, iroot))
    exp = sorted(((v[0], k) for k, v in model.items()),
                 key=functools.cmp_to_key(lambda x, y: entry_cmp(x, y)))
    assert [typed(k) for k in idx] == [typed(k) for k in exp]
    con = dump_check(store, str(tmp_path / "long.db"))
    rows = con.execute("SELECT rowid, a, b FROM t ORDER BY rowid").fetchall()
    assert [typed(x) for x in rows] == [typed((k, *v)) for k, v in sorted(model.items())]
    assert con.execute("SELECT count(*) FROM t INDEXED BY i WHERE a IS NOT NULL OR a IS NULL"
                       ).fetchone() == (len(model),)
    depth, _ = _depth_and_pages(r, troot)
    assert depth >= 2
    assert _depth_and_pages(r, iroot)[0] >= 2


def test_long_seeded_run_100k(tmp_path):
    _long_run(tmp_path, 100_000, 1024, 20240611)


@pytest.mark.slow
@pytest.mark.parametrize("page_size", [512, 1024, 4096])
def test_long_seeded_run_slow(tmp_path, page_size):
    _long_run(tmp_path, 400_000, page_size, page_size)


def test_decode_record_of_cursor_payload_equals_record():
    store = FakeStore(512)
    txn = store.write()
    root = btree.create_tree(txn, btree.TABLE)
    vals = (1, "x" * 3000, b"y" * 5000, 2.5)
    btree.table_insert(txn, root, 7, encode_record(vals))
    c = btree.TableCursor(txn, root)
    assert c.seek(7)
    assert decode_record(c.payload()) == c.record() == vals


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("seed", range(40))
def test_split_groups_are_valid_and_even(mode, seed):
    """Every group fits, interior groups have a cell, index-leaf dividers are items,
    and the pages are as few as possible (plus slack when growing)."""
    rnd = random.Random(seed * 3 + mode)
    cap = rnd.choice([100, 468, 1000])
    n = rnd.randrange(2, 60)
    sizes = [rnd.randrange(6, cap // 4) for _ in range(n)]
    for grow in (False, True):
        groups = btree._split(sizes, cap, mode, grow)
        assert groups[0][0] == 0 and groups[-1][1] == n
        for (s, e), nxt in zip(groups, groups[1:] + [None]):
            cost = sum(sizes[s:e - 1] if mode == 1 else sizes[s:e])
            assert cost <= cap
            assert e - s >= (2 if mode == 1 else 1)
            if nxt is not None:
                assert nxt[0] == (e + 1 if mode == 2 else e)
        fewest = len(btree._greedy([0, *accumulate_sizes(sizes)], cap, mode))
        assert len(groups) >= fewest
        if not grow:
            assert len(groups) == fewest


def accumulate_sizes(sizes):
    total = 0
    for s in sizes:
        total += s
        yield total


def test_split_interior_lone_last_item():
    # greedy would leave the last item alone (a page with no cell): it gets a partner
    assert btree._greedy([0, 10, 20, 30, 40], 25, 1) == [(0, 2), (2, 4)]
    assert btree._split([10, 10, 10, 10], 25, 1, False) == [(0, 2), (2, 4)]
