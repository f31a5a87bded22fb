"""Changing B-trees: create/drop/clear, inserts, deletes and balancing.

Single job: change SQLite 3's table and index B-trees on the pages of a
``WriteTxn`` so that every page stays within SQLite's rules (``PRAGMA
integrity_check`` says ``ok``). Reading -- page decoding, cursors, KeyInfo --
is ``storage.btree``'s, which is also the public entry point: it re-exports
the functions here (``create_tree clear_tree drop_tree table_insert
table_delete index_insert index_delete``) wrapped in its damage guard, which
turns the IndexError & co. that damaged bytes cause here into CorruptError.
Byte layouts live in ``page`` and ``record``; the tree rules are in SQLite's
"Database File Format" (fileformat2) sections 1.6 and 2.2-2.5.

Tree rules kept: all leaves at one depth; no non-root page empty (a non-root
interior page has at least one cell); table interior key = largest rowid of
its left subtree, found by the last cell of that subtree when it was made
(after deletes the key need not exist in a leaf any more); index interior
cells are real entries. Balancing is SQLite's scheme: a page that overflows
or falls under one-third full is redistributed together with up to two
siblings under the same parent (gather the cells and the dividers between
them, repack them as evenly as fits into as few pages as needed, reuse the
page numbers, free the surplus, then fix the parent and go up); a root that
overflows pushes its content into a new child; an interior root left with
one child pulls it up when it fits (page 1 keeps its 100-byte file header and
is always sqlite_schema's root). A split leaves the pages about 3/4 full, so
that random inserts do not rebalance the same pages again at once. Appending
past the last key of a full rightmost leaf starts a new leaf holding just
that entry (SQLite's ``balance_quick``; for an index the old leaf's last
entry moves up as the divider), so bulk loads in key order fill pages
completely. The common case (the cell fits, or leaves the page at least 1/3
full) edits the page in place with SQLite's own free-space rules (see
``page``) and keeps the page's decoded cache (``btree``'s nodes) in step.

Index keys: ``index_insert`` of a key equal to a stored one (every column
equal under the KeyInfo) replaces the stored bytes (identical bytes: no-op)
and returns False; ``index_delete`` removes the entry equal to the full key.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import accumulate
from typing import Any, Sequence

from storage import freelist
from storage.errors import ProgrammingError
from storage.page import (
    INDEX_INTERIOR, INDEX_LEAF, TABLE_INTERIOR, TABLE_LEAF, cell_overflow, cell_size, check_page,
    drop_cell, free_overflow, insert_cell, local_size, make_index_cell,
    make_table_leaf_cell, page_cells, read_payload, write_page,
)
from storage.record import encode_record, get_varint, put_varint, sort_key


# -- whole-tree operations ---------------------------------------------------------

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


def clear_tree(txn: Any, root: int) -> None:
    """Delete every entry; the root stays, as an empty leaf. Pages go to the freelist."""
    _free_tree(txn, root, True)


def drop_tree(txn: Any, root: int) -> None:
    """Delete the whole tree, root included; every page goes to the freelist."""
    if root == 1:
        raise ProgrammingError("page 1 (sqlite_schema) cannot be dropped")
    _free_tree(txn, root, False)


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


# storage.btree imports this module at its end, so importing it back here, at
# the end, works whichever of the two is imported first (see btree).
from storage.btree import (  # noqa: E402
    INDEX, MAX_DEPTH, TABLE, KeyInfo, _BINARY, _MAX_ROWID, _MIN_ROWID, _Node, _cell_at, _corrupt,
    _ikeys, _load, _payload_span, _unpack_I,
)
