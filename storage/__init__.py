"""storage/: the bytes on disk, in SQLite 3's own formats.

Owns I/O (real, in-memory, fault-injecting: ``io``), the 100-byte header
(``header``), varints and records (``record``), B-tree pages and cursors
(``page``, ``btree``, ``freelist``), the page cache, WAL, checkpoints and
recovery (``pager``, ``wal``), and our integrity checker (``integrity``).
Imports only the stdlib, attrs and structlog; never ``mvcc`` or ``sql``.
"""
