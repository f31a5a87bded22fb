"""Table and index B-trees: the public API, page decoding and cursors.

Single job: read SQLite 3's B-trees (one per table, one per index) from pages
obtained from a ``ReadTxn``/``WriteTxn`` -- decode pages into cached nodes,
walk them with cursors -- and be the one entry point for the whole B-tree
layer. Changing trees (create/drop/clear, inserts, deletes, balancing) is
``storage.balance``'s job; its functions are re-exported here behind the same
damage guard, so callers import only this module. Byte layouts live in
``page`` (pages, cells, overflow) and ``record`` (keys); the tree rules are
in SQLite's "Database File Format" (fileformat2) sections 1.6 and 2.2-2.5.

Public surface (what ``mvcc`` uses):

- ``TABLE``, ``INDEX``; ``create_tree``, ``drop_tree``, ``clear_tree``;
- ``KeyInfo`` (per index column: collation, DESC flag);
- ``TableCursor(txn, root)`` / ``IndexCursor(txn, root, keyinfo)``:
  ``first last next prev seek`` and ``valid``, ``rowid``/``key``,
  ``payload()``, ``record()``, plus ``iter_rows()``/``iter_keys()`` for fast scans;
- ``table_insert table_delete table_max_rowid index_insert index_delete count``.

Cursors are pure readers and cache decoded pages in ``Page.cells`` (keys,
child pointers, record tuples; DESIGN decision 2). Writes made through this
layer to a tree invalidate the cursors open on that tree. An index tree is
always read with one KeyInfo (its sort keys are cached per page). A table
interior key need not exist in a leaf any more after deletes, so seeks move
to the neighbour leaf.

Damage is reported as ``CorruptError`` (never IndexError & co., never a
hang): descents are bounded by SQLite's maximum depth (20) and refuse a page
seen twice, page 0/1 or a page past the end as a child, a wrong page type, a
cell outside its page, and overflow chains of the wrong length.
"""
from __future__ import annotations

import functools
import struct
from bisect import bisect_left, bisect_right
from typing import Any, Callable, Iterator, Sequence

from storage.errors import CorruptError, InterfaceError, ProgrammingError
from storage.page import (
    INDEX_INTERIOR, INDEX_LEAF, TABLE_INTERIOR, TABLE_LEAF, cell_size, local_size,
    read_payload,
)
from storage.record import (
    SORT_HI, _dec_cache, decode_at, get_varint, sort_key, values_sort_key,
)

__all__ = [
    "TABLE", "INDEX", "KeyInfo", "TableCursor", "IndexCursor", "create_tree", "drop_tree",
    "clear_tree", "table_insert", "table_delete", "table_max_rowid", "index_insert",
    "index_delete", "count", "MAX_DEPTH",
]

TABLE = "table"
INDEX = "index"
#: SQLite's BTCURSOR_MAX_DEPTH: a deeper tree is damage (a pointer cycle)
MAX_DEPTH = 20

_MIN_ROWID = -(1 << 63)
_MAX_ROWID = (1 << 63) - 1
_OPS = ("=", ">=", ">", "<=", "<")

_unpack_I = struct.Struct(">I").unpack_from
_CONVERT = (IndexError, struct.error, ValueError, KeyError, RecursionError, OverflowError)
_ptr_structs: dict[int, Any] = {}
_dec_get = _dec_cache.get


def _corrupt(detail: str) -> CorruptError:
    return CorruptError(detail=detail)


def _guard(fn: Callable) -> Callable:
    """Public entry point: turn low-level errors from damaged bytes into CorruptError."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except _CONVERT as e:
            raise CorruptError(detail=f"{type(e).__name__}: {e}") from None
    return wrapper


# -- key comparison for index trees ------------------------------------------

class _Coll:
    """A text value under a collation (ascending)."""
    __slots__ = ("s", "fn")

    def __init__(self, s: str, fn: Callable[[str, str], int]) -> None:
        self.s = s
        self.fn = fn

    def __eq__(self, o: Any) -> bool:
        return self.fn(self.s, o.s) == 0

    def __lt__(self, o: Any) -> bool:
        return self.fn(self.s, o.s) < 0

    def __gt__(self, o: Any) -> bool:
        return self.fn(self.s, o.s) > 0

    def __le__(self, o: Any) -> bool:
        return self.fn(self.s, o.s) <= 0

    def __ge__(self, o: Any) -> bool:
        return self.fn(self.s, o.s) >= 0

    __hash__ = None  # type: ignore[assignment]


class _CollDesc(_Coll):
    """A text value under a collation, DESC: the order reversed."""
    __slots__ = ()

    def __lt__(self, o: Any) -> bool:
        return self.fn(self.s, o.s) > 0

    def __gt__(self, o: Any) -> bool:
        return self.fn(self.s, o.s) < 0

    def __le__(self, o: Any) -> bool:
        return self.fn(self.s, o.s) >= 0

    def __ge__(self, o: Any) -> bool:
        return self.fn(self.s, o.s) <= 0


class _Rev:
    """A bytes value (text under BINARY, or a blob) in a DESC column."""
    __slots__ = ("b",)

    def __init__(self, b: bytes) -> None:
        self.b = b

    def __eq__(self, o: Any) -> bool:
        return self.b == o.b

    def __lt__(self, o: Any) -> bool:
        return self.b > o.b

    def __gt__(self, o: Any) -> bool:
        return self.b < o.b

    def __le__(self, o: Any) -> bool:
        return self.b >= o.b

    def __ge__(self, o: Any) -> bool:
        return self.b <= o.b

    __hash__ = None  # type: ignore[assignment]


class KeyInfo:
    """How an index compares its keys: per key column a collation and a DESC flag.

    ``collations[i]`` is a callable ``(str, str) -> int`` (negative, zero,
    positive like ``strcmp``) or None for BINARY; ``desc[i]`` inverts column
    i. Columns past the tuples (e.g. the trailing rowid) are BINARY ASC. The
    all-BINARY, all-ASC case compares precomputed flat tuples in C; the others
    wrap values in small comparison objects and are slower.
    """

    __slots__ = ("collations", "desc", "_sig")

    def __init__(self, collations: Sequence[Any] = (), desc: Sequence[bool] = ()) -> None:
        self.collations = tuple(collations)
        self.desc = tuple(bool(d) for d in desc)
        fast = all(c is None for c in self.collations) and not any(self.desc)
        #: identity of the sort-key scheme cached on pages (None = BINARY ASC)
        self._sig: Any = None if fast else self

    def __repr__(self) -> str:
        return f"KeyInfo(collations={self.collations!r}, desc={self.desc!r})"

    def __eq__(self, o: Any) -> bool:
        return isinstance(o, KeyInfo) and o.collations == self.collations and o.desc == self.desc

    def __hash__(self) -> int:
        return hash((self.collations, self.desc))

    def sort_key(self, values: Sequence[Any]) -> tuple:
        """The flat, totally ordered sort key of a tuple of values (a search key)."""
        if self._sig is None:
            return values_sort_key(values)
        return self._slow_key(values)

    def _slow_key(self, values: Sequence[Any]) -> tuple:
        colls = self.collations
        desc = self.desc
        nc = len(colls)
        nd = len(desc)
        out: list[Any] = []
        app = out.append
        flat = values_sort_key(values)
        for i, v in enumerate(values):
            cls = flat[2 * i]
            val = flat[2 * i + 1]
            coll = colls[i] if i < nc else None
            d = desc[i] if i < nd else False
            if cls == 2 and coll is not None:
                s = v if type(v) is str else val.decode("utf-8", "surrogateescape")
                val = _CollDesc(s, coll) if d else _Coll(s, coll)
            elif d:
                if cls == 1:
                    val = -val
                elif cls >= 2:
                    val = _Rev(val)
            app(-cls if d else cls)
            app(val)
        return tuple(out)


_BINARY = KeyInfo()


# -- decoded pages -------------------------------------------------------------

class _Node:
    """The decoded view of one B-tree page, cached in ``Page.cells``.

    ``keys``: rowids (table pages) or sort keys (index pages, built lazily for
    the KeyInfo in ``skid``); ``offs``: cell offsets; ``child``: n+1 child page
    numbers (interior); ``recs``: decoded records (table leaves) or key tuples
    (index pages), filled lazily.
    """

    __slots__ = ("pgno", "page", "data", "ptype", "leaf", "intkey", "n", "keys", "offs",
                 "child", "recs", "skid", "usable", "hdr", "nfree")

    def clone(self, page: Any) -> "_Node":
        """This view for ``page``, a byte-identical copy (the pager's copy-on-write):
        copying the lists costs a few microseconds, re-parsing a full leaf ~90."""
        c = _Node.__new__(_Node)
        c.pgno = self.pgno
        c.page = page
        c.data = page.data
        c.ptype = self.ptype
        c.leaf = self.leaf
        c.intkey = self.intkey
        c.n = self.n
        c.keys = None if self.keys is None else list(self.keys)
        c.offs = list(self.offs)
        c.child = None if self.child is None else list(self.child)
        c.recs = None if self.recs is None else list(self.recs)
        c.skid = self.skid
        c.usable = self.usable
        c.hdr = self.hdr
        c.nfree = self.nfree
        return c


def _parse(txn: Any, page: Any) -> _Node:
    data = page.data
    pgno = page.pgno
    hdr = 100 if pgno == 1 else 0
    usable = txn.usable_size
    ptype = data[hdr]
    n = (data[hdr + 3] << 8) | data[hdr + 4]
    node = _Node()
    node.pgno = pgno
    node.page = page
    node.data = data
    node.ptype = ptype
    node.n = n
    node.usable = usable
    node.hdr = hdr
    node.skid = None
    node.child = None
    node.nfree = -1  # free bytes, computed when a writer first needs them
    if ptype == TABLE_LEAF:
        node.leaf = True
        node.intkey = True
        base = hdr + 8
    elif ptype == TABLE_INTERIOR:
        node.leaf = False
        node.intkey = True
        base = hdr + 12
    elif ptype == INDEX_LEAF:
        node.leaf = True
        node.intkey = False
        base = hdr + 8
    elif ptype == INDEX_INTERIOR:
        node.leaf = False
        node.intkey = False
        base = hdr + 12
    else:
        raise _corrupt(f"page {pgno}: bad page type {ptype}")
    lo = base + 2 * n
    if lo > usable:
        raise _corrupt(f"page {pgno}: too many cells")
    if n:
        st = _ptr_structs.get(n)
        if st is None:
            st = _ptr_structs[n] = struct.Struct(">%dH" % n).unpack_from
        offs = list(st(data, base))
        if min(offs) < lo or max(offs) > usable - 4:
            raise _corrupt(f"page {pgno}: cell pointer out of range")
    else:
        offs = []
    node.offs = offs
    if ptype == TABLE_LEAF:
        keys = []
        app = keys.append
        for pc in offs:
            # skip the payload-size varint, then read the rowid varint (1-2 bytes inline)
            if data[pc] < 0x80:
                q = pc + 1
            elif data[pc + 1] < 0x80:
                q = pc + 2
            else:
                q = get_varint(data, pc)[1]
            b = data[q]
            if b < 0x80:
                app(b)
            else:
                b2 = data[q + 1]
                app(((b & 0x7F) << 7) | b2 if b2 < 0x80 else get_varint(data, q)[0])
        node.keys = keys
        node.recs = [None] * n
    elif ptype == TABLE_INTERIOR:
        keys = []
        app = keys.append
        child = []
        capp = child.append
        for pc in offs:
            capp((data[pc] << 24) | (data[pc + 1] << 16) | (data[pc + 2] << 8) | data[pc + 3])
            b = data[pc + 4]
            if b < 0x80:
                app(b)
            else:
                b2 = data[pc + 5]
                app(((b & 0x7F) << 7) | b2 if b2 < 0x80 else get_varint(data, pc + 4)[0])
        capp(_unpack_I(data, hdr + 8)[0])
        node.keys = keys
        node.child = child
        node.recs = None
    else:
        node.keys = None
        node.recs = [None] * n
        if ptype == INDEX_INTERIOR:
            child = [(data[pc] << 24) | (data[pc + 1] << 16) | (data[pc + 2] << 8) | data[pc + 3]
                     for pc in offs]
            child.append(_unpack_I(data, hdr + 8)[0])
            node.child = child
    return node


def _adopt(txn: Any, page: Any) -> _Node:
    """The decoded view of ``page``: its cached node, or a fresh one.

    The pager may carry a dirty page's node over to the committed copy it
    makes at commit (same bytes): such a node is re-pointed at the immutable
    copy. A node found on a different mutable page is never shared.
    """
    node = page.cells
    if node is not None and node.page is not page:
        if page.data.__class__ is bytes:
            node.data = page.data
            node.page = page
        else:
            node = None
    if node is None:
        node = page.cells = _parse(txn, page)
    return node


def _load(txn: Any, pgno: int, intkey: bool) -> _Node:
    """The decoded page ``pgno``; CorruptError if out of range or of the wrong kind."""
    if pgno < 1 or pgno > txn.db_size:
        raise _corrupt(f"page {pgno} out of range")
    page = txn.page(pgno)
    node = page.cells
    if node is None or node.page is not page:
        node = _adopt(txn, page)
    if node.intkey is not intkey:
        raise _corrupt(f"page {pgno} belongs to the wrong kind of tree")
    return node


def _payload_span(node: _Node, i: int, txn: Any) -> tuple[Any, int, int]:
    """``(buffer, start, end)`` of cell i's payload, following overflow if needed."""
    data = node.data
    pc = node.offs[i]
    if node.ptype == INDEX_INTERIOR:
        pc += 4
    b = data[pc]
    if b < 0x80:
        p = b
        q = pc + 1
    else:
        p, q = get_varint(data, pc)
    table = node.ptype == TABLE_LEAF
    if table:
        end = q + 8
        while q < end and data[q] >= 0x80:
            q += 1
        q += 1
    usable = node.usable
    x = usable - 35 if table else ((usable - 12) * 64 // 255) - 23
    if 0 <= p <= x:
        if q + p > usable:
            raise _corrupt(f"page {node.pgno}: cell extends past the page")
        return data, q, q + p
    if p < 0 or p > txn.db_size * usable:
        raise _corrupt(f"page {node.pgno}: payload size {p} out of range")
    local = local_size(p, usable, table)
    if q + local + 4 > usable:
        raise _corrupt(f"page {node.pgno}: cell extends past the page")
    full = read_payload(txn, data, q, p, local)
    return full, 0, p


def _record(node: _Node, i: int, txn: Any) -> tuple:
    """Decode cell i's record and cache it in ``node.recs``."""
    if node.ptype == TABLE_LEAF:
        # the hot case inline: a table-leaf cell whose payload is all on the page
        data = node.data
        pc = node.offs[i]
        p = data[pc]
        if p < 0x80:
            q = pc + 1
        else:
            p, q = get_varint(data, pc)
        if data[q] < 0x80:
            q += 1
        else:
            end = q + 8
            while q < end and data[q] >= 0x80:
                q += 1
            q += 1
        usable = node.usable
        if 0 <= p <= usable - 35:
            e = q + p
            if e > usable:
                raise _corrupt(f"page {node.pgno}: cell extends past the page")
            hs = data[q]
            try:  # record.decode_at's compiled-header fast path, inlined
                ent = _dec_get(data[q:q + hs])
            except TypeError:  # a bytearray slice (dirty page)
                ent = None
            if ent.__class__ is tuple and q + ent[2] <= e:
                r = node.recs[i] = ent[1](ent[0](data, q))
            else:
                r = node.recs[i] = decode_at(data, q, e)
            return r
    buf, s, e = _payload_span(node, i, txn)
    r = decode_at(buf, s, e)
    node.recs[i] = r
    return r


def _decode_leaf(node: _Node, txn: Any, start: int) -> list:
    """Decode every not-yet-decoded record of a leaf from cell ``start`` on (one
    loop for a whole page: what scans use); return ``node.recs``."""
    recs = node.recs
    n = node.n
    if node.ptype != TABLE_LEAF:
        for i in range(start, n):
            if recs[i] is None:
                _record(node, i, txn)
        return recs
    data = node.data
    usable = node.usable
    x = usable - 35
    get = _dec_get
    offs = node.offs
    hashable = data.__class__ is bytes
    for i in range(start, n):
        if recs[i] is not None:
            continue
        pc = offs[i]
        p = data[pc]
        if p < 0x80:
            q = pc + 1
        else:
            p, q = get_varint(data, pc)
        if data[q] < 0x80:
            q += 1
        else:
            end = q + 8
            while q < end and data[q] >= 0x80:
                q += 1
            q += 1
        if 0 <= p <= x:
            e = q + p
            if e > usable:
                raise _corrupt(f"page {node.pgno}: cell extends past the page")
            hs = data[q]
            ent = get(data[q:q + hs] if hashable else bytes(data[q:q + hs]))
            if ent.__class__ is tuple and q + ent[2] <= e:
                recs[i] = ent[1](ent[0](data, q))
            else:
                recs[i] = decode_at(data, q, e)
        else:
            _record(node, i, txn)
    return recs


def _ikeys(node: _Node, txn: Any, ki: KeyInfo) -> list:
    """The sort keys of an index page under ``ki`` (built once, then cached)."""
    keys = node.keys
    sig = ki._sig
    if keys is not None and node.skid is sig:
        return keys
    keys = []
    app = keys.append
    if sig is None:
        for i in range(node.n):
            buf, s, e = _payload_span(node, i, txn)
            app(sort_key(buf, s, e))
    else:
        recs = node.recs
        slow = ki._slow_key
        for i in range(node.n):
            r = recs[i]
            if r is None:
                r = _record(node, i, txn)
            app(slow(r))
    node.keys = keys
    node.skid = sig
    return keys


# -- cursors -----------------------------------------------------------------

class _Empty:
    """Stands in for the current page of an unpositioned cursor."""
    leaf = True
    n = 0
    keys: list = []
    recs: list = []
    offs: list = []


_EMPTY = _Empty()


def _not_positioned() -> InterfaceError:
    return InterfaceError("cursor is not positioned on an entry")


class _Cursor:
    """Navigation shared by table and index cursors.

    State: ``_pn``/``_pi`` are the ancestors of the current page and the child
    index taken in each; ``_node``/``_idx`` the current page and cell. On a
    leaf ``_n`` is its cell count (so ``next`` is one comparison); an index
    cursor can also stand on an interior cell, with ``_n = 0``.
    """

    __slots__ = ("_txn", "_root", "_intkey", "_pn", "_pi", "_node", "_idx", "_n", "valid")

    def __init__(self, txn: Any, root: int, intkey: bool) -> None:
        self._txn = txn
        self._root = root
        self._intkey = intkey
        self._pn: list[_Node] = []
        self._pi: list[int] = []
        self._node: Any = _EMPTY
        self._idx = 0
        self._n = 0
        #: True when the cursor stands on an entry
        self.valid = False

    # -- moving ---------------------------------------------------------------

    def _invalidate(self) -> bool:
        self._node = _EMPTY
        self._idx = 0
        self._n = 0
        self.valid = False
        self._pn.clear()
        self._pi.clear()
        return False

    def _child(self, node: _Node, i: int) -> _Node:
        """Load child i of ``node`` (pushed on the stack by the caller)."""
        pgno = node.child[i]
        if pgno < 2:
            raise _corrupt(f"page {node.pgno}: child pointer {pgno}")
        pn = self._pn
        if len(pn) > MAX_DEPTH:
            raise _corrupt("tree deeper than 20 levels (pointer cycle?)")
        child = _load(self._txn, pgno, self._intkey)
        if child in pn:
            raise _corrupt(f"page {pgno} is its own ancestor")
        return child

    def _down_first(self, node: _Node) -> bool:
        """From ``node`` (not yet on the stack) go to the leftmost leaf's first cell."""
        pn = self._pn
        pi = self._pi
        while not node.leaf:
            pn.append(node)
            pi.append(0)
            node = self._child(node, 0)
        self._node = node
        self._idx = 0
        self._n = n = node.n
        self.valid = True
        return n > 0

    def _down_last(self, node: _Node) -> bool:
        pn = self._pn
        pi = self._pi
        while not node.leaf:
            pn.append(node)
            pi.append(node.n)
            node = self._child(node, node.n)
        self._node = node
        self._n = n = node.n
        self._idx = n - 1
        self.valid = True
        return n > 0

    def _up_next(self) -> bool:
        """The current leaf is used up: find the next entry above or to the right."""
        pn = self._pn
        pi = self._pi
        while pn:
            node = pn[-1]
            i = pi[-1]
            if i < node.n:
                if self._intkey:
                    pi[-1] = i + 1
                    if self._down_first(self._child(node, i + 1)):
                        return True
                    continue
                pn.pop()
                pi.pop()
                self._node = node
                self._idx = i
                self._n = 0
                return True
            pn.pop()
            pi.pop()
        return self._invalidate()

    def _up_prev(self) -> bool:
        pn = self._pn
        pi = self._pi
        while pn:
            node = pn[-1]
            i = pi[-1]
            if i > 0:
                if self._intkey:
                    pi[-1] = i - 1
                    if self._down_last(self._child(node, i - 1)):
                        return True
                    continue
                pn.pop()
                pi.pop()
                self._node = node
                self._idx = i - 1
                self._n = 0
                return True
            pn.pop()
            pi.pop()
        return self._invalidate()

    def _root_node(self) -> _Node:
        self._pn.clear()
        self._pi.clear()
        return _load(self._txn, self._root, self._intkey)

    def first(self) -> bool:
        """Go to the smallest entry; False if the tree is empty."""
        try:
            return self._down_first(self._root_node()) or self._up_next()
        except _CONVERT as e:
            self._invalidate()
            raise CorruptError(detail=str(e)) from None

    def last(self) -> bool:
        """Go to the largest entry; False if the tree is empty."""
        try:
            return self._down_last(self._root_node()) or self._up_prev()
        except _CONVERT as e:
            self._invalidate()
            raise CorruptError(detail=str(e)) from None

    def next(self) -> bool:
        """Step to the next entry; False (and not valid) after the last."""
        i = self._idx + 1
        if i < self._n:
            self._idx = i
            return True
        try:
            if not self.valid:
                return False
            node = self._node
            if not node.leaf:  # on an interior cell: the next entry is in child i+1
                self._pn.append(node)
                self._pi.append(i)
                return self._down_first(self._child(node, i)) or self._up_next()
            return self._up_next()
        except _CONVERT as e:
            self._invalidate()
            raise CorruptError(detail=str(e)) from None

    def prev(self) -> bool:
        """Step to the previous entry; False (and not valid) before the first."""
        i = self._idx - 1
        if i >= 0 and self._n:
            self._idx = i
            return True
        try:
            if not self.valid:
                return False
            node = self._node
            if not node.leaf:
                i += 1
                self._pn.append(node)
                self._pi.append(i)
                return self._down_last(self._child(node, i)) or self._up_prev()
            return self._up_prev()
        except _CONVERT as e:
            self._invalidate()
            raise CorruptError(detail=str(e)) from None

    def _land(self, node: _Node, j: int, forward: bool) -> bool:
        """Stand on leaf cell j, or move to the neighbour if j is past an end."""
        self._node = node
        self._n = n = node.n
        self.valid = True
        if 0 <= j < n:
            self._idx = j
            return True
        if forward:
            self._idx = n
            return self._up_next()
        self._idx = -1
        return self._up_prev()

    def payload(self) -> bytes:
        """The current entry's full payload (record bytes), following overflow pages."""
        node = self._node
        if not self.valid:
            raise _not_positioned()
        try:
            buf, s, e = _payload_span(node, self._idx, self._txn)
            return bytes(buf[s:e])
        except _CONVERT as e:
            raise CorruptError(detail=str(e)) from None

    def record(self) -> tuple:
        """The current entry's decoded record (cached on the page); index
        cursors also expose it as ``key``."""
        node = self._node
        i = self._idx
        try:
            r = node.recs[i]
        except IndexError:
            raise _not_positioned() from None
        if r is not None:
            return r
        if not self.valid:
            raise _not_positioned()
        try:
            return _record(node, i, self._txn)
        except _CONVERT as e:
            raise CorruptError(detail=str(e)) from None


class TableCursor(_Cursor):
    """A cursor over a table B-tree (rowid -> record), in rowid order."""

    __slots__ = ()

    def __init__(self, txn: Any, root: int) -> None:
        self._txn = txn
        self._root = root
        self._intkey = True
        self._pn = []
        self._pi = []
        self._node = _EMPTY
        self._idx = 0
        self._n = 0
        self.valid = False

    @property
    def rowid(self) -> int:
        """The current entry's rowid."""
        try:
            return self._node.keys[self._idx]
        except IndexError:
            raise _not_positioned() from None


    def seek(self, rowid: int, op: str = "=") -> bool:
        """Position on the entry that matches ``rowid`` under ``op``.

        ``=`` exact; ``>=``/``>`` the first entry at/after; ``<=``/``<`` the
        last entry at/before. Returns False (cursor not valid) if none.
        """
        if op == ">":
            if rowid >= _MAX_ROWID:
                return self._invalidate()
            rowid += 1
            op = ">="
        elif op == "<":
            if rowid <= _MIN_ROWID:
                return self._invalidate()
            rowid -= 1
            op = "<="
        elif op not in _OPS:
            raise ProgrammingError(f"bad seek operator {op!r}")
        try:
            txn = self._txn
            pn = self._pn
            pi = self._pi
            pn.clear()
            pi.clear()
            page = txn.page(self._root)
            node = page.cells
            if node is None or node.page is not page:
                node = _adopt(txn, page)
            while True:
                if node.intkey is not True:
                    raise _corrupt(f"page {node.pgno} belongs to the wrong kind of tree")
                if node.leaf:
                    break
                i = bisect_left(node.keys, rowid)
                pn.append(node)
                pi.append(i)
                pgno = node.child[i]
                if pgno < 2 or len(pn) > MAX_DEPTH:
                    raise _corrupt(f"page {node.pgno}: bad child pointer {pgno} or too deep")
                page = txn.page(pgno)
                node = page.cells
                if node is None or node.page is not page:
                    node = _adopt(txn, page)
                if node in pn:
                    raise _corrupt(f"page {pgno} is its own ancestor")
            keys = node.keys
            if op == "<=":
                return self._land(node, bisect_right(keys, rowid) - 1, False)
            j = bisect_left(keys, rowid)
            if op == "=":
                if j < node.n and keys[j] == rowid:
                    self._node = node
                    self._n = node.n
                    self._idx = j
                    self.valid = True
                    return True
                return self._invalidate()
            return self._land(node, j, True)
        except _CONVERT as e:
            self._invalidate()
            raise CorruptError(detail=str(e)) from None

    def iter_rows(self) -> Iterator[tuple[int, tuple]]:
        """Yield ``(rowid, record)`` from the current entry to the end.

        Decodes a leaf at a time; the cursor ends past the last entry (not valid).
        """
        txn = self._txn
        try:
            while self.valid:
                node = self._node
                i = self._idx
                n = node.n
                recs = _decode_leaf(node, txn, i)
                self._idx = n - 1
                if i == 0:
                    yield from zip(node.keys, recs)
                else:
                    yield from zip(node.keys[i:], recs[i:])
                self._up_next()
        except _CONVERT as e:
            self._invalidate()
            raise CorruptError(detail=str(e)) from None


class IndexCursor(_Cursor):
    """A cursor over an index B-tree, in key order (``key`` = the decoded record)."""

    __slots__ = ("_ki",)

    def __init__(self, txn: Any, root: int, keyinfo: KeyInfo | None = None) -> None:
        self._txn = txn
        self._root = root
        self._intkey = False
        self._pn = []
        self._pi = []
        self._node = _EMPTY
        self._idx = 0
        self._n = 0
        self.valid = False
        self._ki = keyinfo if keyinfo is not None else _BINARY

    #: the current entry as a tuple: the key columns then (usually) the rowid
    key = property(_Cursor.record)

    def seek(self, key: Sequence[Any], op: str = "=") -> bool:
        """Position on the entry matching ``key`` (possibly a prefix) under ``op``.

        Comparison looks only at ``len(key)`` columns: ``=`` the first entry
        whose prefix equals ``key``; ``>=``/``>`` the first entry whose prefix
        is at least / greater; ``<=``/``<`` the last entry whose prefix is at
        most / less. Returns False (cursor not valid) if none.
        """
        if op not in _OPS:
            raise ProgrammingError(f"bad seek operator {op!r}")
        ki = self._ki
        s = ki.sort_key(key)
        if op == ">" or op == "<=":
            s = s + SORT_HI
        forward = op[0] != "<"
        txn = self._txn
        sig = ki._sig
        try:
            pn = self._pn
            pi = self._pi
            pn.clear()
            pi.clear()
            page = txn.page(self._root)
            node = page.cells
            if node is None or node.page is not page:
                node = _adopt(txn, page)
            while True:
                if node.intkey is not False:
                    raise _corrupt(f"page {node.pgno} belongs to the wrong kind of tree")
                keys = node.keys
                if keys is None or node.skid is not sig:
                    keys = _ikeys(node, txn, ki)
                if node.leaf:
                    break
                i = bisect_left(keys, s)
                pn.append(node)
                pi.append(i)
                pgno = node.child[i]
                if pgno < 2 or len(pn) > MAX_DEPTH:
                    raise _corrupt(f"page {node.pgno}: bad child pointer {pgno} or too deep")
                page = txn.page(pgno)
                node = page.cells
                if node is None or node.page is not page:
                    node = _adopt(txn, page)
                if node in pn:
                    raise _corrupt(f"page {pgno} is its own ancestor")
            j = bisect_left(keys, s)
            if not forward:
                j -= 1
            if not self._land(node, j, forward):
                return False
            if op == "=":
                k = _ikeys(self._node, txn, ki)[self._idx]
                if k[:len(s)] != s:
                    return self._invalidate()
            return True
        except _CONVERT as e:
            self._invalidate()
            raise CorruptError(detail=str(e)) from None

    def iter_keys(self) -> Iterator[tuple]:
        """Yield every key from the current entry to the end."""
        txn = self._txn
        try:
            while self.valid:
                node = self._node
                if node.leaf:
                    i = self._idx
                    n = node.n
                    recs = _decode_leaf(node, txn, i)
                    self._idx = n - 1
                    yield from recs[i:]
                    self._up_next()
                else:
                    yield self.key
                    self.next()
        except _CONVERT as e:
            self._invalidate()
            raise CorruptError(detail=str(e)) from None


# -- whole-tree reads ------------------------------------------------------------


@_guard
def count(txn: Any, root: int) -> int:
    """Number of entries in the tree (reads page headers only, plus interior pages)."""
    total = 0
    stack = [(root, 0)]
    seen = {root}
    while stack:
        pgno, depth = stack.pop()
        if pgno < 1 or pgno > txn.db_size:
            raise _corrupt(f"page {pgno} out of range")
        page = txn.page(pgno)
        data = page.data
        hdr = 100 if pgno == 1 else 0
        ptype = data[hdr]
        n = (data[hdr + 3] << 8) | data[hdr + 4]
        if ptype == TABLE_LEAF or ptype == INDEX_LEAF:
            total += n
            continue
        if ptype == INDEX_INTERIOR:
            total += n
        elif ptype != TABLE_INTERIOR:
            raise _corrupt(f"page {pgno}: bad page type {ptype}")
        if depth >= MAX_DEPTH:
            raise _corrupt("tree deeper than 20 levels")
        node = _adopt(txn, page)
        for k in node.child:
            if k < 2 or k in seen:
                raise _corrupt(f"page {pgno}: bad child pointer {k}")
            seen.add(k)
            stack.append((k, depth + 1))
    return total


@_guard
def table_max_rowid(txn: Any, root: int) -> int | None:
    """The largest rowid in the table, or None if it is empty."""
    c = TableCursor(txn, root)
    return c.rowid if c.last() else None


def _cell_at(node: _Node, j: int) -> bytes:
    """The true bytes of cell j."""
    data = node.data
    pc = node.offs[j]
    n = cell_size(data, pc, node.ptype, node.usable)
    if pc + n > node.usable:
        raise _corrupt(f"page {node.pgno}: cell extends past the page")
    return bytes(data[pc:pc + n])


# -- the write side ----------------------------------------------------------------
#
# storage.balance changes trees and builds on the decoding above, so the two
# modules import each other; each does it at its end, after its own
# definitions, which makes either import order work. The public write
# functions get the damage guard here, at the one entry point; the private
# helpers are re-exported for the tests that check balancing directly.

from storage import balance as _balance  # noqa: E402

create_tree = _guard(_balance.create_tree)
clear_tree = _guard(_balance.clear_tree)
drop_tree = _guard(_balance.drop_tree)
table_insert = _guard(_balance.table_insert)
table_delete = _guard(_balance.table_delete)
index_insert = _guard(_balance.index_insert)
index_delete = _guard(_balance.index_delete)
_tree_pages = _balance._tree_pages
_split = _balance._split
_greedy = _balance._greedy
