"""A dict-backed page store implementing ReadTxn/WriteTxn, for B-tree tests.

Single job: let ``btree``/``freelist`` tests run without the real pager. A
``FakeStore`` starts empty (a page 1 exactly like the one ``sqlite3`` writes
for a new rollback-journal database), or loads a file written by ``sqlite3``
in ``journal_mode=DELETE``, and dumps itself to a file that ``sqlite3`` opens.
Pages are shared ``Page`` objects (bytes) like a page cache; a write txn
copies a page to a private bytearray on ``writable()``.

File-header fields written here (fileformat2 1.3): 16 page size (1 = 65536),
18/19 = 1 (rollback journal), 20 reserved bytes, 21..23 = 64/32/32, 24 change
counter, 28 in-header database size, 40 schema cookie, 44 schema format 4,
56 text encoding 1 (UTF-8), 92 version-valid-for (= change counter), 96 the
SQLite version number.
"""
from __future__ import annotations

import sqlite3
import struct
from typing import Any, Sequence

from storage import btree
from storage.api import Page
from storage.errors import CorruptError, InterfaceError
from storage.record import encode_record

_pack_I = struct.Struct(">I").pack_into
_unpack_I = struct.Struct(">I").unpack_from


def new_header_page(page_size: int = 4096, reserved: int = 0) -> bytearray:
    """Page 1 of an empty database: the 100-byte header and an empty table leaf."""
    if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        raise ValueError("page size must be a power of two in 512..65536")
    usable = page_size - reserved
    if usable < 480:
        raise ValueError("usable size below 480")
    d = bytearray(page_size)
    d[0:16] = b"SQLite format 3\0"
    struct.pack_into(">H", d, 16, 1 if page_size == 65536 else page_size)
    d[18] = 1
    d[19] = 1
    d[20] = reserved
    d[21] = 64
    d[22] = 32
    d[23] = 32
    _pack_I(d, 24, 1)      # change counter
    _pack_I(d, 28, 1)      # database size in pages
    _pack_I(d, 44, 4)      # schema format
    _pack_I(d, 56, 1)      # UTF-8
    _pack_I(d, 92, 1)      # version-valid-for
    _pack_I(d, 96, 3040001)
    d[100] = 13            # empty table leaf: sqlite_schema
    struct.pack_into(">H", d, 105, usable & 0xFFFF)
    return d


class FakeStore:
    """The committed state: page size, reserved bytes and pages 1..db_size."""

    def __init__(self, page_size: int = 4096, reserved: int = 0) -> None:
        self.page_size = page_size
        self.usable_size = page_size - reserved
        self.pages: dict[int, Page] = {1: Page(1, bytes(new_header_page(page_size, reserved)))}
        self.db_size = 1
        self.writer: FakeTxn | None = None

    @classmethod
    def load(cls, path: str) -> "FakeStore":
        """Read a (rollback-journal mode) database file written by sqlite3."""
        with open(path, "rb") as f:
            raw = f.read()
        ps = struct.unpack_from(">H", raw, 16)[0]
        ps = 65536 if ps == 1 else ps
        st = cls.__new__(cls)
        st.page_size = ps
        st.usable_size = ps - raw[20]
        st.db_size = len(raw) // ps
        st.pages = {i + 1: Page(i + 1, raw[i * ps:(i + 1) * ps]) for i in range(st.db_size)}
        st.writer = None
        return st

    def dump(self, path: str) -> None:
        """Write the committed pages as a database file."""
        with open(path, "wb") as f:
            for i in range(1, self.db_size + 1):
                pg = self.pages.get(i)
                f.write(bytes(pg.data) if pg is not None else bytes(self.page_size))

    def read(self) -> "FakeTxn":
        return FakeTxn(self, False)

    def write(self) -> "FakeTxn":
        if self.writer is not None:
            raise InterfaceError("a write transaction is already open")
        t = FakeTxn(self, True)
        self.writer = t
        return t


class FakeTxn:
    """A snapshot reader or the single writer over a FakeStore."""

    def __init__(self, store: FakeStore, write: bool) -> None:
        self.store = store
        self.page_size = store.page_size
        self.usable_size = store.usable_size
        self.db_size = store.db_size
        self._pages = dict(store.pages)  # snapshot of the committed Page objects
        self._dirty: dict[int, Page] = {}
        self._write = write
        self._done = False

    # -- ReadTxn -------------------------------------------------------------
    def page(self, pgno: int) -> Page:
        if pgno < 1 or pgno > self.db_size:
            raise CorruptError(detail=f"page {pgno} out of range (db size {self.db_size})")
        pg = self._dirty.get(pgno)
        if pg is None:
            pg = self._pages.get(pgno)
            if pg is None:  # a page past a truncate that came back: zeros
                pg = self._pages[pgno] = Page(pgno, bytes(self.page_size))
        return pg

    def end(self) -> None:
        self._done = True

    # -- WriteTxn ------------------------------------------------------------
    def writable(self, pgno: int) -> Page:
        if not self._write:
            raise InterfaceError("read-only transaction")
        pg = self._dirty.get(pgno)
        if pg is None:
            src = self.page(pgno)
            pg = self._dirty[pgno] = Page(pgno, bytearray(src.data))
        return pg

    def append_page(self) -> Page:
        if not self._write:
            raise InterfaceError("read-only transaction")
        self.db_size += 1
        pg = self._dirty[self.db_size] = Page(self.db_size, bytearray(self.page_size))
        return pg

    def truncate(self, n_pages: int) -> None:
        for p in [p for p in self._dirty if p > n_pages]:
            del self._dirty[p]
        for p in [p for p in self._pages if p > n_pages]:
            del self._pages[p]
        self.db_size = n_pages

    def commit(self) -> None:
        """Publish the dirty pages; bump the change counter like a rollback-mode commit."""
        st = self.store
        if self._dirty or self.db_size != st.db_size:
            h = self.writable(1).data
            cc = (_unpack_I(h, 24)[0] + 1) & 0xFFFFFFFF
            _pack_I(h, 24, cc)
            _pack_I(h, 92, cc)
            _pack_I(h, 28, self.db_size)
            new = {p: pg for p, pg in st.pages.items() if p <= self.db_size}
            for p, pg in self._dirty.items():
                new[p] = Page(p, bytes(pg.data))
            st.pages = new
            st.db_size = self.db_size
        self._dirty = {}
        self._finish()

    def rollback(self) -> None:
        self._dirty = {}
        self._finish()

    def _finish(self) -> None:
        self._done = True
        if self.store.writer is self:
            self.store.writer = None


# -- helpers to make trees visible to sqlite3 ------------------------------------

def schema_insert(txn: FakeTxn, type_: str, name: str, tbl_name: str, root: int, sql: str) -> int:
    """Add a sqlite_schema row (and bump the schema cookie); return its rowid."""
    last = btree.table_max_rowid(txn, 1)
    rowid = 1 if last is None else last + 1
    btree.table_insert(txn, 1, rowid, encode_record((type_, name, tbl_name, root, sql)))
    h = txn.writable(1).data
    _pack_I(h, 40, _unpack_I(h, 40)[0] + 1)
    return rowid


def bump_schema_cookie(txn: FakeTxn) -> None:
    h = txn.writable(1).data
    _pack_I(h, 40, _unpack_I(h, 40)[0] + 1)


def reserved_of(store: FakeStore) -> int:
    return store.page_size - store.usable_size


# -- oracle helpers shared by the B-tree tests ----------------------------------------

def sqlite_check(path: str) -> sqlite3.Connection:
    """Open ``path`` with sqlite3 and assert ``PRAGMA integrity_check`` says ok."""
    con = sqlite3.connect(path)
    res = con.execute("PRAGMA integrity_check").fetchall()
    assert res == [("ok",)], res[:20]
    return con


def dump_check(store: FakeStore, path: str) -> sqlite3.Connection:
    store.dump(path)
    return sqlite_check(path)


def nocase(a: str, b: str) -> int:
    """SQLite's NOCASE collation: ASCII letters folded, then bytewise."""
    x = a.encode("utf-8", "surrogateescape").lower()
    y = b.encode("utf-8", "surrogateescape").lower()
    return (x > y) - (x < y)


def _cls(v: Any) -> int:
    if v is None:
        return 0
    if isinstance(v, (int, float)):
        return 1
    if isinstance(v, str):
        return 2
    return 3


def value_cmp(x: Any, y: Any, coll: Any = None) -> int:
    """SQLite's comparison of two column values (written apart from btree/record)."""
    cx, cy = _cls(x), _cls(y)
    if cx != cy:
        return -1 if cx < cy else 1
    if cx == 0:
        return 0
    if cx == 2:
        if coll is not None:
            return coll(x, y)
        x = x.encode("utf-8", "surrogateescape")
        y = y.encode("utf-8", "surrogateescape")
    return (x > y) - (x < y)


def entry_cmp(x: Sequence[Any], y: Sequence[Any], colls: Sequence[Any] = (),
              desc: Sequence[bool] = (), n: int | None = None) -> int:
    """Compare the first ``n`` columns of two index entries under collations/DESC."""
    n = min(len(x), len(y)) if n is None else n
    for i in range(n):
        c = value_cmp(x[i], y[i], colls[i] if i < len(colls) else None)
        if i < len(desc) and desc[i]:
            c = -c
        if c:
            return c
    return 0


def typed(v: Any) -> Any:
    """A value with its type attached, for comparisons where 1 == 1.0 must not hold."""
    if isinstance(v, (tuple, list)):
        return tuple(typed(x) for x in v)
    return (type(v).__name__, v)


def scan(cur: Any, backward: bool = False) -> list:
    """Every entry of a cursor: (rowid, record) for tables, key tuples for indexes."""
    out = []
    ok = cur.last() if backward else cur.first()
    is_table = isinstance(cur, btree.TableCursor)
    while ok:
        out.append((cur.rowid, cur.record()) if is_table else cur.key)
        ok = cur.prev() if backward else cur.next()
    if backward:
        out.reverse()
    return out


__all__ = ["FakeStore", "FakeTxn", "new_header_page", "schema_insert", "bump_schema_cookie",
           "reserved_of", "sqlite_check", "dump_check", "nocase", "value_cmp", "entry_cmp",
           "typed", "scan"]
