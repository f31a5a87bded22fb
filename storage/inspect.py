"""``mvlite-inspect`` / ``python -m storage FILE``: look inside a database file.

Single job: a read-only report on a SQLite 3 database as the storage layer
sees it — the 100-byte header, page size and count, the freelist, the WAL
state, every schema object with its root page, b-tree depth, page, cell,
overflow and row counts — plus, on request, our integrity check and a dump of
a table's rows. The formats are those of SQLite's "Database File Format"
(https://www.sqlite.org/fileformat2.html) and "WAL-mode File Format"
(https://www.sqlite.org/walformat.html); docs/file-format.md summarises them.

Public surface: ``main(argv=None) -> int`` (the console script),
``scan_database(pager) -> int`` (read every row, index entry and overflow
chain through the B-tree cursors; used by the damaged-file tests) and
``tree_stats(txn, root) -> TreeStats``.

Errors print one line (``Error: file is not a database``) and exit with 1;
the tool never shows a traceback and never writes to the file.
"""
from __future__ import annotations

import argparse
import os
import re
import struct
import sys
from typing import Any, Sequence

import attrs

from storage import btree, integrity
from storage.errors import CorruptError, Error
from storage.header import DatabaseHeader
from storage.record import get_varint
from storage.schema_table import SchemaRow, read_schema

__all__ = ["main", "scan_database", "tree_stats", "TreeStats"]

# B-tree page header fields used by ``tree_stats`` (offset 100 on page 1):
# | offset | size | meaning                                                  |
# |      0 |    1 | type: 2 index interior, 5 table interior, 10/13 leaves   |
# |      3 |    2 | number of cells                                          |
# |      8 |    4 | right-most child (interior pages only)                   |
# Cell pointer array after the 8/12-byte header; interior cells start with a
# 4-byte left child; leaf cells start with the payload-size varint (then the
# rowid varint on table leaves).

_MAX_DEPTH = 40


@attrs.define
class TreeStats:
    """Shape of one b-tree: how deep, how many pages of each kind, how many cells."""

    depth: int = 0
    interior_pages: int = 0
    leaf_pages: int = 0
    overflow_pages: int = 0
    cells: int = 0
    entries: int = 0  # table rows, or index entries

    @property
    def pages(self) -> int:
        return self.interior_pages + self.leaf_pages + self.overflow_pages


def tree_stats(txn: Any, root: int) -> TreeStats:
    """Walk the tree at ``root`` page by page; ``CorruptError`` if it is not a tree."""
    try:
        return _tree_stats(txn, root)
    except (IndexError, ValueError, struct.error) as exc:
        raise CorruptError(detail=f"tree {root}: {exc!r}") from exc


def _tree_stats(txn: Any, root: int) -> TreeStats:
    st = TreeStats()
    U = txn.usable_size
    seen: set[int] = set()
    stack = [(root, 1)]
    while stack:
        pgno, depth = stack.pop()
        if pgno in seen or depth > _MAX_DEPTH:
            raise CorruptError(detail=f"page {pgno} reached twice in tree {root}")
        seen.add(pgno)
        data = txn.page(pgno).data
        hdr = 100 if pgno == 1 else 0
        ptype = data[hdr]
        ncell = int.from_bytes(data[hdr + 3:hdr + 5], "big")
        st.depth = max(st.depth, depth)
        st.cells += ncell
        if ptype in (2, 5):
            st.interior_pages += 1
            if ptype == 2:
                st.entries += ncell
            for i in range(ncell):
                pc = int.from_bytes(data[hdr + 12 + 2 * i:hdr + 14 + 2 * i], "big")
                stack.append((int.from_bytes(data[pc:pc + 4], "big"), depth + 1))
                if ptype == 2:
                    n, _ = get_varint(data, pc + 4)
                    st.overflow_pages += _overflow_pages(n, U, index=True)
            stack.append((int.from_bytes(data[hdr + 8:hdr + 12], "big"), depth + 1))
        elif ptype in (10, 13):
            st.leaf_pages += 1
            st.entries += ncell
            for i in range(ncell):
                pc = int.from_bytes(data[hdr + 8 + 2 * i:hdr + 10 + 2 * i], "big")
                n, _ = get_varint(data, pc)
                st.overflow_pages += _overflow_pages(n, U, index=ptype == 10)
        else:
            raise CorruptError(detail=f"page {pgno}: bad b-tree page type {ptype}")
    return st


def _overflow_pages(n: int, U: int, *, index: bool) -> int:
    """How many overflow pages a payload of ``n`` bytes needs (the spill rules)."""
    max_local = ((U - 12) * 64 // 255) - 23 if index else U - 35
    if n <= max_local:
        return 0
    min_local = ((U - 12) * 32 // 255) - 23
    k = min_local + (n - min_local) % (U - 4)
    local = k if k <= max_local else min_local
    return (n - local + U - 5) // (U - 4)


_WITHOUT_ROWID = re.compile(r"\)\s*WITHOUT\s+ROWID", re.I)


def _is_index_tree(row: SchemaRow) -> bool:
    """Indexes and WITHOUT ROWID tables are index b-trees (keys, no rowids)."""
    return row.type == "index" or bool(row.sql and _WITHOUT_ROWID.search(row.sql))


def _any_keyinfo() -> Any:
    """A KeyInfo for scanning: a scan never compares keys, so BINARY ASC will do."""
    return btree.KeyInfo(collations=(), desc=())


def scan_database(pager: Any) -> int:
    """Visit every row of every tree and every overflow chain; return the entry count.

    Reads through the B-tree cursors exactly as a query would (payloads of
    table rows are assembled from their overflow chains and decoded; index
    keys are decoded), so a damaged file surfaces as a storage error here.
    """
    txn = pager.begin_read()
    try:
        n = 0
        for row in read_schema(txn):
            n += 1
            if row.type not in ("table", "index") or not row.rootpage:
                continue
            if _is_index_tree(row):
                cur = btree.IndexCursor(txn, row.rootpage, _any_keyinfo())
                ok = cur.first()
                while ok:
                    cur.key
                    n += 1
                    ok = cur.next()
            else:
                cur = btree.TableCursor(txn, row.rootpage)
                ok = cur.first()
                while ok:
                    cur.rowid
                    cur.payload()
                    cur.record()
                    n += 1
                    ok = cur.next()
        return n
    finally:
        txn.end()


# -- the command line --------------------------------------------------------------

def _sql_literal(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bytes):
        return "X'" + v.hex().upper() + "'"
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    return repr(v)


_HEADER_FIELDS = (
    ("page_size", "page size"), ("write_version", "write format"),
    ("read_version", "read format"), ("reserved_bytes", "reserved bytes"),
    ("change_counter", "file change counter"), ("db_size", "database page count"),
    ("freelist_trunk", "freelist trunk page"), ("freelist_count", "freelist page count"),
    ("schema_cookie", "schema cookie"), ("schema_format", "schema format"),
    ("default_cache_size", "default cache size"), ("largest_root_page", "autovacuum top root"),
    ("incremental_vacuum", "incremental vacuum"), ("text_encoding", "text encoding"),
    ("user_version", "user version"), ("application_id", "application id"),
    ("version_valid_for", "version-valid-for"), ("sqlite_version", "software version"),
)


def _print_header(h: DatabaseHeader, out: Any) -> None:
    for attr, label in _HEADER_FIELDS:
        print(f"{label + ':':<24}{getattr(h, attr)}", file=out)


def _wal_state(pager: Any, path: str) -> str:
    """One line about the WAL: frames in it and frames copied back to the db file."""
    if not os.path.exists(path + "-wal"):
        return "no -wal file"
    return f"{pager.mx_frame} valid frames, {pager.backfilled} backfilled"


def _report(pager: Any, path: str, args: argparse.Namespace, out: Any) -> int:
    txn = pager.begin_read()
    try:
        h = DatabaseHeader.parse(txn.page(1).data)
        print(f"file:                   {path}", file=out)
        _print_header(h, out)
        print(f"{'usable size:':<24}{txn.usable_size}", file=out)
        print(f"{'pages (snapshot):':<24}{txn.db_size}", file=out)
        print(f"{'journal mode:':<24}{'wal' if h.is_wal else 'rollback'}", file=out)
        print(f"{'wal:':<24}{_wal_state(pager, path)}", file=out)
        rows = read_schema(txn)
        print(f"\n{len(rows)} schema objects:", file=out)
        print(f"  {'type':<8}{'name':<28}{'root':>7}{'depth':>6}{'pages':>8}"
              f"{'ovfl':>7}{'cells':>9}{'rows':>9}", file=out)
        for row in rows:
            if row.rootpage:
                st = tree_stats(txn, row.rootpage)
                print(f"  {row.type:<8}{row.name:<28}{row.rootpage:>7}{st.depth:>6}"
                      f"{st.pages:>8}{st.overflow_pages:>7}{st.cells:>9}{st.entries:>9}",
                      file=out)
            else:
                print(f"  {row.type:<8}{row.name:<28}{'-':>7}", file=out)
        if args.pages:
            print("\npages:", file=out)
            for pgno in range(1, txn.db_size + 1):
                data = txn.page(pgno).data
                hdr = 100 if pgno == 1 else 0
                kind = {2: "index interior", 5: "table interior", 10: "index leaf",
                        13: "table leaf"}.get(data[hdr], "other (overflow/free/ptrmap)")
                print(f"  {pgno:>7}  {kind}", file=out)
        status = 0
        if args.check:
            errs = integrity.check(txn)
            print("\nintegrity check: " + ("ok" if not errs else f"{len(errs)} problem(s)"),
                  file=out)
            for e in errs:
                print(f"  {e}", file=out)
            status = 1 if errs else 0
        if args.dump:
            status = max(status, _dump(txn, rows, args.dump, out))
        return status
    finally:
        txn.end()


def _dump(txn: Any, rows: list[SchemaRow], name: str, out: Any) -> int:
    match = [r for r in rows if r.name.lower() == name.lower() and r.type in ("table", "index")]
    if name.lower() in ("sqlite_schema", "sqlite_master"):
        match = [SchemaRow("table", "sqlite_schema", "sqlite_schema", 1, None)]
    if not match or not match[0].rootpage:
        print(f"Error: no such table: {name}", file=sys.stderr)
        return 1
    row = match[0]
    print(f"\n{row.type} {row.name} (root page {row.rootpage}):", file=out)
    if _is_index_tree(row):
        cur = btree.IndexCursor(txn, row.rootpage, _any_keyinfo())
        ok = cur.first()
        while ok:
            print("|".join(_sql_literal(v) for v in cur.key), file=out)
            ok = cur.next()
    else:
        cur = btree.TableCursor(txn, row.rootpage)
        ok = cur.first()
        while ok:
            print("|".join([str(cur.rowid)] + [_sql_literal(v) for v in cur.record()]), file=out)
            ok = cur.next()
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mvlite-inspect",
        description="Show what is inside a SQLite 3 database file (read-only).")
    p.add_argument("file", help="the database file")
    p.add_argument("--pages", action="store_true", help="list every page and its kind")
    p.add_argument("--check", action="store_true",
                   help="run mvlite's integrity check (exit 1 if it finds problems)")
    p.add_argument("--dump", metavar="TABLE", help="print the rows of TABLE (or an index)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mvlite-inspect`` and ``python -m storage``."""
    args = _parser().parse_args(argv)
    out = sys.stdout
    try:
        from storage.pager import Pager

        if not os.path.exists(args.file):
            print(f"Error: unable to open database file: {args.file}", file=sys.stderr)
            return 1
        pager = Pager.open(args.file, readonly=True, create=False)
        try:
            return _report(pager, args.file, args, out)
        finally:
            pager.close()
    except Error as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. piped into `head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:  # the one place a bug must not become a traceback
        print(f"Error: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
