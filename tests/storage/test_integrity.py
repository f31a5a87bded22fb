"""storage.integrity.check against sqlite3's PRAGMA integrity_check (the oracle).

Sound files made by sqlite3 in many shapes must check clean ([]); hand-damaged
copies (one precise injury each: a type byte, a child pointer, an overflow
chain, the freelist, the free-space accounting, key order...) must be
reported by us AND by sqlite3. Pages are located with sqlite3's ``dbstat``
virtual table, so the damage lands where it is meant to.
"""
from __future__ import annotations

import random
import shutil
import sqlite3
import struct

import pytest

from storage import integrity


# -- seed databases -------------------------------------------------------------

def _make(path, page_size=1024, auto_vacuum="NONE", extra=()):
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA page_size={page_size}")
    con.execute(f"PRAGMA auto_vacuum={auto_vacuum}")
    con.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL, d BLOB)")
    rnd = random.Random(7)
    rows = [(i, f"r{i:05d}" + "x" * rnd.choice([0, 10, 300, 3000]), rnd.random(),
             rnd.randbytes(rnd.randrange(0, 40))) for i in range(1, 1201)]
    con.executemany("INSERT INTO t VALUES (?,?,?,?)", rows)
    con.execute("CREATE INDEX t_b ON t(b)")
    con.execute("CREATE INDEX t_cd ON t(c DESC, d)")
    con.execute("DELETE FROM t WHERE a % 4 = 0")
    for stmt in extra:
        con.execute(stmt)
    con.commit()
    con.close()


SHAPES = {
    "plain-512": dict(page_size=512),
    "plain-1024": dict(page_size=1024),
    "plain-4096": dict(page_size=4096),
    "plain-65536": dict(page_size=65536),
    "autovacuum-full": dict(page_size=1024, auto_vacuum="FULL"),
    "autovacuum-incremental": dict(page_size=1024, auto_vacuum="INCREMENTAL"),
    "collations-desc-withoutrowid": dict(page_size=1024, extra=(
        "CREATE TABLE u(x TEXT COLLATE NOCASE UNIQUE, y INT, z, PRIMARY KEY(y DESC))",
        "INSERT INTO u SELECT char(65 + a % 26) || lower(char(65 + a % 7)) || a, a, b FROM t",
        "CREATE INDEX u_x ON u(x)",
        "CREATE INDEX u_xr ON u(x COLLATE RTRIM DESC, z)",
        "CREATE INDEX u_partial ON u(z) WHERE y > 100",
        "CREATE INDEX u_expr ON u(length(z), y + 1)",
        "CREATE TABLE w(k TEXT PRIMARY KEY, v) WITHOUT ROWID",
        "INSERT INTO w SELECT b, a FROM t",
        "CREATE INDEX w_v ON w(v)",
        "CREATE VIEW vw AS SELECT * FROM t",
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END",
    )),
    "empty-tables": dict(page_size=512, extra=(
        "CREATE TABLE e(z)", "CREATE INDEX e_z ON e(z)", "DELETE FROM t", "DROP INDEX t_b",
    )),
}


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    d = tmp_path_factory.mktemp("integrity-seeds")
    out = {}
    for name, kw in SHAPES.items():
        p = d / f"{name}.db"
        _make(p, **kw)
        out[name] = p
    return out


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_sound_sqlite3_files_check_clean(seeds, shape, raw_txn, sqlite_check):
    path = seeds[shape]
    assert sqlite_check(path) == ["ok"]
    assert integrity.check(raw_txn(path)) == []


def test_empty_database_checks_clean(tmp_path, raw_txn):
    p = tmp_path / "e.db"
    con = sqlite3.connect(p)
    con.execute("PRAGMA user_version=1")  # forces page 1 to be written
    con.close()
    assert integrity.check(raw_txn(p)) == []


def test_keyinfo_overrides_schema_order(seeds, raw_txn):
    """A wrong DESC flag given through keyinfo makes sound index pages look unordered,
    which proves the order check really compares keys."""
    path = seeds["plain-1024"]
    root = _root(path, "t_b")

    class KI:
        collations = (None,)
        desc = (True,)

    errs = integrity.check(raw_txn(path), keyinfo={root: KI()})
    assert errs and all("out of order" in e for e in errs)


# -- damage helpers -------------------------------------------------------------

def _root(path, name):
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT rootpage FROM sqlite_schema WHERE name=?", (name,)).fetchone()[0]
    finally:
        con.close()


def _pages(path, name, pagetype):
    con = sqlite3.connect(path)
    try:
        return [r[0] for r in con.execute(
            "SELECT pageno FROM dbstat WHERE name=? AND pagetype=? ORDER BY path", (name, pagetype))]
    finally:
        con.close()


def _overflow_chains(path, name):
    """{path prefix: [pages in chain order]} of the tree's overflow chains."""
    con = sqlite3.connect(path)
    try:
        chains: dict[str, list[int]] = {}
        for p, pg in con.execute(
                "SELECT path, pageno FROM dbstat WHERE name=? AND pagetype='overflow' ORDER BY path",
                (name,)):
            chains.setdefault(p.split("+")[0], []).append(pg)
        return chains
    finally:
        con.close()


class Image:
    """A mutable copy of a database file with page-level accessors."""

    def __init__(self, path):
        self.data = bytearray(path.read_bytes())
        ps = struct.unpack_from(">H", self.data, 16)[0]
        self.ps = 65536 if ps == 1 else ps

    def off(self, pgno):
        return (pgno - 1) * self.ps

    def hdr(self, pgno):
        return self.off(pgno) + (100 if pgno == 1 else 0)

    def cell_ptrs(self, pgno):
        h = self.hdr(pgno)
        n = struct.unpack_from(">H", self.data, h + 3)[0]
        first = h + (8 if self.data[h] in (10, 13) else 12)
        return [first + 2 * i for i in range(n)]  # absolute offsets of the pointers

    def u16(self, at):
        return struct.unpack_from(">H", self.data, at)[0]

    def u32(self, at):
        return struct.unpack_from(">I", self.data, at)[0]

    def put16(self, at, v):
        struct.pack_into(">H", self.data, at, v)

    def put32(self, at, v):
        struct.pack_into(">I", self.data, at, v)

    def save(self, path):
        path.write_bytes(bytes(self.data))
        return path


def _damage_type_byte(img, p):
    leaf = _pages(p, "t", "leaf")[3]
    img.data[img.hdr(leaf)] = 10  # a table leaf claims to be an index leaf


def _damage_invalid_type(img, p):
    leaf = _pages(p, "t_b", "leaf")[1]
    img.data[img.hdr(leaf)] = 7


def _damage_child_to_used_page(img, p):
    interior = _pages(p, "t", "internal")[-1]
    ptrs = img.cell_ptrs(interior)
    a = img.off(interior) + img.u16(ptrs[0])
    b = img.off(interior) + img.u16(ptrs[1])
    img.put32(a, img.u32(b))  # two cells now name the same child


def _damage_child_cycle(img, p):
    interior = _pages(p, "t_b", "internal")[-1]
    img.put32(img.hdr(interior) + 8, interior)  # right child = itself


def _damage_child_out_of_range(img, p):
    interior = _pages(p, "t", "internal")[0]
    img.put32(img.hdr(interior) + 8, 10_000_000)


def _damage_cut_overflow(img, p):
    chain = max(_overflow_chains(p, "t").values(), key=len)
    assert len(chain) >= 2
    img.put32(img.off(chain[0]), 0)


def _damage_overflow_self_loop(img, p):
    chain = max(_overflow_chains(p, "t").values(), key=len)
    img.put32(img.off(chain[1]), chain[1])


def _damage_freelist_count(img, p):
    img.put32(36, img.u32(36) + 1)


def _damage_freelist_trunk_count(img, p):
    trunk = img.u32(32)
    assert trunk
    img.put32(img.off(trunk) + 4, img.ps)  # more leaves than a trunk can hold


def _damage_freelist_leaf_used(img, p):
    trunk = img.u32(32)
    leaf = _pages(p, "t", "leaf")[0]
    img.put32(img.off(trunk) + 8, leaf)  # a live table leaf listed as free


def _damage_fragment_count(img, p):
    leaf = _pages(p, "t", "leaf")[2]
    img.data[img.hdr(leaf) + 7] += 3


def _damage_cell_offset(img, p):
    leaf = _pages(p, "t", "leaf")[5]
    img.put16(img.cell_ptrs(leaf)[0], 3)  # points into the page header


def _damage_overlapping_cells(img, p):
    leaf = [pg for pg in _pages(p, "t", "leaf") if len(img.cell_ptrs(pg)) >= 2][3]
    ptrs = img.cell_ptrs(leaf)
    img.put16(ptrs[1], img.u16(ptrs[0]) + 1)


def _damage_rowid_order(img, p):
    leaf = next(pg for pg in _pages(p, "t", "leaf") if len(img.cell_ptrs(pg)) >= 2)
    a, b = img.cell_ptrs(leaf)[:2]
    va, vb = img.u16(a), img.u16(b)
    img.put16(a, vb)
    img.put16(b, va)


def _damage_index_order(img, p):
    leaf = next(pg for pg in _pages(p, "t_b", "leaf") if len(img.cell_ptrs(pg)) >= 2)
    a, b = img.cell_ptrs(leaf)[:2]
    va, vb = img.u16(a), img.u16(b)
    img.put16(a, vb)
    img.put16(b, va)


def _damage_page_never_used(img, p):
    n = len(img.data) // img.ps
    img.data += bytes(img.ps)
    img.put32(28, n + 1)


def _damage_lost_leaf(img, p):
    # drop the last cell of an interior page: its child subtree becomes unreachable
    interior = _pages(p, "t", "internal")[-1]
    h = img.hdr(interior)
    img.put16(h + 3, img.u16(h + 3) - 1)


def _damage_row_not_in_index(img, p):
    # change one character of a row's indexed text: the index no longer has its entry
    for leaf in _pages(p, "t", "leaf"):
        page = img.data[img.off(leaf):img.off(leaf) + img.ps]
        i = page.find(b"r0")
        if i >= 0:
            img.data[img.off(leaf) + i + 1] = ord("Q")
            return
    raise AssertionError("no row text found")


DAMAGES = {
    "type-byte": (_damage_type_byte, None),
    "invalid-type": (_damage_invalid_type, None),
    "child-to-used-page": (_damage_child_to_used_page, "2nd reference to page"),
    "child-cycle": (_damage_child_cycle, "2nd reference to page"),
    "child-out-of-range": (_damage_child_out_of_range, "invalid page number 10000000"),
    "cut-overflow": (_damage_cut_overflow, "overflow list length"),
    "overflow-self-loop": (_damage_overflow_self_loop, "2nd reference to page"),
    "freelist-count": (_damage_freelist_count, "Main freelist: size is"),
    "freelist-trunk-count": (_damage_freelist_trunk_count, "freelist leaf count too big"),
    "freelist-leaf-used": (_damage_freelist_leaf_used, "2nd reference to page"),
    "fragment-count": (_damage_fragment_count, "Fragmentation of"),
    "cell-offset": (_damage_cell_offset, "out of range"),
    "overlapping-cells": (_damage_overlapping_cells, None),
    "rowid-order": (_damage_rowid_order, "out of order"),
    "index-order": (_damage_index_order, "out of order"),
    "page-never-used": (_damage_page_never_used, "is never used"),
    "lost-subtree": (_damage_lost_leaf, "is never used"),
    "row-not-in-index": (_damage_row_not_in_index, "missing from index t_b"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
@pytest.mark.parametrize("shape", ["plain-512", "plain-1024"])
def test_damage_is_reported_by_both(seeds, shape, damage, tmp_path, raw_txn, sqlite_check):
    src = seeds[shape]
    fn, expect = DAMAGES[damage]
    img = Image(src)
    before = bytes(img.data)
    fn(img, src)
    assert bytes(img.data) != before
    bad = img.save(tmp_path / "bad.db")
    theirs = sqlite_check(bad)
    ours = integrity.check(raw_txn(bad))
    assert theirs != ["ok"], "the damage should be visible to sqlite3 too"
    assert ours, f"sqlite3 saw {theirs[:3]} but we saw nothing"
    if expect:
        assert any(expect in e for e in ours), ours[:5]


def test_ownership_messages_match_sqlite(seeds, tmp_path, raw_txn, sqlite_check):
    """For pure page-ownership damage our lines are SQLite's lines."""
    img = Image(seeds["plain-1024"])
    _damage_page_never_used(img, None)
    bad = img.save(tmp_path / "bad.db")
    n = len(img.data) // img.ps
    ours = integrity.check(raw_txn(bad))
    assert ours == [f"Page {n} is never used"]
    assert f"Page {n} is never used" in sqlite_check(bad)


@pytest.mark.parametrize("damage", ["page-never-used", "lost-subtree", "row-not-in-index"])
def test_same_lines_as_sqlite(seeds, damage, tmp_path, raw_txn, sqlite_check):
    """For damage to page ownership or index content we print exactly SQLite's lines."""
    src = seeds["plain-1024"]
    img = Image(src)
    DAMAGES[damage][0](img, src)
    bad = img.save(tmp_path / "bad.db")
    assert sorted(integrity.check(raw_txn(bad))) == sorted(sqlite_check(bad))


def test_schema_root_pointing_at_another_tree(seeds, tmp_path, raw_txn, sqlite_check):
    bad = tmp_path / "bad.db"
    shutil.copy(seeds["plain-1024"], bad)
    con = sqlite3.connect(bad)
    troot = _root(bad, "t")
    con.execute("PRAGMA writable_schema=ON")
    con.execute("UPDATE sqlite_schema SET rootpage=? WHERE name='t_b'", (troot,))
    con.commit()
    con.close()
    assert sqlite_check(bad) != ["ok"]
    ours = integrity.check(raw_txn(bad))
    assert f"2nd reference to page {troot}" in ours


def test_max_errors_limits_the_report(seeds, tmp_path, raw_txn):
    img = Image(seeds["plain-512"])
    for pg in _pages(seeds["plain-512"], "t", "leaf"):
        img.data[img.hdr(pg) + 7] ^= 1
    bad = img.save(tmp_path / "bad.db")
    assert len(integrity.check(raw_txn(bad))) == 100
    assert len(integrity.check(raw_txn(bad), max_errors=5)) == 5


def test_unreadable_pages_are_reported_not_raised(seeds, raw_txn):
    """A pager that refuses a page (CorruptError) yields a message, not an exception."""
    from storage.errors import CorruptError

    txn = raw_txn(seeds["plain-1024"])
    leaf = _pages(seeds["plain-1024"], "t", "leaf")[0]
    real = txn.page

    def page(pgno):
        if pgno == leaf:
            raise CorruptError(detail="injected")
        return real(pgno)

    txn.page = page
    errs = integrity.check(txn)
    assert any(f"Page {leaf}: cannot read page" in e for e in errs)


def test_random_damage_never_raises(seeds, raw_txn):
    """Random byte damage anywhere: check() returns a list and never raises."""
    src = seeds["collations-desc-withoutrowid"].read_bytes()
    rnd = random.Random(1234)
    reported = 0
    for _ in range(20):
        data = bytearray(src)
        for _ in range(rnd.randrange(1, 20)):
            data[rnd.randrange(100, len(data))] = rnd.randrange(256)
        errs = integrity.check(raw_txn(bytes(data)), max_errors=20)
        assert isinstance(errs, list) and all(isinstance(e, str) for e in errs)
        reported += bool(errs)
    assert reported > 0


# -- the lock-byte page (needs a file past 1 GiB: made sparse) ----------------------------

def _sparse_db_past_1gib(path, *, free_the_lock_page=False):
    """65536-byte pages; page 16385 holds byte 0x40000000. Every page but page 1, two
    freelist trunks and the lock-byte page is a freelist leaf; only 3 pages are written."""
    ps = 65536
    lock = 0x40000000 // ps + 1
    n = lock + 1
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA page_size={ps}")
    con.execute("PRAGMA user_version=1")
    con.commit()
    con.close()
    page1 = bytearray(path.read_bytes()[:ps])
    leaves = list(range(3, lock))
    if free_the_lock_page:
        leaves[-1] = lock  # the lock-byte page listed as free (and page lock-1 lost)
    trunk1 = bytearray(ps)
    struct.pack_into(">II", trunk1, 0, n, len(leaves))
    struct.pack_into(f">{len(leaves)}I", trunk1, 8, *leaves)
    struct.pack_into(">III", page1, 28, n, 2, 2 + len(leaves))  # size, first trunk, count
    with open(path, "wb") as f:
        f.write(page1)
        f.write(trunk1)
        f.seek((n - 1) * ps)
        f.write(bytes(ps))  # the second, empty trunk
    return lock


class _LazyFileTxn:
    """ReadTxn reading pages from a (sparse) file on demand."""

    def __init__(self, path):
        self._f = open(path, "rb")
        self.page_size = self.usable_size = 65536
        self.db_size = int.from_bytes(self.page(1).data[28:32], "big")

    def page(self, pgno):
        from storage.api import Page
        self._f.seek((pgno - 1) * self.page_size)
        return Page(pgno, self._f.read(self.page_size))

    def end(self):
        self._f.close()


@pytest.mark.parametrize("free_the_lock_page", [False, True])
def test_lock_byte_page_counts_as_used(tmp_path, sqlite_check, free_the_lock_page):
    path = tmp_path / "big.db"
    lock = _sparse_db_past_1gib(path, free_the_lock_page=free_the_lock_page)
    txn = _LazyFileTxn(path)
    try:
        ours = integrity.check(txn)
    finally:
        txn.end()
    theirs = sqlite_check(path)
    if free_the_lock_page:
        assert f"2nd reference to page {lock}" in ours
        assert theirs != ["ok"]
    else:
        assert theirs == ["ok"]
        assert ours == []
