"""Damaged B-trees: every failure is a CorruptError, never another exception or a hang.

Targeted damage (pointer cycles, pointers to page 0/1/past the end, bad page
types, cells out of bounds, overflow chains that loop or are too short or too
long, freelist loops) and random byte flips over whole files.
"""
from __future__ import annotations

import os
import random
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(__file__))
from fakestore import FakeStore, scan, schema_insert  # noqa: E402

from storage import btree, freelist  # noqa: E402
from storage.api import Page  # noqa: E402
from storage.errors import CorruptError, Error  # noqa: E402
from storage.record import encode_record  # noqa: E402

pytestmark = pytest.mark.timeout(120)


def build(page_size=512, n=3000, seed=1):
    """A committed store with a table (some overflow rows) and an index on it."""
    rnd = random.Random(seed)
    store = FakeStore(page_size)
    txn = store.write()
    troot = btree.create_tree(txn, btree.TABLE)
    iroot = btree.create_tree(txn, btree.INDEX)
    schema_insert(txn, "table", "t", "t", troot, "CREATE TABLE t(a, b)")
    schema_insert(txn, "index", "i", "t", iroot, "CREATE INDEX i ON t(a)")
    for r in range(1, n + 1):
        a = "k%04d" % rnd.randrange(10000) if r % 50 else "L" * 900
        btree.table_insert(txn, troot, r, encode_record((a, "v" * (r % 40) if r % 37 else "O" * 2000)))
        btree.index_insert(txn, iroot, (a, r))
    txn.commit()
    return store, troot, iroot


def exercise(store, troot, iroot):
    """Read everything and make a few writes; return normally or raise CorruptError."""
    txn = store.write()
    try:
        for c in (btree.TableCursor(txn, troot), btree.IndexCursor(txn, iroot)):
            ok = c.first()
            while ok:
                c.payload()
                c.record()
                ok = c.next()
            ok = c.last()
            while ok:
                ok = c.prev()
        c = btree.TableCursor(txn, troot)
        for k in (1, 77, 300, 599, 10**6):
            for op in ("=", ">=", ">", "<=", "<"):
                if c.seek(k, op):
                    c.record()
        ic = btree.IndexCursor(txn, iroot)
        for k in (("k5",), ("k0001", 3), ("L" * 900,)):
            for op in ("=", ">=", ">", "<=", "<"):
                if ic.seek(k, op):
                    ic.key
        btree.count(txn, troot)
        btree.count(txn, iroot)
        btree.table_max_rowid(txn, troot)
        btree.table_insert(txn, troot, 300, encode_record(("x", "y")))
        for r in range(1, 600, 7):
            btree.table_insert(txn, troot, r, encode_record(("x", "y" * (r % 300))))
            btree.table_delete(txn, troot, r + 1)
            btree.index_insert(txn, iroot, ("n%d" % r, r))
            btree.index_delete(txn, iroot, ("n%d" % (r - 7), r - 7))
        list(freelist.iter_free_pages(txn))
        btree.clear_tree(txn, iroot)
        btree.drop_tree(txn, troot)
    finally:
        txn.rollback()


def interior_pages(store, root):
    txn = store.read()
    out = []
    stack = [root]
    while stack:
        p = stack.pop()
        d = txn.page(p).data
        if not d[0] & 8:
            out.append(p)
            stack.extend(btree._load(txn, p, d[0] & 1 == 1).child)
    return out


def poke(store, pgno, off, value: bytes):
    d = bytearray(store.pages[pgno].data)
    d[off:off + len(value)] = value
    store.pages[pgno] = Page(pgno, bytes(d))


@pytest.mark.parametrize("target", ["root", "self", 0, 1, "past_end"])
@pytest.mark.parametrize("tree", ["table", "index"])
def test_bad_child_pointers(target, tree):
    store, troot, iroot = build()
    root = troot if tree == "table" else iroot
    inner = interior_pages(store, root)
    assert len(inner) >= 2
    victim = inner[-1]  # a non-root interior page
    value = {"root": root, "self": victim, "past_end": store.db_size + 3}.get(target, target)
    poke(store, victim, 8, value.to_bytes(4, "big"))  # its right child
    with pytest.raises(CorruptError):
        exercise(store, troot, iroot)
    with pytest.raises(CorruptError):
        scan(btree.TableCursor(store.read(), troot) if tree == "table"
             else btree.IndexCursor(store.read(), iroot), backward=True)


def test_deep_chain_is_caught_by_depth_limit():
    """A cycle through pages that are each visited once per level: the depth bound."""
    store, troot, iroot = build()
    inner = interior_pages(store, troot)
    assert inner
    # make the root's first child point back to the root from its first cell
    node = btree._load(store.read(), troot, True)
    child = node.child[0]
    cd = store.pages[child].data
    if not cd[0] & 8:
        off = int.from_bytes(cd[12:14], "big")
        poke(store, child, off, troot.to_bytes(4, "big"))
    else:
        poke(store, troot, node.offs[0], troot.to_bytes(4, "big"))
    c = btree.TableCursor(store.read(), troot)
    with pytest.raises(CorruptError):
        c.first()
    with pytest.raises(CorruptError):
        btree.count(store.read(), troot)


@pytest.mark.parametrize("kind", ["type", "ncells", "cellptr", "content"])
def test_bad_leaf_page(kind):
    store, troot, iroot = build()
    txn = store.read()
    c = btree.TableCursor(txn, troot)
    c.seek(300)
    leaf = c._node.pgno
    if kind == "type":
        poke(store, leaf, 0, b"\x07")
    elif kind == "ncells":
        poke(store, leaf, 3, b"\x7f\xff")
    elif kind == "cellptr":
        poke(store, leaf, 8, b"\xff\xf0")
    else:
        poke(store, leaf, 5, b"\x00\x02")
    with pytest.raises(CorruptError):
        exercise(store, troot, iroot)


def test_wrong_kind_of_tree():
    store, troot, iroot = build()
    with pytest.raises(CorruptError):
        btree.TableCursor(store.read(), iroot).first()
    with pytest.raises(CorruptError):
        btree.IndexCursor(store.read(), troot).first()
    with pytest.raises(CorruptError):
        btree.TableCursor(store.read(), store.db_size + 1).first()


def _overflow_cell(store, troot):
    txn = store.read()
    c = btree.TableCursor(txn, troot)
    ok = c.first()
    while ok:
        if len(c.payload()) > 512 - 35:
            cell = btree._cell_at(c._node, c._idx)
            return c.rowid, int.from_bytes(cell[-4:], "big")
        ok = c.next()
    raise AssertionError("no overflow row")


@pytest.mark.parametrize("damage", ["loop", "short", "long", "range"])
def test_bad_overflow_chains(damage):
    store, troot, iroot = build()
    rowid, first = _overflow_cell(store, troot)
    chain = [first]
    while True:
        nxt = int.from_bytes(store.pages[chain[-1]].data[:4], "big")
        if not nxt:
            break
        chain.append(nxt)
    assert len(chain) >= 3
    if damage == "loop":
        poke(store, chain[-1], 0, first.to_bytes(4, "big"))
    elif damage == "short":
        poke(store, chain[1], 0, bytes(4))
    elif damage == "long":
        poke(store, chain[-1], 0, (2).to_bytes(4, "big"))
    else:
        poke(store, chain[1], 0, (store.db_size + 9).to_bytes(4, "big"))
    c = btree.TableCursor(store.read(), troot)
    assert c.seek(rowid)
    with pytest.raises(CorruptError):
        c.payload()
    with pytest.raises(CorruptError):
        c.record()
    with pytest.raises(CorruptError):  # deleting it must walk the chain to free it
        t = store.write()
        try:
            btree.table_delete(t, troot, rowid)
        finally:
            t.rollback()


def test_freelist_loop_stops_allocation_and_listing():
    store, troot, iroot = build()
    txn = store.write()
    btree.drop_tree(txn, iroot)
    trunk = int.from_bytes(txn.page(1).data[32:36], "big")
    txn.writable(trunk).data[0:4] = trunk.to_bytes(4, "big")
    with pytest.raises(CorruptError):
        list(freelist.iter_free_pages(txn))
    txn.writable(trunk).data[4:8] = (1000).to_bytes(4, "big")
    with pytest.raises(CorruptError):
        freelist.free(txn, troot)
    with pytest.raises(CorruptError):
        freelist.allocate(txn)


def test_garbage_record_is_corrupt():
    store, troot, iroot = build()
    c = btree.TableCursor(store.read(), troot)
    c.seek(5)
    leaf = c._node.pgno
    cell_off = c._node.offs[c._idx]
    # payload starts after the 1-byte size and 1-byte rowid varints: make its
    # header claim serial type 10 (reserved)
    poke(store, leaf, cell_off + 3, b"\x0a")
    c = btree.TableCursor(store.read(), troot)
    assert c.seek(5)
    with pytest.raises(CorruptError):
        c.record()


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 255)), min_size=1, max_size=12),
       st.sampled_from([512, 1024]))
def test_random_byte_damage(flips, page_size):
    """Flip bytes anywhere (header excepted): only CorruptError may come out."""
    store, troot, iroot = _cached(page_size)
    store = _copy(store)
    for pos, val in flips:
        pgno = 1 + pos % store.db_size
        off = (pos // store.db_size) % page_size
        if pgno == 1 and off < 100:
            continue
        poke(store, pgno, off, bytes([val]))
    try:
        exercise(store, troot, iroot)
    except CorruptError:
        pass
    except Error as e:  # another storage error type would be a bug too
        raise AssertionError(f"unexpected {type(e).__name__}: {e}") from e


_BUILT: dict = {}


def _cached(page_size):
    if page_size not in _BUILT:
        _BUILT[page_size] = build(page_size, n=300 if page_size == 512 else 500)
    return _BUILT[page_size]


def _copy(store):
    new = FakeStore.__new__(FakeStore)
    new.page_size = store.page_size
    new.usable_size = store.usable_size
    new.db_size = store.db_size
    new.pages = {p: Page(p, pg.data) for p, pg in store.pages.items()}
    new.writer = None
    return new
