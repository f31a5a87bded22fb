"""Our own ``PRAGMA integrity_check``: a second, independent reading of the file format.

Single job: given a ``ReadTxn`` (storage/api.py), walk every B-tree named in
``sqlite_schema``, the freelist, the pointer map and the lock-byte page, and
report every broken rule as a line of text (``[]`` means the file is sound).
It deliberately shares no parsing code with ``page.py``/``btree.py``/
``record.py``: two readings of the format written separately catch each
other's bugs. The rules checked are those of SQLite's "Database File Format"
document (https://www.sqlite.org/fileformat2.html, summarised with
offset/size tables in docs/file-format.md) and the checks SQLite's own
``PRAGMA integrity_check`` performs; messages about page ownership use
SQLite's wording ("Page N is never used", "2nd reference to page N",
"invalid page number N").

Public surface: ``check(txn, *, max_errors=100, keyinfo=None) -> list[str]``.
It never raises on a damaged file: a ``storage.errors.Error`` from the pager
(e.g. an unreadable page) becomes a message too.

What is checked, per tree page: the page type byte (and that table trees hold
only table pages, index trees only index pages), the header, that the cell
pointer array and every cell lie inside the usable area and the cell content
area, that cells and freeblocks never overlap, that freeblocks are ascending
and in bounds, that the fragmented-byte count equals the bytes no cell or
freeblock covers, key order inside each page and against the parent's
dividers (rowids for tables; record comparison for indexes, BINARY/NOCASE/
RTRIM collations and DESC columns taken from the schema SQL or from a
``keyinfo`` map), that all leaves are at one depth, overflow chain lengths,
record headers of table rows. Globally: every page 2..db_size used exactly
once, freelist trunk/leaf counts vs header offset 36, pointer-map entries in
auto-vacuum files, index entry counts vs their table's row count, and — for
indexes on plain columns of rowid tables — that every row has its entry
("row N missing from index I", N counting rows in rowid order, as SQLite
does). Schema formats below 4 ignore DESC, as SQLite does.

Not checked (known gaps): schema SQL is only sanity-checked (starts with
CREATE, brackets and quotes closed), not parsed; expression, partial and
automatic (UNIQUE/PRIMARY KEY) indexes and WITHOUT ROWID tables are checked
for structure, order and counts but not row by row; NOT NULL/CHECK
constraints and column types are the SQL layer's business.
"""
from __future__ import annotations

import re
import struct
from typing import Any, Callable, Mapping

from storage.errors import Error

__all__ = ["check"]

# -- the parts of the format this module reads (see docs/file-format.md) ------
#
# Database header (page 1, offset 0):
# | offset | size | meaning                                               |
# |     16 |    2 | page size (1 = 65536)                                 |
# |     20 |    1 | reserved bytes per page (usable size U = size - this) |
# |     32 |    4 | first freelist trunk page                             |
# |     36 |    4 | total freelist pages                                  |
# |     52 |    4 | auto-vacuum: largest root page (0 = no pointer map)   |
# |     64 |    4 | incremental-vacuum flag                               |
#
# B-tree page header (offset 100 on page 1, else 0):
# | offset | size | meaning                                               |
# |      0 |    1 | type: 2 index interior, 5 table interior,             |
# |        |      |       10 index leaf, 13 table leaf                    |
# |      1 |    2 | first freeblock offset (0 = none)                     |
# |      3 |    2 | number of cells                                       |
# |      5 |    2 | cell content area start (0 = 65536)                   |
# |      7 |    1 | fragmented free bytes                                 |
# |      8 |    4 | right-most child (interior pages only)                |
# then the cell pointer array: 2 bytes per cell, offsets from page start.
#
# Freeblock: | 0 | 2 | next freeblock (0 = last) | 2 | 2 | size incl. header |
#
# Cells:
#   table leaf:     varint P, varint rowid, local payload, [4-byte overflow]
#   table interior: 4-byte left child, varint rowid
#   index leaf:     varint P, local payload, [4-byte overflow]
#   index interior: 4-byte left child, varint P, local payload, [4-byte ovfl]
#
# Overflow page:  | 0 | 4 | next overflow page (0 = last) | 4 | U-4 | payload |
# Freelist trunk: | 0 | 4 | next trunk | 4 | 4 | leaf count L | 8 | 4*L | leaves |
# Pointer map entry (5 bytes): | 0 | 1 | type 1..5 | 1 | 4 | parent page |

_unpack_from = struct.unpack_from
_U16 = struct.Struct(">H").unpack_from
_U32 = struct.Struct(">I").unpack_from

_PENDING_BYTE = 0x40000000
_MAX_DEPTH = 40  # SQLite's cursors stop at 20; anything deeper is damage

# pointer-map entry types
_PTRMAP_ROOTPAGE = 1
_PTRMAP_FREEPAGE = 2
_PTRMAP_OVERFLOW1 = 3
_PTRMAP_OVERFLOW2 = 4
_PTRMAP_BTREE = 5

# page ownership tags (for messages only)
_TABLE_TYPES = (5, 13)
_INDEX_TYPES = (2, 10)

# body sizes of serial types 0..11 (10/11 are invalid; -1 marks them)
_FIXED_SIZES = (0, 1, 2, 3, 4, 6, 8, 8, 0, 0, -1, -1)


_BITMAP_MAX = 1 << 26


class _SparseUsed(set):
    """``used[pgno]`` / ``used[pgno] = 1`` over a set, for absurd database sizes."""

    def __getitem__(self, pgno: int) -> bool:
        return pgno in self

    def __setitem__(self, pgno: int, _value: int) -> None:
        self.add(pgno)


class _Stop(Exception):
    """Raised internally once ``max_errors`` messages have been collected."""


class _BadCell(Exception):
    """A cell's varints or payload run past the usable area."""


# -- varints and records (our own reading, independent of record.py) ----------

def _varint(buf: bytes, off: int, limit: int) -> tuple[int, int]:
    """Decode the varint at ``off``; it must end at or before ``limit``."""
    if off < limit and buf[off] < 0x80:  # the common one-byte case
        return buf[off], off + 1
    v = 0
    for i in range(8):
        if off >= limit:
            raise _BadCell
        b = buf[off]
        off += 1
        v = (v << 7) | (b & 0x7F)
        if b < 0x80:
            return v, off
    if off >= limit:
        raise _BadCell
    v = (v << 8) | buf[off]
    if v >= 1 << 63:
        v -= 1 << 64
    return v, off + 1


def _record_ok(payload: bytes) -> bool:
    """True if the record header is well formed and sizes add up to the payload."""
    n = len(payload)
    try:
        hs, off = _varint(payload, 0, n)
        if hs < off or hs > n:
            return False
        body = 0
        while off < hs:
            st, off = _varint(payload, off, hs)
            if st < 12:
                sz = _FIXED_SIZES[st] if st >= 0 else -1
                if sz < 0:
                    return False
                body += sz
            else:
                body += (st - 12) >> 1
        return off == hs and hs + body == n
    except _BadCell:
        return False


_NULL = (0, None)
_ZERO = (1, 0)
_ONE = (1, 1)
_unpack_d = struct.Struct(">d").unpack_from
_from_bytes = int.from_bytes


def _decode(payload: bytes) -> list | None:
    """Decode a record into ``[(class, value), ...]`` or None if malformed.

    class: 0 NULL, 1 number (int/float), 2 text (raw UTF-8 bytes, so BINARY
    comparison is bytewise), 3 blob.
    """
    n = len(payload)
    if not n:
        return None
    hs = payload[0]
    off = 1
    if hs >= 0x80:
        try:
            hs, off = _varint(payload, 0, n)
        except _BadCell:
            return None
    if hs < off or hs > n:
        return None
    out: list = []
    append = out.append
    pos = hs
    while off < hs:
        st = payload[off]
        if st < 0x80:
            off += 1
        else:
            try:
                st, off = _varint(payload, off, hs)
            except _BadCell:
                return None
        if st >= 12:
            end = pos + ((st - 12) >> 1)
            if end > n:
                return None
            append((2 if st & 1 else 3, payload[pos:end]))
            pos = end
        elif st == 0:
            append(_NULL)
        elif 0 < st < 7:
            end = pos + _FIXED_SIZES[st]
            if end > n:
                return None
            append((1, _from_bytes(payload[pos:end], "big", signed=True)))
            pos = end
        elif st == 7:
            if pos + 8 > n:
                return None
            append((1, _unpack_d(payload, pos)[0]))
            pos += 8
        elif st == 8:
            append(_ZERO)
        elif st == 9:
            append(_ONE)
        else:  # 10, 11 (reserved) or a negative varint
            return None
    if off != hs or pos != n:
        return None
    return out


# -- collations and record comparison -----------------------------------------

def _nocase(a: bytes, b: bytes) -> int:
    a = a.lower()
    b = b.lower()
    return (a > b) - (a < b)


def _rtrim(a: bytes, b: bytes) -> int:
    a = a.rstrip(b" ")
    b = b.rstrip(b" ")
    return (a > b) - (a < b)


_COLLATIONS: dict[str, Callable[[bytes, bytes], int] | None] = {
    "BINARY": None, "NOCASE": _nocase, "RTRIM": _rtrim,
}


def _wrap_str_collation(fn: Callable[[str, str], int]) -> Callable[[bytes, bytes], int]:
    def cmp(a: bytes, b: bytes) -> int:
        r = fn(a.decode("utf-8", "surrogateescape"), b.decode("utf-8", "surrogateescape"))
        return (r > 0) - (r < 0)
    return cmp


class _Order:
    """How to compare two index records: per-column collation and DESC flag."""

    __slots__ = ("colls", "desc", "fast")

    def __init__(self, colls: tuple, desc: tuple) -> None:
        self.colls = colls
        self.desc = desc
        # BINARY, all ASC: Python's own ordering of [(class, value), ...] lists is
        # exactly SQLite's record order (class first; ints/floats exact; bytes)
        self.fast = not any(c is not None for c in colls) and not any(desc)

    def cmp(self, a: list, b: list) -> int:
        if self.fast:
            return (a > b) - (a < b)
        colls = self.colls
        desc = self.desc
        nc = len(colls)
        nd = len(desc)
        for i in range(min(len(a), len(b))):
            ca, va = a[i]
            cb, vb = b[i]
            if ca != cb:
                r = -1 if ca < cb else 1
            elif ca == 0:
                continue
            elif ca == 2 and i < nc and colls[i] is not None:
                r = colls[i](va, vb)
            else:
                r = (va > vb) - (va < vb)
            if r:
                return -r if i < nd and desc[i] else r
        return (len(a) > len(b)) - (len(a) < len(b))


_BINARY_ORDER = _Order((), ())


# -- a tiny reader of CREATE statements (only what ordering needs) ------------

_TOKEN = re.compile(
    r"""\s+|--[^\n]*|/\*.*?(?:\*/|$)
      |(?P<q>"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\])
      |(?P<s>'(?:[^']|'')*')
      |(?P<w>[A-Za-z_\x80-\U0010ffff][A-Za-z_0-9$\x80-\U0010ffff]*)
      |(?P<o>.)""",
    re.S | re.X,
)


def _tokens(sql: str) -> list[tuple[str, str]]:
    """(kind, text) tokens: 'id' (bare word), 'qid' (quoted identifier), 'str', 'op'."""
    out = []
    for m in _TOKEN.finditer(sql):
        if m.group("q"):
            t = m.group("q")
            out.append(("qid", t[1:-1].replace(t[0] * 2, t[0]) if t[0] != "[" else t[1:-1]))
        elif m.group("s"):
            out.append(("str", m.group("s")))
        elif m.group("w"):
            out.append(("id", m.group("w")))
        elif m.group("o"):
            out.append(("op", m.group("o")))
    return out


def _paren_items(toks: list, start: int) -> list[list] | None:
    """Split the parenthesised list opening at ``toks[start]`` at top-level commas."""
    if start >= len(toks) or toks[start] != ("op", "("):
        return None
    items: list[list] = [[]]
    depth = 0
    for tok in toks[start + 1:]:
        if tok[0] == "op" and tok[1] == "(":
            depth += 1
        elif tok[0] == "op" and tok[1] == ")":
            if depth == 0:
                return items
            depth -= 1
        elif tok[0] == "op" and tok[1] == "," and depth == 0:
            items.append([])
            continue
        items[-1].append(tok)
    return None


def _first_paren(toks: list) -> int:
    for i, tok in enumerate(toks):
        if tok == ("op", "("):
            return i
    return -1


_CONSTRAINT_WORDS = {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"}


def _column_collations(table_sql: str | None) -> dict[str, str]:
    """Column name (upper) -> declared collation name (upper) of a CREATE TABLE."""
    out: dict[str, str] = {}
    if not table_sql:
        return out
    toks = _tokens(table_sql)
    items = _paren_items(toks, _first_paren(toks))
    for item in items or ():
        if not item or item[0][0] not in ("id", "qid"):
            continue
        if item[0][0] == "id" and item[0][1].upper() in _CONSTRAINT_WORDS:
            continue  # a table constraint, not a column definition
        coll = "BINARY"
        for j, tok in enumerate(item):
            if tok[0] == "id" and tok[1].upper() == "COLLATE" and j + 1 < len(item):
                coll = item[j + 1][1].upper()
        out[item[0][1].upper()] = coll
    return out


def _index_order(index_sql: str | None, table_sql: str | None) -> _Order | None:
    """Ordering of an index from its SQL; None if we cannot tell (skip order checks)."""
    if index_sql is None:
        # an automatic index (UNIQUE / PRIMARY KEY): BINARY ASC unless the table
        # declares any collation or DESC, in which case we do not guess
        up = (table_sql or "").upper()
        if "COLLATE" in up or "DESC" in up:
            return None
        return _BINARY_ORDER
    toks = _tokens(index_sql)
    on = -1
    for i, tok in enumerate(toks):
        if tok[0] == "id" and tok[1].upper() == "ON":
            on = i
            break
    if on < 0:
        return None
    j = on + 1
    while j < len(toks) and toks[j] != ("op", "("):
        j += 1
    items = _paren_items(toks, j)
    if not items:
        return None
    colcoll = _column_collations(table_sql)
    colls: list = []
    desc: list = []
    for item in items:
        if not item:
            return None
        d = item[-1][0] == "id" and item[-1][1].upper() == "DESC"
        body = item[:-1] if item[-1][0] == "id" and item[-1][1].upper() in ("ASC", "DESC") else item
        coll = None
        for k, tok in enumerate(body):
            if tok[0] == "id" and tok[1].upper() == "COLLATE" and k + 1 < len(body):
                coll = body[k + 1][1].upper()
        if coll is None:
            if len(body) == 1 and body[0][0] in ("id", "qid"):
                coll = colcoll.get(body[0][1].upper(), "BINARY")
            else:
                coll = "BINARY"
        if coll not in _COLLATIONS:
            return None
        colls.append(_COLLATIONS[coll])
        desc.append(d)
    return _Order(tuple(colls), tuple(desc))


def _without_rowid_order(table_sql: str | None) -> _Order | None:
    up = (table_sql or "").upper()
    if "COLLATE" in up or "DESC" in up:
        return None
    return _BINARY_ORDER


def _as_text(v: tuple) -> str | None:
    """A schema column as text, the way SQLite would read it (blobs/numbers converted)."""
    cls, val = v
    if cls == 0:
        return None
    if cls in (2, 3):
        return val.decode("utf-8", "replace")
    return str(val)


def _sql_ok(sql: str) -> bool:
    """A CREATE statement that at least starts right and closes its brackets/quotes."""
    toks = _tokens(sql)
    if not toks or toks[0][0] != "id" or toks[0][1].upper() != "CREATE":
        return False
    depth = 0
    for kind, t in toks:
        if kind == "op":
            if t in "'\"`[":
                return False
            if t == "(":
                depth += 1
            elif t == ")":
                depth -= 1
                if depth < 0:
                    return False
    return depth == 0


#: position meaning "the rowid" in an index plan
_ROWID = -1
_COLUMN_STOP = {"CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT",
                "COLLATE", "REFERENCES", "GENERATED", "AS"}


def _table_columns(sql: str | None) -> tuple[list[str], int | None, set[int]] | None:
    """(column names upper, rowid-alias position, positions with a DEFAULT) of a rowid
    table, or None when we cannot tell for sure (then its indexes are only counted)."""
    if not sql or _WITHOUT_ROWID.search(sql):
        return None
    toks = _tokens(sql)
    items = _paren_items(toks, _first_paren(toks))
    if not items:
        return None
    cols: list[str] = []
    defaults: set[int] = set()
    pk: list[tuple[int, bool]] = []  # (position, declared as a column constraint with DESC)
    types: list[str] = []
    table_pk: list[str] | None = None
    for item in items:
        if not item or item[0][0] not in ("id", "qid"):
            return None
        words = [t[1].upper() for t in item[1:] if t[0] == "id"]
        if item[0][0] == "id" and item[0][1].upper() in _CONSTRAINT_WORDS:
            if item[0][1].upper() == "PRIMARY" or "PRIMARY" in words:
                j = next((k for k, t in enumerate(item) if t == ("op", "(")), -1)
                inner = _paren_items(item, j) if j >= 0 else None
                if not inner:
                    return None
                table_pk = [it[0][1].upper() for it in inner if it]
            continue
        if "GENERATED" in words or "AS" in words:
            return None  # generated columns are not stored like the others
        pos = len(cols)
        cols.append(item[0][1].upper())
        tname = []
        for t in item[1:]:
            if t[0] == "id" and t[1].upper() in _COLUMN_STOP:
                break
            tname.append(t[1].upper())
        types.append(" ".join(tname))
        if "DEFAULT" in words:
            defaults.add(pos)
        if "PRIMARY" in words:
            pk.append((pos, "DESC" in words[words.index("PRIMARY"):]))
    if table_pk is not None:
        if pk:
            return None
        if len(table_pk) == 1 and table_pk[0] in cols:
            pk = [(cols.index(table_pk[0]), False)]
        else:
            pk = [(-1, False), (-1, False)]
    alias = None
    if len(pk) == 1 and pk[0][0] >= 0 and types[pk[0][0]] == "INTEGER":
        if pk[0][1]:
            return None  # INTEGER PRIMARY KEY DESC: not an alias (a SQLite quirk); skip
        alias = pk[0][0]
    return cols, alias, defaults


def _index_positions(sql: str, tdef: tuple[list[str], int | None, set[int]]) -> list[int] | None:
    """Table column positions of a CREATE INDEX's columns (None: expression or unknown)."""
    cols, alias, _defaults = tdef
    toks = _tokens(sql)
    on = next((i for i, t in enumerate(toks) if t[0] == "id" and t[1].upper() == "ON"), -1)
    if on < 0:
        return None
    j = on + 1
    while j < len(toks) and toks[j] != ("op", "("):
        j += 1
    items = _paren_items(toks, j)
    if not items:
        return None
    out = []
    for item in items:
        body = list(item)
        if body and body[-1][0] == "id" and body[-1][1].upper() in ("ASC", "DESC"):
            body.pop()
        if len(body) == 3 and body[1][0] == "id" and body[1][1].upper() == "COLLATE":
            body = body[:1]
        if len(body) != 1 or body[0][0] not in ("id", "qid"):
            return None
        name = body[0][1].upper()
        if name not in cols:
            return None
        p = cols.index(name)
        out.append(_ROWID if p == alias else p)
    return out


_WITHOUT_ROWID = re.compile(r"\)\s*WITHOUT\s+ROWID", re.I)
_PARTIAL = re.compile(r"\bWHERE\b", re.I)


# -- the checker ---------------------------------------------------------------

class _Tree:
    """Per-tree walk state."""

    __slots__ = ("root", "is_index", "order", "name", "leaf_depth", "entries", "rows")

    def __init__(self, root: int, is_index: bool, order: _Order | None, name: str,
                 collect: bool) -> None:
        self.root = root
        self.is_index = is_index
        self.order = order
        self.name = name
        self.leaf_depth = -1
        self.entries = 0
        self.rows: list | None = [] if collect else None


class _Checker:
    def __init__(self, txn: Any, max_errors: int, keyinfo: Mapping[int, Any] | None) -> None:
        self.txn = txn
        self.max_errors = max(1, max_errors)
        self.keyinfo = keyinfo or {}
        self.errors: list[str] = []
        self.page_size = int(txn.page_size)
        self.usable = int(txn.usable_size)
        self.db_size = int(txn.db_size)
        # one byte per page; a (damaged) header may claim billions of pages, so past
        # _BITMAP_MAX pages a set stands in (a scan that long ends at max_errors anyway)
        self.used: Any = bytearray(self.db_size + 1) if self.db_size <= _BITMAP_MAX \
            else _SparseUsed()
        self.autovacuum = False
        self.expect_ptr: dict[int, tuple[int, int]] = {}

    # -- helpers ---------------------------------------------------------------

    def err(self, msg: str) -> None:
        self.errors.append(msg)
        if len(self.errors) >= self.max_errors:
            raise _Stop

    def data(self, pgno: int) -> bytes | None:
        """The page's bytes, or None (and a message) if the pager refuses it."""
        try:
            d = self.txn.page(pgno).data
        except Error as e:
            self.err(f"Page {pgno}: cannot read page ({e})")
            return None
        if len(d) < self.usable:
            self.err(f"Page {pgno}: short page ({len(d)} bytes)")
            return None
        return d

    def ref(self, pgno: int, ptype: int, parent: int) -> bool:
        """Claim a page; False (with SQLite's message) if invalid or already claimed."""
        if pgno < 1 or pgno > self.db_size:
            self.err(f"invalid page number {pgno}")
            return False
        if self.used[pgno]:
            self.err(f"2nd reference to page {pgno}")
            return False
        if self.autovacuum and pgno > 1 and self._ptrmap_page_for(pgno) == pgno:
            self.err(f"Pointer map page {pgno} is referenced")
            return False
        self.used[pgno] = 1
        if self.autovacuum:
            self.expect_ptr[pgno] = (ptype, parent)
        return True

    # -- top level ---------------------------------------------------------------

    def run(self) -> None:
        U = self.usable
        if self.db_size < 1:
            self.err("database has no pages")
            return
        if U < 480 or U > self.page_size:
            self.err(f"usable size {U} is invalid for page size {self.page_size}")
            return
        p1 = self.data(1)
        if p1 is None:
            return
        if p1[:16] != b"SQLite format 3\x00":
            self.err("Page 1: bad header string")
        hdr_size = _U16(p1, 16)[0]
        hdr_size = 65536 if hdr_size == 1 else hdr_size
        if hdr_size != self.page_size:
            self.err(f"Page 1: header page size {hdr_size} differs from {self.page_size}")
        self.autovacuum = _U32(p1, 52)[0] != 0
        # The lock-byte page is never part of anything.
        lock_pg = _PENDING_BYTE // self.page_size + 1
        if lock_pg <= self.db_size:
            self.used[lock_pg] = 1

        self._check_freelist(p1)

        # sqlite_schema itself, collecting its rows.
        schema = _Tree(1, False, None, "sqlite_schema", collect=True)
        self.used[1] = 1
        self._walk_tree(schema)
        roots: list[tuple[str, str, str, int, str | None]] = []
        for _rowid, row in schema.rows or ():
            if len(row) < 5:
                self.err(f"sqlite_schema: row with {len(row)} columns")
                continue
            typ, name, tbl, sql = (_as_text(v) for v in (row[0], row[1], row[2], row[4]))
            root = row[3][1]
            if typ not in ("table", "index") or root in (None, 0):
                continue
            if isinstance(root, float) and root.is_integer():
                root = int(root)
            if not isinstance(root, int) or name is None or tbl is None:
                self.err(f"sqlite_schema: malformed row for {typ} {name!r}")
                continue
            if sql is not None and not _sql_ok(sql):
                self.err(f"malformed database schema ({name})")
            roots.append((typ, name, tbl, root, sql))

        tables = {tbl.upper(): (name, sql) for typ, name, tbl, _r, sql in roots if typ == "table"}
        # which indexes can be verified row by row against their table
        plans: dict[str, tuple[str, list[int], set[int]]] = {}  # index -> (TABLE, positions, defaults)
        for typ, name, tbl, _r, sql in roots:
            if typ != "index" or sql is None or _PARTIAL.search(sql):
                continue
            tdef = _table_columns(tables.get(tbl.upper(), (None, None))[1])
            if tdef is None:
                continue
            pos = _index_positions(sql, tdef)
            if pos is not None:
                plans[name] = (tbl.upper(), pos, tdef[2])
        want_rows = {t for t, _p, _d in plans.values()}

        desc_ok = _U32(p1, 44)[0] >= 4
        counts: dict[str, int] = {}
        table_rows: dict[str, list] = {}
        index_entries: dict[str, set] = {}
        index_counts: list[tuple[str, str, int, bool]] = []
        max_root = 1
        for typ, name, tbl, root, sql in roots:
            max_root = max(max_root, root)
            if typ == "table":
                is_index = bool(sql) and bool(_WITHOUT_ROWID.search(sql))
                order = _without_rowid_order(sql) if is_index else None
                collect = not is_index and tbl.upper() in want_rows
            else:
                is_index = True
                order = _index_order(sql, tables.get(tbl.upper(), (None, None))[1])
                collect = name in plans
            if order is not None and not desc_ok and any(order.desc):
                # schema formats 1..3 predate DESC indexes: SQLite ignores the keyword
                order = _Order(order.colls, ())
            ki = self.keyinfo.get(root)
            if ki is not None:
                colls = tuple(None if c is None else _wrap_str_collation(c)
                              for c in getattr(ki, "collations", ()) or ())
                order = _Order(colls, tuple(bool(d) for d in getattr(ki, "desc", ()) or ()))
            if not self.ref(root, _PTRMAP_ROOTPAGE, 0):
                continue
            tree = _Tree(root, is_index, order, name, collect=collect)
            self._walk_tree(tree)
            if typ == "table":
                counts[name.upper()] = tree.entries
                if collect:
                    table_rows[tbl.upper()] = tree.rows or []
            else:
                partial = bool(sql) and bool(_PARTIAL.search(sql))
                index_counts.append((name, tbl.upper(), tree.entries, partial))
                if collect:
                    index_entries[name] = set(tree.rows or ())

        for name, (tbl, positions, defaults) in plans.items():
            if tbl in table_rows and name in index_entries:
                self._verify_index(name, table_rows[tbl], index_entries[name], positions,
                                   defaults)
        for name, tbl, n, partial in index_counts:
            if not partial and tbl in counts and counts[tbl] != n:
                self.err(f"wrong # of entries in index {name}")

        if self.autovacuum:
            mx = _U32(p1, 52)[0]
            if max_root != mx:
                self.err(f"max rootpage ({max_root}) disagrees with header ({mx})")
            self._check_ptrmap()
        elif _U32(p1, 64)[0] != 0:
            self.err("incremental_vacuum enabled with a max rootpage of zero")

        used = self.used
        av = self.autovacuum
        for pgno in range(2, self.db_size + 1):
            if not used[pgno] and not (av and self._ptrmap_page_for(pgno) == pgno):
                self.err(f"Page {pgno} is never used")

    def _verify_index(self, name: str, rows: list, entries: set, positions: list[int],
                      defaults: set[int]) -> None:
        """Every table row has its entry (indexed values..., rowid) in the index."""
        for n, (rowid, rec) in enumerate(rows, 1):
            key = []
            nrec = len(rec)
            for p in positions:
                if p == _ROWID:
                    key.append((1, rowid))
                elif p < nrec:
                    key.append(rec[p])
                elif p in defaults:
                    break  # an ALTER TABLE ADD COLUMN default we do not evaluate
                else:
                    key.append((0, None))
            else:
                key.append((1, rowid))
                if tuple(key) not in entries:
                    self.err(f"row {n} missing from index {name}")

    # -- freelist ------------------------------------------------------------------

    def _check_freelist(self, p1: bytes) -> None:
        U = self.usable
        trunk = _U32(p1, 32)[0]
        expected = _U32(p1, 36)[0]
        seen = 0
        errs_before = len(self.errors)
        max_leaves = U // 4 - 2
        guard = 0
        while trunk:
            guard += 1
            if guard > self.db_size:
                break
            if not self.ref(trunk, _PTRMAP_FREEPAGE, 0):
                break
            seen += 1
            d = self.data(trunk)
            if d is None:
                break
            n = _U32(d, 4)[0]
            if n > max_leaves:
                self.err(f"freelist leaf count too big on page {trunk}")
                break
            for i in range(n):
                leaf = _U32(d, 8 + 4 * i)[0]
                if self.ref(leaf, _PTRMAP_FREEPAGE, 0):
                    seen += 1
            trunk = _U32(d, 0)[0]
        if seen != expected and len(self.errors) == errs_before:
            self.err(f"Main freelist: size is {seen} but should be {expected}")

    # -- pointer map (auto-vacuum files) ---------------------------------------------

    def _ptrmap_page_for(self, pgno: int) -> int:
        per = self.usable // 5 + 1
        ret = ((pgno - 2) // per) * per + 2
        if ret == _PENDING_BYTE // self.page_size + 1:
            ret += 1
        return ret

    def _check_ptrmap(self) -> None:
        for pgno, (ptype, parent) in sorted(self.expect_ptr.items()):
            if pgno < 2:
                continue
            mp = self._ptrmap_page_for(pgno)
            if mp > self.db_size or mp == pgno:
                self.err(f"Failed to read ptrmap key={pgno}")
                continue
            d = self.data(mp)
            if d is None:
                continue
            off = 5 * (pgno - mp - 1)
            if off < 0 or off + 5 > self.usable:
                self.err(f"Failed to read ptrmap key={pgno}")
                continue
            got_t = d[off]
            got_p = _U32(d, off + 1)[0]
            if (got_t, got_p) != (ptype, parent):
                self.err(f"Bad ptr map entry key={pgno} expected=({ptype},{parent}) "
                         f"got=({got_t},{got_p})")

    # -- overflow chains ------------------------------------------------------------

    def _overflow(self, first: int, nbytes: int, owner: int, where: str) -> bytes | None:
        """Walk an overflow chain holding ``nbytes`` more payload bytes; return them
        (None if the chain is broken: the error is already reported)."""
        U = self.usable
        expected = (nbytes + U - 5) // (U - 4)
        pieces = []
        remaining = nbytes
        pg = first
        parent = owner
        ptype = _PTRMAP_OVERFLOW1
        n = 0
        errs_before = len(self.errors)
        while pg and n <= self.db_size:
            if not self.ref(pg, ptype, parent):
                break
            n += 1
            d = self.data(pg)
            if d is None:
                break
            if remaining > 0:
                take = remaining if remaining < U - 4 else U - 4
                pieces.append(d[4:4 + take])
                remaining -= take
            parent = pg
            ptype = _PTRMAP_OVERFLOW2
            pg = _U32(d, 0)[0]
        if n != expected:
            if len(self.errors) == errs_before:
                self.err(f"{where}: overflow list length is {n} but should be {expected}")
            return None
        if remaining or len(self.errors) != errs_before:
            return None
        return b"".join(pieces)

    # -- b-tree pages ---------------------------------------------------------------

    def _walk_tree(self, tree: _Tree) -> None:
        if self.autovacuum and tree.root != 1:
            self.expect_ptr[tree.root] = (_PTRMAP_ROOTPAGE, 0)
        self._page(tree, tree.root, 0, None, None)

    def _page(self, tree: _Tree, pgno: int, depth: int, lo: Any, hi: Any) -> None:
        """Check one tree page and recurse into its children.

        Table trees: every rowid in this subtree must be in (lo, hi].
        Index trees: every key must be strictly between lo and hi (records).
        None means unbounded.
        """
        if depth > _MAX_DEPTH:
            self.err(f"Page {pgno}: b-tree deeper than {_MAX_DEPTH} levels")
            return
        data = self.data(pgno)
        if data is None:
            return
        U = self.usable
        hdr = 100 if pgno == 1 else 0
        ptype = data[hdr]
        where = f"On tree page {pgno}"
        if ptype not in (2, 5, 10, 13):
            self.err(f"{where}: invalid page type {ptype}")
            return
        if tree.is_index != (ptype in _INDEX_TYPES):
            kind = "index" if tree.is_index else "table"
            self.err(f"{where}: page type {ptype} inside a {kind} b-tree ({tree.name})")
            return
        leaf = ptype >= 10
        hsize = 8 if leaf else 12
        ncell = _U16(data, hdr + 3)[0]
        content = _U16(data, hdr + 5)[0] or 65536
        frag = data[hdr + 7]
        ptr_end = hdr + hsize + 2 * ncell
        if ptr_end > U:
            self.err(f"{where}: {ncell} cells do not fit on the page")
            return
        if content < ptr_end or content > U:
            self.err(f"{where}: cell content area starts at {content}, "
                     f"outside {ptr_end}..{U}")
            return

        if leaf:
            if tree.leaf_depth < 0:
                tree.leaf_depth = depth
            elif tree.leaf_depth != depth:
                self.err(f"{where}: Child page depth differs")

        is_index = tree.is_index
        order = tree.order
        collect = tree.rows
        # spill thresholds (docs/file-format.md, "Payload spill rules")
        max_local = ((U - 12) * 64 // 255) - 23 if is_index else U - 35
        min_local = ((U - 12) * 32 // 255) - 23
        last = U - 4

        spans: list[tuple[int, int]] = []
        prev = lo  # the key every following key must exceed
        varint = _varint
        for i in range(ncell):
            pc = _U16(data, hdr + hsize + 2 * i)[0]
            cw = f"{where} cell {i}"
            if pc < content or pc > last:
                self.err(f"{cw}: Offset {pc} out of range {content}..{last}")
                continue
            try:
                off = pc
                child = 0
                if not leaf:
                    child = _U32(data, off)[0]
                    off += 4
                if not is_index and not leaf:
                    key, off = varint(data, off, U)
                    size = off - pc
                    payload = None
                else:
                    nbytes, off = varint(data, off, U)
                    if not is_index:
                        key, off = varint(data, off, U)
                    if nbytes < 0:
                        raise _BadCell
                    if nbytes <= max_local:
                        local = nbytes
                        ovfl = 0
                    else:
                        k = min_local + (nbytes - min_local) % (U - 4)
                        local = k if k <= max_local else min_local
                        ovfl = 1
                    end = off + local + (4 if ovfl else 0)
                    if end > U:
                        raise _BadCell
                    size = end - pc
                    payload = data[off:off + local]
                    if ovfl:
                        first = _U32(data, off + local)[0]
                        rest = self._overflow(first, nbytes - local, pgno, cw)
                        payload = None if rest is None else payload + rest
            except _BadCell:
                self.err(f"{cw}: Extends off end of page")
                continue
            if size < 4:
                size = 4
            if pc + size > U:
                self.err(f"{cw}: Extends off end of page")
                continue
            spans.append((pc, pc + size))

            if not is_index:
                # table tree: rowids strictly increasing, in (lo, hi]
                if (prev is not None and key <= prev) or (hi is not None and key > hi):
                    self.err(f"{cw}: Rowid {key} out of order")
                if leaf:
                    tree.entries += 1
                    if payload is not None:
                        if collect is not None:
                            rec = _decode(payload)
                            if rec is None:
                                self.err(f"{cw}: malformed record (rowid {key})")
                            else:
                                collect.append((key, rec))
                        elif not _record_ok(payload):
                            self.err(f"{cw}: malformed record (rowid {key})")
                else:
                    if self.ref(child, _PTRMAP_BTREE, pgno):
                        self._page(tree, child, depth + 1, prev, key)
                prev = key if prev is None or key > prev else prev
            else:
                rec = None
                if payload is not None:
                    rec = _decode(payload)
                    if rec is None:
                        self.err(f"{cw}: malformed index record")
                if not leaf:
                    if self.ref(child, _PTRMAP_BTREE, pgno):
                        self._page(tree, child, depth + 1, prev, rec if rec is not None else hi)
                if rec is not None and order is not None:
                    if (prev is not None and order.cmp(rec, prev) <= 0) or \
                            (hi is not None and order.cmp(rec, hi) >= 0):
                        self.err(f"{cw}: index key out of order")
                    else:
                        prev = rec
                elif rec is not None:
                    prev = rec
                if collect is not None and rec is not None:
                    collect.append(tuple(rec))
                tree.entries += 1

        if not leaf:
            right = _U32(data, hdr + 8)[0]
            if self.ref(right, _PTRMAP_BTREE, pgno):
                self._page(tree, right, depth + 1, prev, hi)

        self._free_space(data, pgno, hdr, content, frag, spans)

    def _free_space(self, data: bytes, pgno: int, hdr: int, content: int, frag: int,
                    spans: list) -> None:
        """Freeblocks in order and in bounds; no overlaps; fragment count exact."""
        U = self.usable
        where = f"On tree page {pgno}"
        fb = _U16(data, hdr + 1)[0]
        if fb:
            if fb < content:
                self.err(f"{where}: first freeblock at {fb} is before the content area ({content})")
            else:
                n = 0
                while fb:
                    n += 1
                    if fb > U - 4 or n > U // 4:
                        self.err(f"{where}: freeblock at {fb} out of range")
                        break
                    nxt, size = _unpack_from(">HH", data, fb)
                    if size < 4 or fb + size > U:
                        self.err(f"{where}: freeblock at {fb} of size {size} extends off the page")
                        break
                    spans.append((fb, fb + size))
                    if nxt and nxt < fb + size + 4:
                        self.err(f"{where}: freeblocks out of order ({fb}+{size} -> {nxt})")
                        break
                    fb = nxt
        spans.sort()
        covered = 0
        end = content
        for start, stop in spans:
            if start < end:
                self.err(f"Multiple uses for byte {start} of page {pgno}")
                return
            covered += stop - start
            end = stop
        free = (U - content) - covered
        if free != frag:
            self.err(f"Fragmentation of {free} bytes reported as {frag} on page {pgno}")


def check(txn: Any, *, max_errors: int = 100,
          keyinfo: Mapping[int, Any] | None = None) -> list[str]:
    """Check the whole database as seen by ``txn``; return error lines ([] = ok).

    ``keyinfo`` optionally maps an index root page to an object with
    ``collations`` (per column: ``(str, str) -> int`` or None for BINARY) and
    ``desc`` (per column bool), overriding what the schema SQL says; without
    it, BINARY/NOCASE/RTRIM collations and DESC are read from the schema and
    indexes with other collations are checked for structure only.
    At most ``max_errors`` lines are returned.
    """
    c = _Checker(txn, max_errors, keyinfo)
    try:
        c.run()
    except _Stop:
        pass
    except RecursionError:  # cannot happen with _MAX_DEPTH, but never leak it
        c.errors.append("b-tree too deep to check")
    return c.errors[:max_errors]
