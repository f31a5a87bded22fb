"""B-tree page layout: headers, cells, free space and overflow chains.

Single job: read and write the bytes of one B-tree page (and the overflow
pages hanging off its cells) exactly as SQLite 3 lays them out, keeping the
free-space bookkeeping (freeblock list, fragmented-byte count, cell content
offset) the way SQLite's own ``freeSpace``/``allocateSpace`` keep it, so that
``PRAGMA integrity_check`` agrees with every byte. Tree shape (which cell goes
on which page) is ``btree``'s job. Documented in SQLite's "Database File
Format" (fileformat2) section 1.6 "B-tree Pages" and 1.7 "Cell Payload
Overflow Pages".

Page header (at offset 100 on page 1, else 0):

    | offset | size | meaning                                                 |
    |--------|------|---------------------------------------------------------|
    | 0      | 1    | page type: 2 index interior, 5 table interior,          |
    |        |      | 10 index leaf, 13 table leaf                            |
    | 1      | 2    | first freeblock (0 = none)                              |
    | 3      | 2    | number of cells                                         |
    | 5      | 2    | start of the cell content area (0 means 65536)          |
    | 7      | 1    | number of fragmented free bytes (at most 60)            |
    | 8      | 4    | right-most child page (interior pages only)             |

After the header (8 bytes on leaves, 12 on interior pages) comes the cell
pointer array: one 2-byte offset per cell, in key order. Cells live in the
content area at the end of the usable part of the page. Unused space is the
gap between the pointer array and the content area, plus freeblocks, plus
fragments (free runs of 1..3 bytes, counted in header byte 7).

Freeblock (a free run of >= 4 bytes inside the content area):

    | offset | size | meaning                                                 |
    |--------|------|---------------------------------------------------------|
    | 0      | 2    | offset of the next freeblock (0 = last); ascending,     |
    |        |      | and at least 4 bytes past the end of this one           |
    | 2      | 2    | size of this freeblock, including these 4 bytes         |

Cells (P = payload size, "ovfl" = 4-byte first overflow page, present only
when the payload spills):

    | page type       | layout                                              |
    |-----------------|-----------------------------------------------------|
    | 13 table leaf   | varint P, varint rowid, local payload, [ovfl]       |
    | 5 table interior| 4-byte left child, varint rowid (the key)           |
    | 10 index leaf   | varint P, local payload, [ovfl]                     |
    | 2 index interior| 4-byte left child, varint P, local payload, [ovfl]  |

A cell occupies at least 4 bytes of the content area (SQLite's rule: a
shorter cell is padded so that it can become a freeblock when deleted).

Spill rules (U = usable size): table leaf X = U-35; index pages
X = ((U-12)*64//255)-23; both M = ((U-12)*32//255)-23. If P <= X the payload
is all local; else K = M + ((P-M) % (U-4)), local = K if K <= X else M.

Overflow page: 4-byte next overflow page (0 = last), then U-4 payload bytes.
"""
from __future__ import annotations

import struct
from itertools import accumulate
from typing import Any, Sequence

from storage import freelist
from storage.errors import CorruptError
from storage.record import get_varint, put_varint

__all__ = [
    "INDEX_INTERIOR", "TABLE_INTERIOR", "INDEX_LEAF", "TABLE_LEAF", "PAGE_TYPES",
    "header_offset", "max_local", "min_local", "local_size", "cell_size",
    "cell_footprint", "page_cells", "write_page", "init_page", "check_page",
    "free_space", "insert_cell", "drop_cell", "defragment", "make_table_leaf_cell",
    "make_index_cell", "read_payload", "free_overflow", "overflow_pages",
    "cell_overflow",
]

INDEX_INTERIOR = 2
TABLE_INTERIOR = 5
INDEX_LEAF = 10
TABLE_LEAF = 13
PAGE_TYPES = (INDEX_INTERIOR, TABLE_INTERIOR, INDEX_LEAF, TABLE_LEAF)

#: SQLite's largest payload (SQLITE_MAX_LENGTH); anything bigger is damage
MAX_PAYLOAD = 0x7FFFFFFF

_pack_H = struct.Struct(">H").pack_into
_pack_I = struct.Struct(">I").pack_into
_unpack_H = struct.Struct(">H").unpack_from
_unpack_I = struct.Struct(">I").unpack_from


def _corrupt(detail: str) -> CorruptError:
    return CorruptError(detail=detail)


def header_offset(pgno: int) -> int:
    """Where the B-tree header starts: page 1 begins with the 100-byte file header."""
    return 100 if pgno == 1 else 0


def max_local(usable: int, table_leaf: bool) -> int:
    """X: the largest payload kept entirely on the page."""
    return usable - 35 if table_leaf else ((usable - 12) * 64 // 255) - 23


def min_local(usable: int) -> int:
    """M: the smallest local part of a spilled payload."""
    return ((usable - 12) * 32 // 255) - 23


def local_size(p: int, usable: int, table_leaf: bool) -> int:
    """How many of a ``p``-byte payload's bytes stay on the page."""
    x = usable - 35 if table_leaf else ((usable - 12) * 64 // 255) - 23
    if p <= x:
        return p
    m = ((usable - 12) * 32 // 255) - 23
    k = m + (p - m) % (usable - 4)
    return k if k <= x else m


def overflow_pages(p: int, local: int, usable: int) -> int:
    """Number of overflow pages a payload of ``p`` bytes with ``local`` on-page needs."""
    return (p - local + usable - 5) // (usable - 4)


# -- cells -------------------------------------------------------------------

def cell_size(data: Any, pc: int, ptype: int, usable: int) -> int:
    """True size in bytes of the cell at ``pc`` (without the 4-byte minimum)."""
    if ptype == TABLE_INTERIOR:
        p = pc + 4
        end = p + 8
        while p < end and data[p] >= 0x80:
            p += 1
        return p + 1 - pc
    if ptype == INDEX_INTERIOR:
        p, q = get_varint(data, pc + 4)
        table_leaf = False
    elif ptype == TABLE_LEAF:
        p, q = get_varint(data, pc)
        end = q + 8
        while q < end and data[q] >= 0x80:
            q += 1
        q += 1
        table_leaf = True
    else:
        p, q = get_varint(data, pc)
        table_leaf = False
    if p < 0 or p > MAX_PAYLOAD:
        raise _corrupt(f"payload size {p} out of range")
    x = usable - 35 if table_leaf else ((usable - 12) * 64 // 255) - 23
    if p <= x:
        return q - pc + p
    return q - pc + local_size(p, usable, table_leaf) + 4


def cell_footprint(n: int) -> int:
    """Bytes a cell of true size ``n`` occupies in the content area."""
    return n if n >= 4 else 4


def cell_overflow(cell: bytes, ptype: int, usable: int) -> tuple[int, int] | None:
    """``(first overflow page, payload bytes on the chain)`` of a cell, or None."""
    if ptype == TABLE_INTERIOR:
        return None
    q = 4 if ptype == INDEX_INTERIOR else 0
    p, q = get_varint(cell, q)
    x = max_local(usable, ptype == TABLE_LEAF)
    if p <= x:
        return None
    local = local_size(p, usable, ptype == TABLE_LEAF)
    return _unpack_I(cell, len(cell) - 4)[0], p - local


def _make_payload_tail(txn: Any, payload: bytes, local: int) -> bytes:
    """Write the spilled part of ``payload`` to a fresh overflow chain; return its ovfl field."""
    usable = txn.usable_size
    rest = memoryview(payload)[local:]
    per = usable - 4
    n = (len(rest) + per - 1) // per
    pages = [freelist.allocate(txn) for _ in range(n)]
    for i, pg in enumerate(pages):
        d = pg.data
        nxt = pages[i + 1].pgno if i + 1 < n else 0
        _pack_I(d, 0, nxt)
        chunk = rest[i * per:(i + 1) * per]
        d[4:4 + len(chunk)] = chunk
        pg.cells = None
    return pages[0].pgno.to_bytes(4, "big")


def make_table_leaf_cell(txn: Any, rowid: int, payload: bytes) -> bytes:
    """A table-leaf cell for ``rowid``; spills to new overflow pages if needed."""
    usable = txn.usable_size
    p = len(payload)
    head = put_varint(p) + put_varint(rowid)
    if p <= usable - 35:
        return head + payload
    local = local_size(p, usable, True)
    return head + payload[:local] + _make_payload_tail(txn, payload, local)


def make_index_cell(txn: Any, payload: bytes) -> bytes:
    """An index-leaf cell (prefix 4 child bytes for interior); spills if needed."""
    usable = txn.usable_size
    p = len(payload)
    if p <= ((usable - 12) * 64 // 255) - 23:
        return put_varint(p) + payload
    local = local_size(p, usable, False)
    return put_varint(p) + payload[:local] + _make_payload_tail(txn, payload, local)


def read_payload(txn: Any, data: Any, start: int, p: int, local: int) -> bytes:
    """The full payload: ``local`` bytes at ``data[start]``, the rest from the chain.

    Bounded by the payload size, so a looping chain, a chain that ends early or
    one that goes on after the payload is complete is a CorruptError.
    """
    if local == p:
        return bytes(data[start:start + p])
    usable = txn.usable_size
    per = usable - 4
    parts = [bytes(data[start:start + local])]
    pgno = _unpack_I(data, start + local)[0]
    need = p - local
    while need > 0:
        if pgno < 2 or pgno > txn.db_size:
            raise _corrupt(f"overflow page {pgno} out of range")
        od = txn.page(pgno).data
        take = per if need > per else need
        parts.append(bytes(od[4:4 + take]))
        need -= take
        pgno = _unpack_I(od, 0)[0]
    if pgno != 0:
        raise _corrupt("overflow chain longer than its payload")
    return b"".join(parts)


def free_overflow(txn: Any, first: int, nbytes: int) -> None:
    """Return the overflow chain starting at ``first`` (carrying ``nbytes``) to the freelist."""
    per = txn.usable_size - 4
    n = (nbytes + per - 1) // per
    pgno = first
    chain = []
    for _ in range(n):
        if pgno < 2 or pgno > txn.db_size:
            raise _corrupt(f"overflow page {pgno} out of range")
        chain.append(pgno)
        pgno = _unpack_I(txn.page(pgno).data, 0)[0]
    if pgno != 0:
        raise _corrupt("overflow chain longer than its payload")
    for pg in chain:
        freelist.free(txn, pg)


# -- whole pages ---------------------------------------------------------------

def check_page(data: Any, hdr: int, usable: int) -> int:
    """Validate a B-tree page's header and free space; return its free byte count.

    The same checks as SQLite's ``btreeComputeFreeSpace``: freeblocks ascending,
    at least 4 bytes apart, inside the content area and the page; the content
    area starts after the pointer array; the totals add up.
    """
    ptype = data[hdr]
    if ptype not in (2, 5, 10, 13):
        raise _corrupt(f"bad page type {ptype}")
    ncell = (data[hdr + 3] << 8) | data[hdr + 4]
    first = hdr + (8 if ptype & 8 else 12) + 2 * ncell
    top = (data[hdr + 5] << 8) | data[hdr + 6]
    if top == 0:
        top = 65536
    if first > usable or (top < first and not (top == 65536 and usable == 65536)):
        raise _corrupt("cell pointer array overlaps the content area")
    if top > usable:
        raise _corrupt("cell content area starts past the page")
    nfree = data[hdr + 7] + top
    pc = (data[hdr + 1] << 8) | data[hdr + 2]
    if pc:
        if pc < top:
            raise _corrupt("freeblock before the cell content area")
        while True:
            if pc > usable - 4:
                raise _corrupt("freeblock off the end of the page")
            nxt = (data[pc] << 8) | data[pc + 1]
            size = (data[pc + 2] << 8) | data[pc + 3]
            nfree += size
            if nxt <= pc + size + 3:
                break
            pc = nxt
        if nxt > 0:
            raise _corrupt("freeblocks not in ascending order")
        if pc + size > usable:
            raise _corrupt("freeblock extends past the page")
    if nfree > usable or nfree < first:
        raise _corrupt("free space accounting is wrong")
    return nfree - first


def free_space(data: Any, hdr: int, usable: int) -> int:
    """Total free bytes on a page (gap + freeblocks + fragments)."""
    return check_page(data, hdr, usable)


def page_cells(data: Any, hdr: int, usable: int) -> list[bytes]:
    """Every cell of the page as its true bytes, in key order."""
    ptype = data[hdr]
    ncell = (data[hdr + 3] << 8) | data[hdr + 4]
    base = hdr + (8 if ptype & 8 else 12)
    if base + 2 * ncell > usable:
        raise _corrupt("too many cells for the page")
    if not ncell:
        return []
    ptrs = struct.unpack_from(">%dH" % ncell, data, base)
    if min(ptrs) < base + 2 * ncell or max(ptrs) > usable - 4:
        raise _corrupt("cell pointer out of range")
    out = []
    app = out.append
    if ptype == TABLE_INTERIOR:
        for pc in ptrs:
            q = pc + 4
            if data[q] >= 0x80:
                end = q + 8
                while q < end and data[q] >= 0x80:
                    q += 1
                if q >= usable:
                    raise _corrupt("cell extends past the page")
            app(data[pc:q + 1])
    elif ptype == TABLE_LEAF:
        x = usable - 35
        for pc in ptrs:
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
            if p <= x:
                e = q + p
            else:
                if p > MAX_PAYLOAD:
                    raise _corrupt(f"payload size {p} out of range")
                e = q + local_size(p, usable, True) + 4
            if e > usable:
                raise _corrupt("cell extends past the page")
            app(data[pc:e])
    else:
        x = ((usable - 12) * 64 // 255) - 23
        k = 4 if ptype == INDEX_INTERIOR else 0
        for pc in ptrs:
            q = pc + k
            p = data[q]
            if p < 0x80:
                q += 1
            else:
                p, q = get_varint(data, q)
            if p <= x:
                e = q + p
            else:
                if p > MAX_PAYLOAD:
                    raise _corrupt(f"payload size {p} out of range")
                e = q + local_size(p, usable, False) + 4
            if e > usable:
                raise _corrupt("cell extends past the page")
            app(data[pc:e])
    return out


def init_page(data: Any, hdr: int, ptype: int, usable: int) -> None:
    """Make ``data`` an empty B-tree page of type ``ptype``."""
    data[hdr] = ptype
    data[hdr + 1:hdr + 8] = b"\0\0\0\0\0\0\0"
    _pack_H(data, hdr + 5, usable & 0xFFFF)
    if not ptype & 8:
        data[hdr + 8:hdr + 12] = b"\0\0\0\0"


def write_page(data: Any, hdr: int, ptype: int, cells: Sequence[bytes], right: int,
               usable: int) -> list[int]:
    """Rewrite the page compactly with ``cells`` (and ``right`` child if interior).

    Cell 0 goes at the end of the usable area, the others below it. Returns
    the cell offsets. The caller has checked that the cells fit.
    """
    n = len(cells)
    base = hdr + (8 if ptype & 8 else 12)
    if n and min(map(len, cells)) < 4:
        cells = [c if len(c) >= 4 else bytes(c) + bytes(4 - len(c)) for c in cells]
    top = usable
    if n:
        offs = [usable - s for s in accumulate(map(len, cells))]
        top = offs[-1]
        if top < base + 2 * n:
            raise _corrupt("cells do not fit on the page")  # a bug, never damage
        data[top:usable] = b"".join(reversed(cells))
        struct.pack_into(">%dH" % n, data, base, *offs)
    else:
        offs = []
    data[hdr] = ptype
    data[hdr + 1] = 0
    data[hdr + 2] = 0
    _pack_H(data, hdr + 3, n)
    _pack_H(data, hdr + 5, top & 0xFFFF)
    data[hdr + 7] = 0
    if not ptype & 8:
        _pack_I(data, hdr + 8, right)
    return offs


def defragment(data: Any, hdr: int, usable: int) -> list[int]:
    """Pack every cell at the end of the page (no freeblocks, no fragments)."""
    ptype = data[hdr]
    right = 0 if ptype & 8 else _unpack_I(data, hdr + 8)[0]
    return write_page(data, hdr, ptype, page_cells(data, hdr, usable), right, usable)


def _find_slot(data: Any, hdr: int, nbyte: int, usable: int) -> int:
    """SQLite's ``pageFindSlot``: first-fit from the freeblock list; 0 if none."""
    iaddr = hdr + 1
    pc = (data[iaddr] << 8) | data[iaddr + 1]
    maxpc = usable - nbyte
    while pc <= maxpc:
        size = (data[pc + 2] << 8) | data[pc + 3]
        x = size - nbyte
        if x >= 0:
            if x < 4:
                if data[hdr + 7] > 57:
                    return 0
                data[iaddr] = data[pc]
                data[iaddr + 1] = data[pc + 1]
                data[hdr + 7] += x
                return pc
            if x + pc > maxpc:
                raise _corrupt("freeblock extends past the page")
            _pack_H(data, pc + 2, x)
            return pc + x
        iaddr = pc
        pc = (data[pc] << 8) | data[pc + 1]
        if pc <= iaddr:
            if pc:
                raise _corrupt("freeblocks not in ascending order")
            return 0
    return 0


def insert_cell(data: Any, hdr: int, idx: int, cell: bytes, usable: int,
                nfree: int = -1) -> int:
    """Insert ``cell`` as cell number ``idx`` if the page has room.

    ``nfree``: the page's free byte count if the caller knows it (else it is
    computed, walking the freeblocks). Returns the cell's offset, 0 if it
    does not fit (the caller balances), or -1 if it fits only after a
    defragmentation, which was done (every offset moved; the caller re-reads
    them).
    """
    ln = len(cell)
    nbyte = ln if ln >= 4 else 4
    if nfree < 0:
        nfree = check_page(data, hdr, usable)
    if nbyte + 2 > nfree:
        return 0
    ptype = data[hdr]
    ncell = (data[hdr + 3] << 8) | data[hdr + 4]
    base = hdr + (8 if ptype & 8 else 12)
    gap = base + 2 * ncell
    top = (data[hdr + 5] << 8) | data[hdr + 6]
    if top == 0:
        top = 65536
    pc = 0
    moved = False
    if (data[hdr + 1] or data[hdr + 2]) and gap + 2 <= top:
        pc = _find_slot(data, hdr, nbyte, usable)
    if not pc:
        if gap + 2 + nbyte > top:
            defragment(data, hdr, usable)
            moved = True
            top = (data[hdr + 5] << 8) | data[hdr + 6]
            if top == 0:
                top = 65536
            if gap + 2 + nbyte > top:  # the caller's free count was wrong
                raise _corrupt("free space accounting is wrong")
        top -= nbyte
        _pack_H(data, hdr + 5, top & 0xFFFF)
        pc = top
    data[pc:pc + ln] = cell
    p = base + 2 * idx
    data[p + 2:gap + 2] = data[p:gap]
    _pack_H(data, p, pc)
    _pack_H(data, hdr + 3, ncell + 1)
    return -1 if moved else pc


def drop_cell(data: Any, hdr: int, idx: int, usable: int) -> int:
    """Remove cell number ``idx``, returning its bytes to the free space (SQLite's
    ``dropCell`` + ``freeSpace``: freeblocks kept sorted and coalesced, gaps of
    under 4 bytes counted as fragments, a block at the content start given back
    to the gap). Returns the bytes freed (content and pointer)."""
    ptype = data[hdr]
    ncell = (data[hdr + 3] << 8) | data[hdr + 4]
    base = hdr + (8 if ptype & 8 else 12)
    if idx >= ncell:
        raise _corrupt("cell index out of range")
    p = base + 2 * idx
    pc = (data[p] << 8) | data[p + 1]
    sz = cell_size(data, pc, ptype, usable)
    if sz < 4:
        sz = 4
    if pc + sz > usable or pc < base + 2 * ncell:
        raise _corrupt("cell extends past the page")
    if ncell == 1:
        data[hdr + 1:hdr + 5] = b"\0\0\0\0"
        data[hdr + 7] = 0
        _pack_H(data, hdr + 5, usable & 0xFFFF)
        return sz + 2
    _free_space(data, hdr, pc, sz, usable)
    end = base + 2 * ncell
    data[p:end - 2] = data[p + 2:end]
    _pack_H(data, hdr + 3, ncell - 1)
    return sz + 2


def _free_space(data: Any, hdr: int, start: int, size: int, usable: int) -> None:
    """SQLite's ``freeSpace``: add ``[start, start+size)`` to the freeblock list."""
    end = start + size
    iptr = hdr + 1
    nfrag = 0
    if data[iptr] == 0 and data[iptr + 1] == 0:
        ifree = 0
    else:
        while True:
            ifree = (data[iptr] << 8) | data[iptr + 1]
            if ifree >= start:
                break
            if ifree <= iptr:
                if ifree == 0:
                    break
                raise _corrupt("freeblocks not in ascending order")
            iptr = ifree
        if ifree > usable - 4:
            raise _corrupt("freeblock off the end of the page")
        if ifree and end + 3 >= ifree:
            nfrag = ifree - end
            if end > ifree:
                raise _corrupt("freeblock overlaps a cell")
            end = ifree + ((data[ifree + 2] << 8) | data[ifree + 3])
            if end > usable:
                raise _corrupt("freeblock extends past the page")
            size = end - start
            ifree = (data[ifree] << 8) | data[ifree + 1]
        if iptr > hdr + 1:
            iptr_end = iptr + ((data[iptr + 2] << 8) | data[iptr + 3])
            if iptr_end + 3 >= start:
                if iptr_end > start:
                    raise _corrupt("freeblock overlaps a cell")
                nfrag += start - iptr_end
                size = end - iptr
                start = iptr
        if nfrag > data[hdr + 7]:
            raise _corrupt("fragment count too small")
        data[hdr + 7] -= nfrag
    x = (data[hdr + 5] << 8) | data[hdr + 6]
    if x == 0:
        x = 65536
    if start <= x:
        if start < x or iptr != hdr + 1:
            raise _corrupt("freed space before the content area")
        _pack_H(data, hdr + 1, ifree)
        _pack_H(data, hdr + 5, end & 0xFFFF)
    else:
        _pack_H(data, iptr, start)
        _pack_H(data, start, ifree)
        _pack_H(data, start + 2, size)
