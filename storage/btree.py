"""Table and index B-trees: cursors, inserts, deletes and balancing.

Single job: keep SQLite 3's B-trees (one per table, one per index) on pages
obtained from a ``ReadTxn``/``WriteTxn``, read them with cursors and change
them so that every page stays within SQLite's rules (``PRAGMA
integrity_check`` says ``ok``). Byte layouts live in ``page`` (pages, cells,
overflow) and ``record`` (keys); the tree rules are in SQLite's "Database File
Format" (fileformat2) sections 1.6 and 2.2-2.5.

Public surface (what ``mvcc`` uses):

- ``TABLE``, ``INDEX``; ``create_tree``, ``drop_tree``, ``clear_tree``;
- ``KeyInfo`` (per index column: collation, DESC flag);
- ``TableCursor(txn, root)`` / ``IndexCursor(txn, root, keyinfo)``:
  ``first last next prev seek`` and ``valid``, ``rowid``/``key``,
  ``payload()``, ``record()``, plus ``iter_rows()``/``iter_keys()`` for fast scans;
- ``table_insert table_delete table_max_rowid index_insert index_delete count``.

Tree rules kept: all leaves at one depth; no non-root page empty (a non-root
interior page has at least one cell); table interior key = largest rowid of
its left subtree, found by the last cell of that subtree when it was made
(after deletes the key need not exist in a leaf any more, so seeks move to
the neighbour leaf); index interior cells are real entries. Balancing is
SQLite's scheme: a page that overflows or falls under one-third full is
redistributed together with up to two siblings under the same parent
(gather the cells and the dividers between them, repack them as evenly as
fits into as few pages as needed, reuse the page numbers, free the surplus,
then fix the parent and go up); a root that overflows pushes its content
into a new child; an interior root left with one child pulls it up when it
fits (page 1 keeps its 100-byte file header and is always sqlite_schema's
root). A split leaves the pages about 3/4 full, so that random inserts do not
rebalance the same pages again at once. Appending past the last key of a full
rightmost leaf starts a new leaf holding just that entry (SQLite's
``balance_quick``; for an index the old leaf's last entry moves up as the
divider), so bulk loads in key order fill pages completely. The common case
(the cell fits, or leaves the page at least 1/3 full) edits the page in place
with SQLite's own free-space rules (see ``page``) and keeps the page's
decoded cache in step.

Cursors are pure readers and cache decoded pages in ``Page.cells`` (keys,
child pointers, record tuples; DESIGN decision 2). Writes made through this
module to a tree invalidate the cursors open on that tree. An index tree is
always read with one KeyInfo (its sort keys are cached per page).

Index keys: ``index_insert`` of a key equal to a stored one (every column
equal under the KeyInfo) replaces the stored bytes (identical bytes: no-op)
and returns False; ``index_delete`` removes the entry equal to the full key.

Damage is reported as ``CorruptError`` (never IndexError & co., never a
hang): descents are bounded by SQLite's maximum depth (20) and refuse a page
seen twice, page 0/1 or a page past the end as a child, a wrong page type, a
cell outside its page, and overflow chains of the wrong length.
"""
from __future__ import annotations

import functools
import struct
from bisect import bisect_left, bisect_right
from itertools import accumulate
from typing import Any, Callable, Iterator, Sequence

from storage import freelist
from storage.errors import CorruptError, InterfaceError, ProgrammingError
from storage.page import (
    INDEX_INTERIOR, INDEX_LEAF, TABLE_INTERIOR, TABLE_LEAF, cell_overflow, cell_size, check_page,
    drop_cell, free_overflow, insert_cell, local_size, make_index_cell,
    make_table_leaf_cell, page_cells, read_payload, write_page,
)
from storage.record import (
    SORT_HI, _dec_cache, decode_at, encode_record, get_varint, put_varint, sort_key,
    values_sort_key,
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
_from_bytes = int.from_bytes
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

    def record(self) -> tuple:
        """The current entry's decoded record (cached on the page)."""
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

    @property
    def key(self) -> tuple:
        """The current entry as a tuple: the key columns then (usually) the rowid."""
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

    record = key.fget  # type: ignore[assignment]

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


# -- whole-tree operations ---------------------------------------------------------

@_guard
def create_tree(txn: Any, kind: str) -> int:
    """Allocate an empty tree (``TABLE`` or ``INDEX``); return its root page number."""
    if kind not in (TABLE, INDEX):
        raise ProgrammingError(f"bad tree kind {kind!r}")
    pg = freelist.allocate(txn)
    write_page(pg.data, 0, TABLE_LEAF if kind == TABLE else INDEX_LEAF, [], 0, txn.usable_size)
    pg.cells = None
    return pg.pgno


def _tree_pages(txn: Any, root: int) -> list[int]:
    """Every page of the tree (root first), freeing nothing; bounded against cycles."""
    seen = {root}
    out = [root]
    stack = [(root, 0)]
    usable = txn.usable_size
    while stack:
        pgno, depth = stack.pop()
        data = txn.page(pgno).data
        hdr = 100 if pgno == 1 else 0
        ptype = data[hdr]
        if ptype not in (2, 5, 10, 13):
            raise _corrupt(f"page {pgno}: bad page type {ptype}")
        if ptype & 8:
            continue
        if depth >= MAX_DEPTH:
            raise _corrupt("tree deeper than 20 levels")
        kids = [_unpack_I(c, 0)[0] for c in page_cells(data, hdr, usable)]
        kids.append(_unpack_I(data, hdr + 8)[0])
        for k in kids:
            if k < 2 or k > txn.db_size or k in seen:
                raise _corrupt(f"page {pgno}: bad child pointer {k}")
            seen.add(k)
            out.append(k)
            stack.append((k, depth + 1))
    return out


def _free_tree(txn: Any, root: int, keep_root: bool) -> None:
    usable = txn.usable_size
    pages = _tree_pages(txn, root)
    data = txn.page(root).data
    kind_leaf = TABLE_LEAF if data[100 if root == 1 else 0] in (TABLE_LEAF, TABLE_INTERIOR) \
        else INDEX_LEAF
    for pgno in pages:
        hdr = 100 if pgno == 1 else 0
        data = txn.page(pgno).data
        ptype = data[hdr]
        if ptype != TABLE_INTERIOR:
            for c in page_cells(data, hdr, usable):
                ov = cell_overflow(c, ptype, usable)
                if ov is not None:
                    free_overflow(txn, ov[0], ov[1])
    for pgno in pages:
        if pgno != root:
            freelist.free(txn, pgno)
    if keep_root:
        pg = txn.writable(root)
        write_page(pg.data, 100 if root == 1 else 0, kind_leaf, [], 0, usable)
        pg.cells = None
    else:
        freelist.free(txn, root)


@_guard
def clear_tree(txn: Any, root: int) -> None:
    """Delete every entry; the root stays, as an empty leaf. Pages go to the freelist."""
    _free_tree(txn, root, True)


@_guard
def drop_tree(txn: Any, root: int) -> None:
    """Delete the whole tree, root included; every page goes to the freelist."""
    if root == 1:
        raise ProgrammingError("page 1 (sqlite_schema) cannot be dropped")
    _free_tree(txn, root, False)


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


# -- descending for writes ---------------------------------------------------------

def _descend_table(txn: Any, root: int, rowid: int) -> tuple[list, _Node]:
    """Path ``[(pgno, child index), ...]`` from the root to the leaf for ``rowid``."""
    path: list[tuple[int, int]] = []
    seen: list[_Node] = []
    node = _load(txn, root, True)
    while not node.leaf:
        i = bisect_left(node.keys, rowid)
        path.append((node.pgno, i))
        if len(path) > MAX_DEPTH:
            raise _corrupt("tree deeper than 20 levels")
        pgno = node.child[i]
        seen.append(node)
        node = _load(txn, pgno, True)
        if pgno < 2 or node in seen:
            raise _corrupt(f"page {seen[-1].pgno}: bad child pointer {pgno}")
    return path, node


def _descend_index(txn: Any, root: int, sk: tuple, ki: KeyInfo) -> tuple[list, _Node, int, bool]:
    """Path to the key ``sk``: ``(path, node, index, found)``; the node may be interior
    when the key is found there."""
    path: list[tuple[int, int]] = []
    seen: list[_Node] = []
    node = _load(txn, root, False)
    while True:
        keys = _ikeys(node, txn, ki)
        i = bisect_left(keys, sk)
        if i < node.n and keys[i] == sk:
            return path, node, i, True
        if node.leaf:
            return path, node, i, False
        path.append((node.pgno, i))
        if len(path) > MAX_DEPTH:
            raise _corrupt("tree deeper than 20 levels")
        pgno = node.child[i]
        seen.append(node)
        node = _load(txn, pgno, False)
        if pgno < 2 or node in seen:
            raise _corrupt(f"page {seen[-1].pgno}: bad child pointer {pgno}")


def _cell_rowid(cell: bytes) -> int:
    """Rowid of a table-leaf cell."""
    q = get_varint(cell, 0)[1]
    return get_varint(cell, q)[0]


def _page_content(txn: Any, pgno: int) -> tuple[int, list[bytes], int]:
    """``(page type, cells, right child)`` of a page."""
    data = txn.page(pgno).data
    hdr = 100 if pgno == 1 else 0
    ptype = data[hdr]
    right = 0 if ptype & 8 else _unpack_I(data, hdr + 8)[0]
    return ptype, page_cells(data, hdr, txn.usable_size), right


def _write(txn: Any, pgno: int, ptype: int, cells: list[bytes], right: int) -> None:
    pg = txn.writable(pgno)
    write_page(pg.data, 100 if pgno == 1 else 0, ptype, cells, right, txn.usable_size)
    pg.cells = None


def _underfull(txn: Any, pgno: int) -> bool:
    """Whether a non-root page needs balancing after losing a cell (SQLite's rule:
    empty, or more than two thirds of the usable space free)."""
    page = txn.page(pgno)
    data = page.data
    if not ((data[3] << 8) | data[4]):
        return True
    node = page.cells
    if node is not None and node.page is page and node.nfree >= 0:
        return node.nfree > txn.usable_size * 2 // 3
    return check_page(data, 0, txn.usable_size) > txn.usable_size * 2 // 3


def _cell_at(node: _Node, j: int) -> bytes:
    """The true bytes of cell j."""
    data = node.data
    pc = node.offs[j]
    n = cell_size(data, pc, node.ptype, node.usable)
    if pc + n > node.usable:
        raise _corrupt(f"page {node.pgno}: cell extends past the page")
    return bytes(data[pc:pc + n])


def _cell_sort_key(txn: Any, cell: bytes, interior: bool) -> tuple:
    """BINARY sort key of an index cell (leaf format, or interior with its child)."""
    q0 = 4 if interior else 0
    p, q = get_varint(cell, q0)
    local = local_size(p, txn.usable_size, False)
    if local == p:
        return sort_key(cell, q, q + p)
    full = read_payload(txn, cell, q, p, local)
    return sort_key(full, 0, p)


# -- in-place edits (the common case: no balancing) ----------------------------------
#
# These keep the page's cached node in step when this transaction owns it
# (node.page is the writable page), so a run of inserts into one page does
# not re-decode it each time; otherwise they drop the cache.

def _insert_inplace(txn: Any, pgno: int, j: int, cell: bytes, key: Any, sig: Any) -> bool:
    """Insert ``cell`` as cell j of ``pgno`` if it fits; ``key`` is its rowid (table
    pages) or sort key under KeyInfo signature ``sig`` (index pages; None = unknown)."""
    page = txn.writable(pgno)
    node = page.cells
    if node is not None and node.page is not page:
        node = page.cells = None
    usable = txn.usable_size
    hdr = 100 if pgno == 1 else 0
    if node is not None and node.nfree < 0:
        node.nfree = check_page(page.data, hdr, usable)
    r = insert_cell(page.data, hdr, j, cell, usable, -1 if node is None else node.nfree)
    if r == 0:
        return False
    if r > 0 and node is not None:
        ln = len(cell)
        node.nfree -= (ln if ln >= 4 else 4) + 2
        node.n += 1
        node.offs.insert(j, r)
        if node.recs is not None:
            node.recs.insert(j, None)
        if node.child is not None:
            node.child.insert(j, _unpack_I(cell, 0)[0])
        if node.intkey:
            node.keys.insert(j, key)
        elif node.keys is not None:
            if key is not None and node.skid is sig:
                node.keys.insert(j, key)
            elif node.skid is None:
                node.keys.insert(j, _cell_sort_key(txn, cell, not node.leaf))
            else:
                node.keys = None
    else:
        page.cells = None
    return True


def _drop_inplace(txn: Any, pgno: int, j: int) -> None:
    """Remove cell j of ``pgno`` (its overflow chain is the caller's business)."""
    page = txn.writable(pgno)
    node = page.cells
    freed = drop_cell(page.data, 100 if pgno == 1 else 0, j, txn.usable_size)
    if node is not None and node.page is page:
        if node.n == 1:
            node.nfree = -1  # an emptied page is reset: fragments are gone too
        elif node.nfree >= 0:
            node.nfree += freed
        node.n -= 1
        del node.offs[j]
        if node.recs is not None:
            del node.recs[j]
        if node.child is not None:
            del node.child[j]
        if node.keys is not None:
            del node.keys[j]
    else:
        page.cells = None


def _set_child(txn: Any, pgno: int, i: int, child: int) -> None:
    """Point child slot i of interior page ``pgno`` (i == ncells: the right child) at ``child``."""
    page = txn.writable(pgno)
    data = page.data
    hdr = 100 if pgno == 1 else 0
    n = (data[hdr + 3] << 8) | data[hdr + 4]
    if i == n:
        off = hdr + 8
    else:
        p = hdr + 12 + 2 * i
        off = (data[p] << 8) | data[p + 1]
    data[off:off + 4] = child.to_bytes(4, "big")
    node = page.cells
    if node is not None and node.page is page:
        node.child[i] = child
    else:
        page.cells = None


# -- balancing ---------------------------------------------------------------------------

def _fp(cell: bytes) -> int:
    """Bytes a cell costs on a page: its content (at least 4) plus its pointer."""
    n = len(cell)
    return n + 2 if n >= 4 else 6


def _rewrite(txn: Any, path: list, pgno: int, ptype: int, cells: list[bytes], right: int) -> None:
    """Make page ``pgno`` (reached through ``path``: ``[(ancestor pgno, child index)]``)
    hold ``cells`` (+ ``right`` child), splitting, merging or redistributing it with
    its siblings as needed, then fixing its ancestors the same way."""
    usable = txn.usable_size
    nmin = usable * 2 // 3
    while True:
        hsize = 8 if ptype & 8 else 12
        total = sum(map(_fp, cells))
        if not path:
            cap = usable - (100 if pgno == 1 else 0) - hsize
            if total <= cap:
                if not (ptype & 8) and not cells and _pull_up(txn, pgno, right):
                    return
                _write(txn, pgno, ptype, cells, right)
                return
            # the root overflows: move its content into a new child and split that
            child = freelist.allocate(txn)
            _write(txn, pgno, ptype & ~8, [], child.pgno)
            path = [(pgno, 0)]
            pgno = child.pgno
            continue
        cap = usable - hsize
        if total <= cap and cells and cap - total <= nmin:
            _write(txn, pgno, ptype, cells, right)
            return
        ppgno, ci = path[-1]
        path = path[:-1]
        edit = _balance(txn, ppgno, ci, pgno, ptype, cells, right, not path, total > cap)
        if edit[0] < 0:  # the parent (the root) gets new content outright
            _, ptype, cells, right = edit
            pgno = ppgno
            continue
        lo, hi, divs, lastpg = edit
        if _edit_parent(txn, ppgno, lo, hi, divs, lastpg, not path):
            return
        ptype, pcells, pright = _page_content(txn, ppgno)
        cells = pcells[:lo] + divs
        if hi < len(pcells):
            cells.append(lastpg.to_bytes(4, "big") + pcells[hi][4:])
            cells.extend(pcells[hi + 1:])
            right = pright
        else:
            right = lastpg
        pgno = ppgno


def _edit_parent(txn: Any, ppgno: int, lo: int, hi: int, divs: list[bytes], lastpg: int,
                 is_root: bool) -> bool:
    """Replace dividers lo..hi-1 of ``ppgno`` by ``divs`` and point child slot
    lo+len(divs) at ``lastpg``, in place, if the page then needs no balancing.
    Changes nothing and returns False otherwise."""
    usable = txn.usable_size
    page = txn.page(ppgno)
    data = page.data
    hdr = 100 if ppgno == 1 else 0
    ptype = data[hdr]
    n = (data[hdr + 3] << 8) | data[hdr + 4]
    nfree = check_page(data, hdr, usable)
    base = hdr + 12
    for k in range(lo, hi):
        p = base + 2 * k
        sz = cell_size(data, (data[p] << 8) | data[p + 1], ptype, usable)
        nfree += (sz if sz >= 4 else 4) + 2
    nfree -= sum(map(_fp, divs))
    n_after = n - (hi - lo) + len(divs)
    if nfree < 0 or n_after == 0 or (not is_root and nfree > usable * 2 // 3):
        return False
    for _ in range(hi - lo):
        _drop_inplace(txn, ppgno, lo)
    intkey = ptype == TABLE_INTERIOR
    for k, d in enumerate(divs):
        key = get_varint(d, 4)[0] if intkey else None
        if not _insert_inplace(txn, ppgno, lo + k, d, key, None):
            raise _corrupt("divider did not fit after all")  # a bug, never damage
    _set_child(txn, ppgno, lo + len(divs), lastpg)
    return True


def _pull_up(txn: Any, root: int, child: int) -> bool:
    """Root with no cells and one child: copy the child into the root if it fits."""
    if child < 2 or child > txn.db_size:
        raise _corrupt(f"page {root}: bad child pointer {child}")
    ctype, ccells, cright = _page_content(txn, child)
    hsize = 8 if ctype & 8 else 12
    if sum(map(_fp, ccells)) > txn.usable_size - (100 if root == 1 else 0) - hsize:
        return False
    _write(txn, root, ctype, ccells, cright)
    freelist.free(txn, child)
    return True


def _balance(txn: Any, ppgno: int, ci: int, pgno: int, ptype: int, cells: list[bytes],
             right: int, parent_is_root: bool, grow: bool) -> tuple:
    """Redistribute page ``pgno`` (child ``ci`` of ``ppgno``, meant to hold ``cells``)
    with up to two siblings.

    Returns the parent's edit ``(lo, hi, new dividers, last page)``: dividers
    lo..hi-1 are replaced and child slot lo+len(new dividers) points at the
    last page; or ``(-1, type, cells, right)``: the parent (a root with one
    child) gets this content outright. ``grow``: the page overflowed, so leave
    room (pages about 3/4 full) rather than pack the siblings to the brim.
    """
    usable = txn.usable_size
    db_size = txn.db_size
    pnode = _load(txn, ppgno, bool(ptype & 1))
    ptype_p = pnode.ptype
    if ptype_p != (ptype & ~8):
        raise _corrupt(f"page {ppgno}: parent of a different kind of page")
    nc = pnode.n
    children = pnode.child
    if ci > nc or children[ci] != pgno:
        raise _corrupt(f"page {ppgno}: child pointer moved")
    lo = ci - 1 if ci > 0 else 0
    if lo + 2 > nc:
        lo = nc - 2 if nc >= 2 else 0
    hi = min(nc, lo + 2)
    sibs = children[lo:hi + 1]
    pdivs = [_cell_at(pnode, k)[4:] for k in range(lo, hi)]
    last = len(sibs) - 1
    contents = []
    for s in sibs:
        if s == pgno:
            contents.append((cells, right))
            continue
        if s < 2 or s > db_size or s == ppgno:
            raise _corrupt(f"page {ppgno}: bad child pointer {s}")
        stype, scells, sright = _page_content(txn, s)
        if stype != ptype:
            raise _corrupt(f"page {s}: sibling of a different type")
        contents.append((scells, sright))
    leaf = ptype & 8
    cap = usable - (8 if leaf else 12)
    # gather the items and decide the groups
    if ptype == TABLE_LEAF:
        items: list[Any] = [c for cs, _ in contents for c in cs]
        groups = _split([_fp(c) for c in items], cap, 0, grow) if items else []
    elif ptype == INDEX_LEAF:
        items = []
        for k, (cs, _) in enumerate(contents):
            items.extend(cs)
            if k < last:
                items.append(pdivs[k])
        groups = _split([_fp(c) for c in items], cap, 2, grow) if items else []
    else:
        items = []
        for k, (cs, r) in enumerate(contents):
            items.extend((_unpack_I(c, 0)[0], c[4:]) for c in cs)
            items.append((r, pdivs[k] if k < last else b""))
        sizes = [4 + len(key) + 2 for _, key in items]
        groups = _split(sizes, cap, 1, grow) if len(items) > 1 else []
    if not groups:
        # everything under a parent with one child vanished or needs no page of its own
        if nc or not parent_is_root:
            raise _corrupt(f"page {ppgno}: interior page with a single child")
        freelist.free(txn, pgno)
        if leaf:
            return -1, ptype, [], 0          # the root becomes an empty leaf
        return -1, ptype_p, [], items[0][0]  # the root adopts the grandchild
    # page numbers: reuse the siblings', allocate or free the difference
    k = len(groups)
    pgnos = sibs[:k]
    while len(pgnos) < k:
        pgnos.append(freelist.allocate(txn).pgno)
    divs = []
    for j, (s, e) in enumerate(groups):
        pg = pgnos[j]
        if ptype == TABLE_LEAF:
            _write(txn, pg, ptype, items[s:e], 0)
            if j < k - 1:
                divs.append(pg.to_bytes(4, "big") + put_varint(_cell_rowid(items[e - 1])))
        elif ptype == INDEX_LEAF:
            _write(txn, pg, ptype, items[s:e], 0)
            if j < k - 1:
                divs.append(pg.to_bytes(4, "big") + items[e])
        else:
            _write(txn, pg, ptype, [c.to_bytes(4, "big") + key for c, key in items[s:e - 1]],
                   items[e - 1][0])
            if j < k - 1:
                divs.append(pg.to_bytes(4, "big") + items[e - 1][1])
    for s in sibs[k:]:
        freelist.free(txn, s)
    return lo, hi, divs, pgnos[-1]


def _split(sizes: list[int], cap: int, mode: int, grow: bool) -> list[tuple[int, int]]:
    """Cut items into consecutive groups that fit pages of ``cap`` bytes, as evenly
    as the fewest pages allow (with ``grow``: enough pages to be about 3/4 full).

    mode 0 (table leaves): groups cover the items. mode 1 (interior pages): a
    group's last item becomes the page's right child (its size does not count)
    and its key goes up, so a group needs two items. mode 2 (index leaves):
    the item after each group but the last goes up as the divider. Returns
    ``(start, end)`` pairs; for mode 2 the divider of group j is item ``end``.
    """
    prefix = [0]
    prefix.extend(accumulate(sizes))
    best = _greedy(prefix, cap, mode)
    if best is None:
        raise _corrupt("cells do not fit on pages")  # a bug, never damage
    k = len(best)
    if grow:
        k = max(k, -(-prefix[-1] * 4 // (cap * 3)))
    if k == 1:
        return best
    lo = 1
    hi = cap
    while lo < hi:
        mid = (lo + hi) // 2
        g = _greedy(prefix, mid, mode)
        if g is not None and len(g) <= k:
            hi = mid
            best = g
        else:
            lo = mid + 1
    return best


def _greedy(prefix: list[int], limit: int, mode: int) -> list[tuple[int, int]] | None:
    """Fill groups left to right up to ``limit`` bytes; None if impossible."""
    n = len(prefix) - 1
    out = []
    s = 0
    while s < n:
        e = bisect_right(prefix, prefix[s] + limit) - 1  # items s..e-1 fit
        if mode == 1:
            e = min(e + 1, n)  # the last item is free (it becomes the right child)
            if e - s < 2:
                return None
            if e == n:
                out.append((s, n))
                return out
            if n - e == 1:
                # a lone last item cannot make a page: give it a partner
                e -= 1
                if e - s < 2:
                    return None
            out.append((s, e))
            s = e
            continue
        if e <= s:
            return None
        if e >= n:
            out.append((s, n))
            return out
        if mode == 2:
            if e == n - 1:
                # the divider would be the very last item: leave it one to its right
                e -= 1
                if e <= s:
                    return None
            out.append((s, e))
            s = e + 1
        else:
            out.append((s, e))
            s = e
    return out


def _rightmost(txn: Any, path: list) -> bool:
    """Whether every step of ``path`` took the last child."""
    for ppg, i in path:
        data = txn.page(ppg).data
        hdr = 100 if ppg == 1 else 0
        if i != (data[hdr + 3] << 8) | data[hdr + 4]:
            return False
    return True


def _new_right_leaf(txn: Any, path: list, pgno: int, ptype: int, cell: bytes,
                    div: bytes) -> None:
    """SQLite's ``balance_quick``: a new rightmost leaf holding only ``cell``; the full
    leaf ``pgno`` becomes the parent's last child under divider ``div``."""
    new = freelist.allocate(txn)
    write_page(new.data, 0, ptype, [cell], 0, txn.usable_size)
    new.cells = None
    ppgno, ci = path[-1]
    dcell = pgno.to_bytes(4, "big") + div
    key = get_varint(div, 0)[0] if ptype == TABLE_LEAF else None
    if _insert_inplace(txn, ppgno, ci, dcell, key, None):
        _set_child(txn, ppgno, ci + 1, new.pgno)
        return
    ptype_p, pcells, _ = _page_content(txn, ppgno)
    pcells.append(dcell)
    _rewrite(txn, path[:-1], ppgno, ptype_p, pcells, new.pgno)


def _free_cell_overflow(txn: Any, cell: bytes, ptype: int) -> None:
    ov = cell_overflow(cell, ptype, txn.usable_size)
    if ov is not None:
        free_overflow(txn, ov[0], ov[1])


def _settle(txn: Any, path: list, pgno: int) -> None:
    """After a cell left leaf ``pgno`` in place: balance it if it is now underfull."""
    if path and _underfull(txn, pgno):
        ptype, cells, _ = _page_content(txn, pgno)
        _rewrite(txn, path, pgno, ptype, cells, 0)


# -- table writes --------------------------------------------------------------

@_guard
def table_insert(txn: Any, root: int, rowid: int, payload: bytes) -> None:
    """Insert ``rowid -> payload`` (record bytes), replacing an existing entry."""
    if not _MIN_ROWID <= rowid <= _MAX_ROWID:
        raise ProgrammingError("rowid out of the 64-bit range")
    path, node = _descend_table(txn, root, rowid)
    keys = node.keys
    n = node.n
    j = bisect_left(keys, rowid)
    pgno = node.pgno
    if j < n and keys[j] == rowid:
        _free_cell_overflow(txn, _cell_at(node, j), TABLE_LEAF)
        cell = make_table_leaf_cell(txn, rowid, payload)
        _drop_inplace(txn, pgno, j)
        if _insert_inplace(txn, pgno, j, cell, rowid, None):
            _settle(txn, path, pgno)
            return
    else:
        cell = make_table_leaf_cell(txn, rowid, payload)
        if _insert_inplace(txn, pgno, j, cell, rowid, None):
            return
        if j == n and n and path and _rightmost(txn, path):
            _new_right_leaf(txn, path, pgno, TABLE_LEAF, cell, put_varint(keys[n - 1]))
            return
    ptype, cells, _ = _page_content(txn, pgno)
    cells.insert(j, cell)
    _rewrite(txn, path, pgno, ptype, cells, 0)


@_guard
def table_delete(txn: Any, root: int, rowid: int) -> bool:
    """Delete the entry for ``rowid``; False if there was none."""
    path, node = _descend_table(txn, root, rowid)
    keys = node.keys
    j = bisect_left(keys, rowid)
    if j >= node.n or keys[j] != rowid:
        return False
    pgno = node.pgno
    _free_cell_overflow(txn, _cell_at(node, j), TABLE_LEAF)
    _drop_inplace(txn, pgno, j)
    _settle(txn, path, pgno)
    return True


# -- index writes --------------------------------------------------------------

@_guard
def index_insert(txn: Any, root: int, key: Sequence[Any], keyinfo: KeyInfo | None = None) -> bool:
    """Insert ``key`` (a tuple, encoded as a record) into the index.

    An equal key (every column equal under ``keyinfo``) already present is
    replaced by the new bytes (they differ only where a collation ignores a
    difference); identical bytes are a no-op. Returns True if a new entry was
    added, False if an existing one was kept or replaced.
    """
    ki = keyinfo if keyinfo is not None else _BINARY
    payload = encode_record(key)
    sk = ki.sort_key(key)
    path, node, j, found = _descend_index(txn, root, sk, ki)
    if found:
        buf, s, e = _payload_span(node, j, txn)
        if bytes(buf[s:e]) != payload:
            _replace_index_cell(txn, path, node.pgno, j, make_index_cell(txn, payload))
        return False
    pgno = node.pgno
    n = node.n
    cell = make_index_cell(txn, payload)
    if _insert_inplace(txn, pgno, j, cell, sk, ki._sig):
        return True
    if j == n and n >= 2 and path and _rightmost(txn, path):
        # appending past the end of a full rightmost leaf: its last entry goes up as
        # the divider and the new key starts a new leaf (cf. SQLite's balance_quick)
        div = _cell_at(node, n - 1)
        _drop_inplace(txn, pgno, n - 1)
        _new_right_leaf(txn, path, pgno, INDEX_LEAF, cell, div)
        return True
    ptype, cells, _ = _page_content(txn, pgno)
    cells.insert(j, cell)
    _rewrite(txn, path, pgno, ptype, cells, 0)
    return True


def _replace_index_cell(txn: Any, path: list, pgno: int, j: int, cell: bytes) -> None:
    """Put ``cell`` (leaf format) in place of index cell j of ``pgno``."""
    ptype, cells, right = _page_content(txn, pgno)
    old = cells[j]
    _free_cell_overflow(txn, old, ptype)
    cells[j] = old[:4] + cell if ptype == INDEX_INTERIOR else cell
    _rewrite(txn, path, pgno, ptype, cells, right)


@_guard
def index_delete(txn: Any, root: int, key: Sequence[Any], keyinfo: KeyInfo | None = None) -> bool:
    """Delete the entry equal to ``key`` (all columns); False if there was none."""
    ki = keyinfo if keyinfo is not None else _BINARY
    sk = ki.sort_key(key)
    path, node, j, found = _descend_index(txn, root, sk, ki)
    if not found:
        return False
    pgno = node.pgno
    if node.leaf:
        _free_cell_overflow(txn, _cell_at(node, j), INDEX_LEAF)
        _drop_inplace(txn, pgno, j)
        _settle(txn, path, pgno)
        return True
    # An interior entry: its predecessor (the last entry of its left subtree)
    # takes its place. First remove the predecessor from its leaf (balancing
    # as usual), then find the key again, wherever balancing moved it, and
    # overwrite it with the predecessor's bytes.
    lpath = path + [(pgno, j)]
    leaf = _load(txn, node.child[j], False)
    while not leaf.leaf:
        lpath.append((leaf.pgno, leaf.n))
        if len(lpath) > MAX_DEPTH:
            raise _corrupt("tree deeper than 20 levels")
        leaf = _load(txn, leaf.child[leaf.n], False)
    if leaf.n == 0:
        raise _corrupt(f"page {leaf.pgno}: empty non-root leaf")
    pred = _cell_at(leaf, leaf.n - 1)
    lpg = leaf.pgno
    _drop_inplace(txn, lpg, leaf.n - 1)
    _settle(txn, lpath, lpg)
    path, node, j, found = _descend_index(txn, root, sk, ki)
    if not found:
        raise _corrupt("index entry vanished while balancing")
    _replace_index_cell(txn, path, node.pgno, j, pred)
    return True
