"""Hot rollback journals: roll back what a crashed rollback-mode writer left.

This module's single job is SQLite's ``<db>-journal`` file: deciding whether
one is "hot" and playing it back into the database file exactly as SQLite's
``pager_playback()`` does, so that a database last written by ``sqlite3`` in
a rollback-journal mode (DELETE, TRUNCATE, PERSIST) opens in its last
committed state. It also writes the one journal mvlite itself ever needs: the
empty journal that makes creating page 1 of a new database atomic. The format
is section 3 "The Rollback Journal" of SQLite's "Database File Format"
(https://www.sqlite.org/fileformat2.html#the_rollback_journal) and "Atomic
Commit In SQLite" (https://www.sqlite.org/atomiccommit.html).

Public surface: ``journal_path(db_path)``, ``rollback_hot_journal(vfs, db_file,
db_path) -> int | None``, ``write_creation_journal(vfs, db_path, page_size)``,
``JOURNAL_MAGIC``.
"""
from __future__ import annotations

import os
import struct

from storage.api import VFS, File
from storage.errors import SQLITE_IOERR_SHORT_READ, CorruptError, DiskIOError

__all__ = ["JOURNAL_MAGIC", "journal_path", "rollback_hot_journal",
           "write_creation_journal", "is_hot"]

JOURNAL_MAGIC = b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7"

# Journal header, at offset 0 and again at every later segment start (each
# segment starts at a multiple of the sector size). Big-endian:
#
#   offset size  meaning
#   0      8     magic d9 d5 05 f9 20 a1 63 d7
#   8      4     nRec: page records in this segment; 0xFFFFFFFF = "up to the end
#                of the file" (written by no-sync modes)
#   12     4     checksum nonce (random per segment)
#   16     4     initial database size in pages (truncate to it on rollback)
#   20     4     sector size; the header occupies this many bytes
#   24     4     page size (0 = the database's page size)
#   28     ...   zero padding up to the sector size
#
# Page record (right after a header, back to back):
#
#   offset     size       meaning
#   0          4          page number
#   4          page size  the page's content before the transaction
#   4+ps       4          checksum: nonce + data[ps-200] + data[ps-400] + ... (bytes
#                         at offsets ps-200k > 0), modulo 2**32
#
# Super-journal pointer (optional, only for multi-database transactions), at
# the very end of the file:
#
#   offset from end  size  meaning
#   -(20+len)        4     the lock-byte page number (marks the record)
#   -(16+len)        len   UTF-8 name of the super-journal, NUL-padded
#   -16              4     len
#   -12              4     checksum: sum of the name's bytes
#   -8               8     magic
_JHDR = struct.Struct(">8sIIIII")
_U32 = struct.Struct(">I")
_M32 = 0xFFFFFFFF
_MAX_SECTOR = 0x10000


def journal_path(db_path: str) -> str:
    return db_path + "-journal"


def _page_cksum(nonce: int, data: bytes, page_size: int) -> int:
    s = nonce
    i = page_size - 200
    while i > 0:
        s += data[i]
        i -= 200
    return s & _M32


def is_hot(vfs: VFS, db_path: str, db_file_size: int) -> bool:
    """A journal is hot if it exists, the database is not empty and it starts
    with a non-zero byte (PERSIST mode zeroes the header on commit).

    We hold the database's exclusive lock when asking, so no live writer in
    another process can own it: if it is there, its writer crashed.
    """
    jp = journal_path(db_path)
    if db_file_size == 0 or not vfs.exists(jp):
        return False
    jf = vfs.open(jp, create=False, readonly=True)
    try:
        first = _read(jf, 0, 1, jf.size())
    finally:
        jf.close()
    return bool(first) and first != b"\x00"


def _read(f: File, offset: int, size: int, file_size: int) -> bytes:
    """``f.read`` where a short read inside the file (an I/O fault, not the
    end of a journal cut short by a crash) is retried once, then DiskIOError:
    stopping playback early on it would leave the database half rolled back."""
    data = f.read(offset, size)
    want = min(size, max(file_size - offset, 0))
    if len(data) < want:
        data = f.read(offset, size)
        if len(data) < want:
            raise DiskIOError(code=SQLITE_IOERR_SHORT_READ)
    return data


def _read_super_journal(jf: File, jsize: int) -> str:
    """The super-journal name recorded at the end of the journal, or ''."""
    if jsize < 16:
        return ""
    tail = _read(jf, jsize - 16, 16, jsize)
    if len(tail) < 16 or tail[8:] != JOURNAL_MAGIC:
        return ""
    (length,) = _U32.unpack_from(tail, 0)
    (cksum,) = _U32.unpack_from(tail, 4)
    if length == 0 or length > 4096 or jsize < length + 20:
        return ""
    name = _read(jf, jsize - 16 - length, length, jsize)
    if len(name) < length or (sum(name) & _M32) != cksum:
        return ""
    return name.split(b"\x00", 1)[0].decode("utf-8", "replace")


def rollback_hot_journal(vfs: VFS, db_file: File, db_path: str) -> int | None:
    """Play back a hot journal into ``db_file``, fsync, delete the journal.

    Returns the number of pages restored, or None if there was no hot
    journal. Follows ``pager_playback()``: segment by segment, stop at the
    first record whose page number is 0 or the lock-byte page or whose
    checksum fails, skip records beyond the initial size, truncate the
    database to the initial size given by the first header. A journal that
    names a super-journal that no longer exists belongs to a committed
    multi-database transaction: it is deleted without playback.
    """
    jp = journal_path(db_path)
    if not is_hot(vfs, db_path, db_file.size()):
        return None
    jf = vfs.open(jp, create=False)
    try:
        restored = _playback(vfs, jf, db_file)
    finally:
        jf.close()
    db_file.sync()
    vfs.delete(jp)
    return restored


def _playback(vfs: VFS, jf: File, db_file: File) -> int:
    jsize = jf.size()
    super_name = _read_super_journal(jf, jsize)
    if super_name and not vfs.exists(super_name):
        return 0
    off = 0
    first = True
    sector = page_size = 0
    db_pages = 0
    restored = 0
    while True:
        if not first:
            # the next segment starts at the next multiple of the sector size
            off = -(-off // sector) * sector
        if off + _JHDR.size > jsize:
            break
        raw = _read(jf, off, _JHDR.size, jsize)
        if len(raw) < _JHDR.size:
            break
        magic, n_rec, nonce, init_pages, sec, ps = _JHDR.unpack(raw)
        if magic != JOURNAL_MAGIC:
            break
        if first:
            if ps == 0:
                ps = _db_page_size(db_file)
            if (ps < 512 or ps > 65536 or ps & (ps - 1) or sec < 32 or sec > _MAX_SECTOR
                    or sec & (sec - 1)):
                raise CorruptError(detail="hot journal header has a bad page or sector size")
            sector, page_size = sec, ps
        if off + sector > jsize:
            break
        off += sector
        rec_size = page_size + 8
        if n_rec == _M32:
            n_rec = (jsize - sector) // rec_size
        if first:
            db_file.truncate(init_pages * page_size)
            db_pages = init_pages
            first = False
        lock_page = 0x40000000 // page_size + 1
        stop = False
        for _ in range(n_rec):
            rec = _read(jf, off, rec_size, jsize)
            if len(rec) < rec_size:
                return restored  # a journal cut short: the db was never written past it
            off += rec_size
            (pgno,) = _U32.unpack_from(rec, 0)
            if pgno == 0 or pgno == lock_page:
                stop = True
                break
            if pgno > db_pages:
                continue
            data = rec[4:4 + page_size]
            (ck,) = _U32.unpack_from(rec, 4 + page_size)
            if _page_cksum(nonce, data, page_size) != ck:
                stop = True
                break
            db_file.write((pgno - 1) * page_size, data)
            restored += 1
        if stop:
            break
    return restored


def _db_page_size(db_file: File) -> int:
    raw = _read(db_file, 16, 2, db_file.size())
    if len(raw) < 2:
        return 0
    (ps,) = struct.unpack(">H", raw)
    return 65536 if ps == 1 else ps


def write_creation_journal(vfs: VFS, db_path: str, page_size: int, sector_size: int = 512) -> None:
    """Write and fsync a journal that rolls the database back to 0 pages.

    Used while writing page 1 of a brand-new database: if power fails before
    page 1 is durable, the next open (ours or sqlite3's) sees a hot journal
    with initial size 0 and truncates the torn page away; the caller deletes
    the journal once page 1 is synced.
    """
    hdr = _JHDR.pack(JOURNAL_MAGIC, 0, int.from_bytes(os.urandom(4), "big"), 0,
                     sector_size, page_size)
    jf = vfs.open(journal_path(db_path), create=True)
    try:
        jf.truncate(0)
        jf.write(0, hdr.ljust(sector_size, b"\x00"))
        jf.sync()
    finally:
        jf.close()
