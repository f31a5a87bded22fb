"""The freelist: pages the database file holds but no B-tree uses.

Single job: hand out pages for new B-tree and overflow pages (reusing free
pages first) and take back pages that trees no longer need. Documented in
SQLite's "Database File Format" (fileformat2) section 1.5 "The Freelist".

File header fields on page 1 that this module owns:

    | offset | size | meaning                                   |
    |--------|------|-------------------------------------------|
    | 32     | 4    | page number of the first freelist trunk   |
    | 36     | 4    | total number of freelist pages            |

Trunk page:

    | offset | size | meaning                                             |
    |--------|------|-----------------------------------------------------|
    | 0      | 4    | next trunk page (0 = last)                          |
    | 4      | 4    | number of leaf page numbers that follow (k)         |
    | 8      | 4*k  | leaf page numbers                                   |

A leaf page's content is meaningless. A trunk can list up to U/4-2 leaves;
like SQLite we only fill one up to U/4-8 (older SQLite versions read no more),
and accept up to U/4-2 when reading. ``allocate`` works like SQLite's
``allocateBtreePage`` without a "nearby" hint: it takes the first leaf of the
first trunk (moving the trunk's last leaf into its slot), or the trunk itself
when it lists no leaves, and appends a page when the list is empty (skipping
the lock-byte page). ``free`` adds the page as a leaf of the first trunk when
there is room, else makes it the new first trunk. The in-header database size
(offset 28) is the pager's job.
"""
from __future__ import annotations

import struct
from typing import Any, Iterator

from storage.errors import CorruptError

__all__ = ["allocate", "free", "free_count", "iter_free_pages", "lock_byte_page"]

_pack_I = struct.Struct(">I").pack_into
_unpack_I = struct.Struct(">I").unpack_from

#: the page containing this byte offset is never used for data (SQLite's PENDING_BYTE)
_PENDING_BYTE = 0x40000000


def _corrupt(detail: str) -> CorruptError:
    return CorruptError(detail=detail)


def lock_byte_page(page_size: int) -> int:
    """Number of the page that holds SQLite's lock bytes."""
    return _PENDING_BYTE // page_size + 1


def allocate(txn: Any) -> Any:
    """A writable, zero-filled page for the caller's exclusive use."""
    p1 = txn.page(1).data
    count = _unpack_I(p1, 36)[0]
    if count == 0:
        pg = txn.append_page()
        if pg.pgno == lock_byte_page(txn.page_size):
            pg = txn.append_page()
        return pg
    trunk = _unpack_I(p1, 32)[0]
    db_size = txn.db_size
    if trunk < 2 or trunk > db_size:
        raise _corrupt(f"freelist trunk {trunk} out of range")
    tpage = txn.writable(trunk)
    t = tpage.data
    k = _unpack_I(t, 4)[0]
    if k > txn.usable_size // 4 - 2:
        raise _corrupt(f"freelist trunk {trunk} lists {k} leaves")
    h = txn.writable(1)
    if k:
        pgno = _unpack_I(t, 8)[0]
        if pgno < 2 or pgno > db_size:
            raise _corrupt(f"freelist leaf {pgno} out of range")
        if k > 1:
            t[8:12] = t[4 + 4 * k:8 + 4 * k]
        _pack_I(t, 4, k - 1)
        tpage.cells = None
    else:
        pgno = trunk
        _pack_I(h.data, 32, _unpack_I(t, 0)[0])
    _pack_I(h.data, 36, count - 1)
    pg = txn.writable(pgno)
    d = pg.data
    d[:] = bytes(len(d))
    pg.cells = None
    return pg


def free(txn: Any, pgno: int) -> None:
    """Put page ``pgno`` on the freelist (the caller no longer references it)."""
    if pgno < 2 or pgno > txn.db_size:
        raise _corrupt(f"cannot free page {pgno}")
    h = txn.writable(1)
    count = _unpack_I(h.data, 36)[0]
    trunk = _unpack_I(h.data, 32)[0] if count else 0
    if trunk:
        if trunk > txn.db_size:
            raise _corrupt(f"freelist trunk {trunk} out of range")
        k = _unpack_I(txn.page(trunk).data, 4)[0]
        if k > txn.usable_size // 4 - 2:
            raise _corrupt(f"freelist trunk {trunk} lists {k} leaves")
        if k < txn.usable_size // 4 - 8:
            tpage = txn.writable(trunk)
            _pack_I(tpage.data, 8 + 4 * k, pgno)
            _pack_I(tpage.data, 4, k + 1)
            tpage.cells = None
            _pack_I(h.data, 36, count + 1)
            txn.page(pgno).cells = None
            return
    pg = txn.writable(pgno)
    _pack_I(pg.data, 0, trunk)
    _pack_I(pg.data, 4, 0)
    pg.cells = None
    _pack_I(h.data, 32, pgno)
    _pack_I(h.data, 36, count + 1)


def free_count(txn: Any) -> int:
    """Total freelist pages, from the file header."""
    return _unpack_I(txn.page(1).data, 36)[0]


def iter_free_pages(txn: Any) -> Iterator[int]:
    """Every freelist page (trunks and leaves), in list order.

    Bounded: a trunk seen twice, a page out of range or more pages than the
    file holds is a CorruptError, never a hang.
    """
    db_size = txn.db_size
    maxk = txn.usable_size // 4 - 2
    trunk = _unpack_I(txn.page(1).data, 32)[0]
    seen: set[int] = set()
    total = 0
    while trunk:
        if trunk < 2 or trunk > db_size or trunk in seen:
            raise _corrupt(f"freelist trunk {trunk} out of range or repeated")
        seen.add(trunk)
        t = txn.page(trunk).data
        k = _unpack_I(t, 4)[0]
        if k > maxk:
            raise _corrupt(f"freelist trunk {trunk} lists {k} leaves")
        total += k + 1
        if total > db_size:
            raise _corrupt("freelist longer than the database")
        yield trunk
        leaves = struct.unpack_from(">%dI" % k, t, 8)
        for pg in leaves:
            if pg < 2 or pg > db_size:
                raise _corrupt(f"freelist leaf {pg} out of range")
            yield pg
        trunk = _unpack_I(t, 0)[0]
