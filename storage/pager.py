"""The pager: snapshots, the page cache, commits to the WAL, checkpoints, recovery.

This module's single job is to turn a database file plus its ``-wal`` file
into consistent page snapshots (``ReadTxn``) and atomic, durable page commits
(``WriteTxn``), in SQLite's own formats, so that at every moment the two files
are a valid SQLite database that the stdlib ``sqlite3`` can open. It
implements the ``ReadTxn``/``WriteTxn`` protocols of ``storage/api.py``; page
*contents* are the B-tree layer's business. The rules it follows are SQLite's
"Write-Ahead Logging" (https://www.sqlite.org/wal.html), "WAL-mode File
Format" (https://www.sqlite.org/walformat.html) and the header section of
"Database File Format" (https://www.sqlite.org/fileformat2.html); byte layouts
live in ``header.py``, ``wal.py`` and ``journal.py``.

Public surface::

    Pager.open(path, *, vfs=None, readonly=False, create=True, page_size=4096,
               reserved_bytes=0, cache_size=-2000, synchronous=2,
               wal_autocheckpoint=1000, debug=False) -> Pager
    pager.page_size / usable_size / header / db_size / stats / readonly
    pager.synchronous / wal_autocheckpoint / cache_size      (settable)
    pager.begin_read() -> ReadTxn
    pager.begin_write(timeout=None) -> WriteTxn
    pager.checkpoint(mode="PASSIVE") -> (busy, log_frames, checkpointed_frames)
    pager.close()

States and transitions::

    Pager:    OPEN ──close()──> CLOSED
    ReadTxn:  ACTIVE (pinned at (generation, mark)) ──end()──> ENDED
    WriteTxn: ACTIVE ──commit()──> COMMITTED   (also when commit() raises:
                     ──rollback()─> ROLLED_BACK  the txn is over either way)

    commit(): prepare (page-1 header fields) -> place (restart the WAL if
    allowed, pick the offset) -> write (one buffer) -> sync (FULL) ->
    publish (wal-index, mxFrame, cache) -> release the writer slot ->
    auto-checkpoint (PASSIVE)

    checkpoint(): target = min(live marks, mxFrame) -> fsync WAL if needed ->
    write the latest frame <= target of every page (from the cache when it
    holds exactly that frame) -> truncate/extend the db file -> fsync db ->
    nBackfill = target

Invariants (``_check()`` asserts them; tests call it):

    I1  0 <= nBackfill <= mxFrame
    I2  every live snapshot has the current generation and nBackfill <= mark <= mxFrame
    I3  wal-index frames are ascending and within 1..mxFrame
    I4  mxFrame == 0 or mxFrame is a commit frame; db_size is its size (else the base size)
    I5  every cache key has the current generation; the cache holds <= capacity pages

WAL restart: when every frame is backfilled (which implies every live mark
is mxFrame), the next commit starts a new generation: new WAL header at
offset 0 (checkpoint sequence + 1, salt-1 + 1, random salt-2), frames from 1;
live snapshots become (new generation, mark 0) since the db file now holds
exactly their state; cached pages are re-keyed as db-file pages.
"""
from __future__ import annotations

import os
import struct
import threading
import time
from bisect import bisect_right
from collections import OrderedDict
from typing import Any

from storage import journal as _journal
from storage.api import VFS, File, Page
from storage.errors import (
    SQLITE_IOERR_SHORT_READ,
    BusyError,
    CorruptError,
    DiskIOError,
    Error,
    InterfaceError,
    InternalError,
    NotADatabaseError,
    NotSupportedError,
    ProgrammingError,
    ReadOnlyError,
)
from storage.header import (
    HEADER_SIZE,
    SQLITE_VERSION_NUMBER,
    DatabaseHeader,
    lock_byte_page,
    new_database_page1,
)
from storage.wal import (
    FRAME_HEADER_SIZE,
    NATIVE_MAGIC,
    WAL_HEADER_SIZE,
    Recovered,
    WalHeader,
    WalIndex,
    encode_frames,
    frame_offset,
    recover,
)

__all__ = ["Pager", "ReadTxn", "WriteTxn", "CHECKPOINT_MODES"]

CHECKPOINT_MODES = ("PASSIVE", "FULL", "RESTART", "TRUNCATE")
_M32 = 0xFFFFFFFF
#: magic (checksum byte order) of WAL headers we write; SQLite uses the native
#: order. Tests set it to the other one to prove both are read back correctly.
_new_wal_magic = NATIVE_MAGIC
_U32 = struct.Struct(">I")
# Python-level failures that, inside storage code, can only mean damaged bytes.
_BUGS = (IndexError, KeyError, ValueError, struct.error, OverflowError, RecursionError,
         UnicodeError, ZeroDivisionError)


class _Snapshot:
    """A read mark: (WAL generation, last commit frame visible, db size)."""

    __slots__ = ("gen", "mark", "db_size")

    def __init__(self, gen: int, mark: int, db_size: int) -> None:
        self.gen = gen
        self.mark = mark
        self.db_size = db_size


class ReadTxn:
    """A consistent snapshot of the pages, pinned at a WAL read mark (api.ReadTxn)."""

    __slots__ = ("_pager", "_snap", "page_size", "usable_size", "db_size", "_done")

    def __init__(self, pager: Pager, snap: _Snapshot) -> None:
        self._pager = pager
        self._snap = snap
        self.page_size = pager.page_size
        self.usable_size = pager.usable_size
        self.db_size = snap.db_size
        self._done = False

    def page(self, pgno: int) -> Page:
        """The page as of this snapshot; ``CorruptError`` if pgno is 0 or > db_size."""
        if self._done:
            raise ProgrammingError("transaction is over")
        if pgno < 1 or pgno > self.db_size:
            raise CorruptError(detail=f"page {pgno} out of range 1..{self.db_size}")
        return self._pager._get(pgno, self._snap)

    def end(self) -> None:
        """Release the read mark (idempotent)."""
        if not self._done:
            self._done = True
            self._pager._release(self._snap)

    def __enter__(self) -> ReadTxn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.end()


class WriteTxn(ReadTxn):
    """The single writer: copy-on-write pages, committed as one WAL transaction."""

    __slots__ = ("_dirty", "_start_size", "_lock_page")

    def __init__(self, pager: Pager, snap: _Snapshot) -> None:
        super().__init__(pager, snap)
        self._dirty: dict[int, Page] = {}
        self._start_size = snap.db_size
        self._lock_page = lock_byte_page(pager.page_size)

    def page(self, pgno: int) -> Page:
        p = self._dirty.get(pgno)
        if p is not None:
            return p
        return ReadTxn.page(self, pgno)

    def writable(self, pgno: int) -> Page:
        """This txn's private, mutable copy of the page (``data`` is a bytearray)."""
        p = self._dirty.get(pgno)
        if p is not None:
            return p
        if pgno == self._lock_page:
            raise CorruptError(detail=f"page {pgno} is the lock-byte page")
        base = ReadTxn.page(self, pgno)
        p = Page(pgno, bytearray(base.data))
        node = base.cells
        if node is not None and getattr(node, "page", None) is base:
            p.cells = node.clone(p)  # the B-tree's decoded view carries over (same bytes)
        self._dirty[pgno] = p
        return p

    def append_page(self) -> Page:
        """Grow the database by one zero-filled page (never the lock-byte page)."""
        if self._done:
            raise ProgrammingError("transaction is over")
        n = self.db_size + 1
        if n == self._lock_page:
            n += 1
        if n > _M32:
            raise CorruptError(detail="database is at its maximum page count")
        self.db_size = n
        p = Page(n, bytearray(self.page_size))
        self._dirty[n] = p
        return p

    def truncate(self, n_pages: int) -> None:
        """Shrink the database to ``n_pages`` (pages past it are forgotten)."""
        if self._done:
            raise ProgrammingError("transaction is over")
        if n_pages < 1 or n_pages > self.db_size:
            raise InterfaceError(f"cannot truncate {self.db_size} pages to {n_pages}")
        self.db_size = n_pages
        for pgno in [p for p in self._dirty if p > n_pages]:
            del self._dirty[pgno]

    def commit(self) -> None:
        """Append the dirty pages to the WAL as one transaction (see ``Pager``).

        Returns once durable under the pager's ``synchronous`` mode. If it
        raises, nothing of the transaction is visible and the txn is over.
        """
        if self._done:
            raise ProgrammingError("transaction is over")
        self._pager._commit(self)

    def rollback(self) -> None:
        """Forget every change; nothing reaches the file."""
        if not self._done:
            self._dirty.clear()
            self._pager._finish_write(self)

    def end(self) -> None:
        """Same as ``rollback()`` for an uncommitted writer (idempotent)."""
        self.rollback()


class Pager:
    """One open database file (+ WAL); see the module docstring."""

    def __init__(self) -> None:  # use Pager.open()
        self.path = ""
        self.readonly = False
        self.debug = False
        self.page_size = 4096
        self.usable_size = 4096
        self.header: DatabaseHeader = DatabaseHeader()
        self._hits = self._misses = 0
        self._counters: dict[str, int] = dict.fromkeys((
            "commits", "frames_written", "wal_syncs", "wal_header_syncs", "db_syncs", "syncs",
            "checkpoints",
            "ckpt_pages_from_cache", "ckpt_pages_from_wal", "wal_restarts",
            "autocheckpoint_errors", "wal_tail_cut_errors"), 0)
        self._vfs: VFS = None  # type: ignore[assignment]
        self._db: File = None  # type: ignore[assignment]
        self._wal: File | None = None
        self._wal_path = ""
        self._closed = True
        self._no_write_reason: str | None = None
        self._synthetic_page1: bytes | None = None  # read-only view of an empty file
        self._synchronous = 2
        self._wal_autocheckpoint = 1000
        self._cache_size = -2000
        self._capacity = 500
        # guarded by _lock: wal-index, cache, snapshots, WAL positions
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[int, int, int], Page] = OrderedDict()
        self._snaps: set[_Snapshot] = set()
        self._gen = 0
        self._index = WalIndex()
        self._commits: dict[int, int] = {}
        self._mx = 0
        self._backfilled = 0
        self._wal_synced = 0  # frames known durable in the WAL
        self._s0 = self._s1 = 0
        self._wal_hdr: WalHeader | None = None
        self._hdr_pending = True  # the next commit writes _wal_hdr at offset 0
        self._base_size = 0  # db size as the db file alone says (mark 0)
        self._db_size = 0
        self._wal_mode = False  # db file header says WAL (bytes 18/19 == 2)
        self._ckpt_running = False
        # the writer slot and the checkpointer
        self._writer_cv = threading.Condition(threading.Lock())
        self._writer: WriteTxn | None = None
        self._ckpt_lock = threading.Lock()

    # ------------------------------------------------------------------ open

    @classmethod
    def open(cls, path: str, *, vfs: VFS | None = None, readonly: bool = False,
             create: bool = True, page_size: int = 4096, reserved_bytes: int = 0,
             cache_size: int = -2000, synchronous: int = 2, wal_autocheckpoint: int = 1000,
             debug: bool = False) -> Pager:
        """Open (or create) a database: lock, roll back a hot journal, recover the WAL.

        ``page_size``/``reserved_bytes`` only matter for a new (empty) file.
        ``cache_size`` as PRAGMA cache_size: positive = pages, negative = KiB.
        """
        if vfs is None:
            from storage.io import default_vfs
            vfs = default_vfs()
        if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
            raise ProgrammingError(f"invalid page size {page_size}")
        if not 0 <= reserved_bytes <= 255 or page_size - reserved_bytes < 480:
            raise ProgrammingError(f"invalid reserved bytes {reserved_bytes}")
        self = cls()
        self.path = os.fspath(path)
        self.readonly = readonly
        self.debug = debug
        self._vfs = vfs
        self._wal_path = self.path + "-wal"
        self._synchronous = _check_sync(synchronous)
        self._wal_autocheckpoint = int(wal_autocheckpoint)
        self._cache_size = int(cache_size)
        self._db = vfs.open(self.path, create=create and not readonly, readonly=readonly)
        try:
            self._db.lock_exclusive()
            self._closed = False
            try:
                self._open_files(page_size, reserved_bytes)
            except _BUGS as exc:
                raise CorruptError(detail=f"open: {exc!r}") from exc
        except BaseException:
            self._abandon()
            raise
        return self

    def _abandon(self) -> None:
        self._closed = True
        for f in (self._wal, self._db):
            if f is not None:
                try:
                    f.close()
                except Error:
                    pass
        self._wal = None

    def _open_files(self, page_size: int, reserved: int) -> None:
        vfs, db = self._vfs, self._db
        size = db.size()
        if size == 0:
            self._init_empty(page_size, reserved)
        elif _journal.is_hot(vfs, self.path, size):
            if self.readonly:
                raise ReadOnlyError("database has a hot journal; open it writable to roll it back")
            try:
                _journal.rollback_hot_journal(vfs, db, self.path)
            except _BUGS as exc:
                raise CorruptError(detail=f"hot journal: {exc!r}") from exc
            size = db.size()
            if size == 0:
                self._init_empty(page_size, reserved)
        raw = self._synthetic_page1 or db.read(0, HEADER_SIZE)
        if len(raw) < HEADER_SIZE and db.size() >= HEADER_SIZE:
            raw = db.read(0, HEADER_SIZE)  # a short read: try once more
        try:
            file_hdr: DatabaseHeader | None = DatabaseHeader.parse(raw)
            file_err: Error | None = None
        except (NotADatabaseError, NotSupportedError) as exc:
            file_hdr, file_err = None, exc
        # Recover the WAL first: if it holds page 1, that page (not the db
        # file's, which a checkpoint cut short by a crash may have torn) is
        # the header, as for SQLite, whose page-1 reads go through the WAL.
        rec = None if self._synthetic_page1 is not None else self._recover_wal()
        if rec is not None and rec.mx_frame and 1 in rec.index:
            self.page_size = rec.header.page_size
            hdr = DatabaseHeader.parse(self._read_frame(rec.index[1][-1]))
        elif file_hdr is None:
            assert file_err is not None
            raise file_err
        else:
            hdr = file_hdr
        self.page_size = ps = hdr.page_size
        self.usable_size = hdr.usable_size
        if rec is not None and rec.mx_frame and rec.header.page_size != ps:
            raise CorruptError(detail=f"WAL page size {rec.header.page_size} != {ps}")
        self._wal_mode = (file_hdr or hdr).is_wal
        if hdr.write_forbidden:
            self._no_write_reason = "file format write version is newer than this library"
            self.readonly = True
        elif hdr.auto_vacuum:
            self._no_write_reason = "auto_vacuum databases are read-only in mvlite"
        self.header = hdr
        self._set_capacity()
        if rec is not None and rec.mx_frame:
            self._index = WalIndex(rec.index)
            self._commits = rec.commits
            self._mx = self._wal_synced = rec.mx_frame
            self._s0, self._s1 = rec.s0, rec.s1
            self._wal_hdr = rec.header
            self._hdr_pending = False
            file_pages = rec.commits[rec.mx_frame]
        else:
            self._wal_hdr = self._fresh_wal_header(rec.header if rec is not None else None)
            self._hdr_pending = True
            file_pages = -(-db.size() // ps) if self._synthetic_page1 is None else 1
        # SQLite's rule (lockBtree): the in-header size wins if a 3.7.0+ writer
        # left it valid, but may not exceed what the file (or the WAL's last
        # commit frame) holds; otherwise the file (commit frame) size is used.
        size = file_pages
        if hdr.db_size_valid:
            if hdr.db_size > file_pages:
                raise CorruptError(detail=f"header says {hdr.db_size} pages, file has {file_pages}")
            size = hdr.db_size
        self._db_size = size
        if self._mx:
            self._commits[self._mx] = size
            self._base_size = 0  # set at the first WAL restart
        else:
            self._base_size = size

    def _init_empty(self, page_size: int, reserved: int) -> None:
        """A zero-length file is a new database; like sqlite3, forget any WAL/journal."""
        vfs = self._vfs
        if self.readonly:
            self._synthetic_page1 = new_database_page1(page_size, reserved)
            return
        vfs.delete(self._wal_path)
        vfs.delete(_journal.journal_path(self.path))
        page1 = new_database_page1(page_size, reserved)
        # An empty journal (initial size 0) makes the creation atomic: a crash
        # before page 1 is durable rolls the file back to zero length.
        _journal.write_creation_journal(vfs, self.path, page_size)
        self._db.write(0, page1)
        self._db.sync()
        vfs.delete(_journal.journal_path(self.path))

    def _recover_wal(self) -> Recovered | None:
        """Open and recover ``-wal`` if it exists (None if it does not)."""
        vfs = self._vfs
        if not vfs.exists(self._wal_path):
            return None
        self._wal = vfs.open(self._wal_path, create=False, readonly=self.readonly)
        try:
            found = recover(self._wal)
        except _BUGS as exc:
            raise CorruptError(detail=f"WAL recovery: {exc!r}") from exc
        if found.header is not None and not self.readonly:
            # Cut off what lies past the last valid commit frame (a torn or lost
            # transaction) and make the cut durable, before anything is appended:
            # otherwise a later commit that rewrites those positions with
            # byte-identical frames (same salts, same checksum chain) can make
            # the stale frames after it valid again, resurrecting a transaction
            # that a power loss had already rolled back (found by the pager
            # state machine under synchronous=NORMAL).
            end = frame_offset(found.mx_frame + 1, found.header.page_size)
            try:
                if self._wal.size() > end:
                    self._wal.truncate(end)
                    self._wal.sync()
            except Error:
                # best effort: SQLite does without this cut; an I/O error here
                # must not make the database unopenable
                self._counters["wal_tail_cut_errors"] += 1
        return found

    def _fresh_wal_header(self, old: WalHeader | None) -> WalHeader:
        salt2 = int.from_bytes(os.urandom(4), "big")
        if old is None:
            return WalHeader.new(self.page_size, 0, int.from_bytes(os.urandom(4), "big"), salt2,
                                 _new_wal_magic)
        return WalHeader.new(self.page_size, old.checkpoint_seq + 1, old.salt1 + 1, salt2,
                             _new_wal_magic)

    # ------------------------------------------------------------- settings

    @property
    def synchronous(self) -> int:
        """0 OFF, 1 NORMAL (fsync at checkpoint), 2 FULL (fsync the WAL per commit)."""
        return self._synchronous

    @synchronous.setter
    def synchronous(self, value: int) -> None:
        self._synchronous = _check_sync(value)

    @property
    def wal_autocheckpoint(self) -> int:
        """Run a PASSIVE checkpoint after a commit once the WAL has this many frames (<=0: never)."""
        return self._wal_autocheckpoint

    @wal_autocheckpoint.setter
    def wal_autocheckpoint(self, value: int) -> None:
        self._wal_autocheckpoint = int(value)

    @property
    def cache_size(self) -> int:
        """As PRAGMA cache_size: positive = pages, negative = KiB."""
        return self._cache_size

    @cache_size.setter
    def cache_size(self, value: int) -> None:
        self._cache_size = int(value)
        with self._lock:
            self._set_capacity()
            self._evict()

    def _set_capacity(self) -> None:
        cs = self._cache_size
        pages = cs if cs >= 0 else (-cs * 1024) // self.page_size
        self._capacity = max(pages, 10)

    @property
    def stats(self) -> dict[str, int]:
        """Counters (a fresh dict): cache_hits/misses, commits, frames_written,
        wal_syncs/db_syncs/syncs, checkpoints, ckpt_pages_from_cache/_from_wal
        (backfilled from cached bytes vs re-read from the WAL), wal_restarts,
        autocheckpoint_errors."""
        out = {"cache_hits": self._hits, "cache_misses": self._misses}
        out.update(self._counters)
        return out

    @property
    def db_size(self) -> int:
        """Pages in the newest committed state."""
        return self._db_size

    @property
    def mx_frame(self) -> int:
        """The last commit frame of the current WAL generation (0 = empty)."""
        return self._mx

    @property
    def backfilled(self) -> int:
        """Frames of the current generation already copied into the db file (nBackfill)."""
        return self._backfilled

    @property
    def closed(self) -> bool:
        return self._closed

    # ---------------------------------------------------------- transactions

    def begin_read(self) -> ReadTxn:
        """A snapshot of the newest committed state (pins its WAL read mark)."""
        self._check_open()
        with self._lock:
            snap = _Snapshot(self._gen, self._mx, self._db_size)
            self._snaps.add(snap)
        return ReadTxn(self, snap)

    def begin_write(self, timeout: float | None = None) -> WriteTxn:
        """The writer slot; ``BusyError`` if taken (after ``timeout`` seconds, if given)."""
        self._check_open()
        if self.readonly:
            raise ReadOnlyError()
        if self._no_write_reason:
            raise NotSupportedError(self._no_write_reason)
        cv = self._writer_cv
        with cv:
            if self._writer is not None:
                if not timeout or timeout <= 0:
                    raise BusyError()
                deadline = time.monotonic() + timeout
                while self._writer is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise BusyError()
                    cv.wait(left)
            self._check_open()
            with self._lock:
                snap = _Snapshot(self._gen, self._mx, self._db_size)
                self._snaps.add(snap)
            txn = self._writer = WriteTxn(self, snap)
        return txn

    def _release(self, snap: _Snapshot) -> None:
        with self._lock:
            self._snaps.discard(snap)

    def _finish_write(self, txn: WriteTxn) -> None:
        txn._done = True
        self._release(txn._snap)
        with self._writer_cv:
            if self._writer is txn:
                self._writer = None
                self._writer_cv.notify()

    def _check_open(self) -> None:
        if self._closed:
            raise ProgrammingError("Cannot operate on a closed database.")

    # -------------------------------------------------------------- reading

    def _get(self, pgno: int, snap: _Snapshot) -> Page:
        """The page for a snapshot: cache, else the WAL frame, else the db file.

        The hot path (a cache hit) is one lock round trip, a dict lookup in
        the wal-index (plus a bisect only if the page changed after the mark)
        and an LRU touch: ~0.5 us.
        """
        lock = self._lock
        while True:
            with lock:
                if self._closed:
                    raise ProgrammingError("Cannot operate on a closed database.")
                gen = snap.gen
                mark = snap.mark
                frame = 0
                if mark:
                    lst = self._index.frames.get(pgno)
                    if lst:
                        frame = lst[-1]
                        if frame > mark:
                            i = bisect_right(lst, mark)
                            frame = lst[i - 1] if i else 0
                key = (pgno, gen, frame)
                cache = self._cache
                page = cache.get(key)
                if page is not None:
                    cache.move_to_end(key)
                    self._hits += 1
                    return page
                self._misses += 1
            # file reads happen outside the lock
            data = self._read_frame(frame) if frame else self._read_db_page(pgno)
            with lock:
                if self._gen != gen:
                    continue  # a WAL restart raced with the read: look again
                cache = self._cache
                page = cache.get(key)
                if page is None:
                    page = Page(pgno, data)
                    cache[key] = page
                    if len(cache) > self._capacity:
                        self._evict()
                return page

    def _evict(self) -> None:
        cache, cap = self._cache, self._capacity
        while len(cache) > cap:
            _key, page = cache.popitem(last=False)
            # The B-tree's decoded view points back at the page (a reference
            # cycle); break it so an evicted page is freed at once instead of
            # waiting for a full gc pass (measured by bench/soak.py: RSS
            # 93 → 146 MiB with the cycle, flat at ~43 MiB without). A cursor
            # still holding the page keeps working: it kept its own view.
            page.cells = None

    def _read_db_page(self, pgno: int) -> bytes:
        ps = self.page_size
        if self._synthetic_page1 is not None:
            return self._synthetic_page1 if pgno == 1 else bytes(ps)
        off = (pgno - 1) * ps
        data = self._db.read(off, ps)
        if len(data) != ps:
            data = self._db.read(off, ps)  # a short read: try once more
            if len(data) != ps:
                if off + len(data) < self._db.size():
                    raise DiskIOError(code=SQLITE_IOERR_SHORT_READ)
                data = data + bytes(ps - len(data))  # past the end of the file: zeros
        return data

    def _read_frame(self, frame: int) -> bytes:
        ps = self.page_size
        off = frame_offset(frame, ps) + FRAME_HEADER_SIZE
        wal = self._wal
        if wal is None:
            raise InternalError("wal-index points into a WAL that is not open")
        data = wal.read(off, ps)
        if len(data) != ps:
            data = wal.read(off, ps)
            if len(data) != ps:
                raise DiskIOError(code=SQLITE_IOERR_SHORT_READ)
        return data

    # -------------------------------------------------------------- commit

    def _commit(self, txn: WriteTxn) -> None:
        self._check_open()
        try:
            try:
                self._commit_frames(txn)
            except _BUGS as exc:
                raise CorruptError(detail=f"commit: {exc!r}") from exc
        finally:
            self._finish_write(txn)
        ac = self._wal_autocheckpoint
        if ac > 0 and self._mx >= ac:
            self._auto_checkpoint()

    def _commit_frames(self, txn: WriteTxn) -> None:
        size = txn.db_size
        dirty = txn._dirty
        if not dirty and size == txn._start_size:
            return  # nothing to write
        # -- prepare: page 1's header fields (SQLite's pager_write_changecounter)
        if size != txn._start_size or 1 in dirty:
            d = txn.writable(1).data
            counter = (_U32.unpack_from(d, 24)[0] + 1) & _M32
            d[18] = d[19] = 2  # WAL mode
            _U32.pack_into(d, 24, counter)
            _U32.pack_into(d, 28, size)
            _U32.pack_into(d, 92, counter)
            _U32.pack_into(d, 96, SQLITE_VERSION_NUMBER)
        pages = [dirty[p] for p in sorted(dirty) if p <= size]
        if not self._wal_mode:
            self._switch_to_wal()
        if self._wal is None:
            self._wal = self._vfs.open(self._wal_path, create=True)
        # -- place
        with self._lock:
            if self._mx and self._backfilled == self._mx and not self._ckpt_running:
                self._restart_locked()
            gen = self._gen
            hdr = self._wal_hdr
            assert hdr is not None
            with_header = self._hdr_pending
            start = self._mx + 1
            s0, s1 = self._s0, self._s1
        wal = self._wal
        offset = frame_offset(start, self.page_size)
        if with_header:  # a new WAL generation: header at offset 0, frames from 1
            s0, s1 = hdr.cksum1, hdr.cksum2
            # The new header must be durable before any new frame reaches the
            # file (SQLite's syncHeader): otherwise a power loss can keep new
            # frames but lose the header, and the OLD header then validates old,
            # already-backfilled frames that survive after them and replays
            # them over newer database pages (found by the simulator, seed 6656).
            try:
                wal.write(0, hdr.serialize())
                if self._synchronous >= 1:
                    wal.sync()
                    self._count_sync("wal_header_syncs")
            except Error:
                self._invalidate(0, True)
                raise
        buf, s0, s1 = encode_frames(((p.pgno, p.data) for p in pages), size, hdr, s0, s1, b"")
        # -- write + sync
        synced = False
        try:
            wal.write(offset, buf)
            if self._synchronous >= 2:
                wal.sync()
                synced = True
                self._count_sync("wal_syncs")
        except Error:
            self._invalidate(offset, with_header)
            raise
        # -- publish
        last = start + len(pages) - 1
        with self._lock:
            index, cache = self._index, self._cache
            for i, p in enumerate(pages):
                f = start + i
                index.add(p.pgno, f)
                cp = Page(p.pgno, bytes(p.data))
                cp.cells = p.cells
                cache[(p.pgno, gen, f)] = cp
            self._evict()
            self._mx = last
            self._commits[last] = size
            self._s0, self._s1 = s0, s1
            self._hdr_pending = False
            self._db_size = size
            if synced:
                self._wal_synced = last
            self._counters["commits"] += 1
            self._counters["frames_written"] += len(pages)
            if 1 in dirty:
                self.header = DatabaseHeader.parse(dirty[1].data, validate=False)

    def _invalidate(self, offset: int, with_header: bool) -> None:
        """After a failed write/sync: make sure the frames of the failed commit
        can never be recovered (zero their first header, best effort + sync)."""
        try:
            self._wal.write(offset, bytes(WAL_HEADER_SIZE if with_header else FRAME_HEADER_SIZE))
            self._wal.sync()
        except Error:
            pass

    def _switch_to_wal(self) -> None:
        """First write to a rollback-journal database: bytes 18/19 := 2 + fsync,
        before any WAL frame exists (what PRAGMA journal_mode=WAL does)."""
        self._db.write(18, b"\x02\x02")
        if self._synchronous:
            self._db.sync()
            self._count_sync("db_syncs")
        with self._lock:
            self._wal_mode = True
            for key in [k for k in self._cache if k[0] == 1 and k[2] == 0]:
                del self._cache[key]
            self.header.write_version = self.header.read_version = 2

    def _restart_locked(self) -> None:
        """Start a new WAL generation (every frame is backfilled; caller holds _lock)."""
        old_gen, new_gen = self._gen, self._gen + 1
        latest = {pgno: lst[-1] for pgno, lst in self._index.frames.items()}
        size = self._db_size
        fresh: OrderedDict[tuple[int, int, int], Page] = OrderedDict()
        for (pgno, g, f), page in self._cache.items():
            if g == old_gen and pgno <= size and f == latest.get(pgno, 0):
                fresh[(pgno, new_gen, 0)] = page
        self._cache = fresh
        for snap in self._snaps:
            snap.gen, snap.mark = new_gen, 0
        self._gen = new_gen
        self._index = WalIndex()
        self._commits = {}
        self._mx = self._backfilled = self._wal_synced = 0
        self._base_size = size
        self._wal_hdr = self._fresh_wal_header(self._wal_hdr)
        self._hdr_pending = True
        self._counters["wal_restarts"] += 1

    def _count_sync(self, which: str) -> None:
        self._counters[which] += 1
        self._counters["syncs"] += 1

    # ----------------------------------------------------------- checkpoint

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """Copy WAL frames into the db file; returns what PRAGMA wal_checkpoint does.

        PASSIVE backfills up to the oldest live read mark. FULL also needs the
        writer slot and reports busy=1 if a reader below mxFrame stopped it.
        RESTART = FULL + start a new WAL generation now; TRUNCATE = RESTART +
        truncate the WAL file to 0 bytes. (0, -1, -1) if not in WAL mode.
        """
        self._check_open()
        mode = str(mode).upper()
        if mode not in CHECKPOINT_MODES:
            raise ProgrammingError(f"unknown checkpoint mode {mode!r}")
        if self.readonly:
            raise ReadOnlyError()
        if not self._wal_mode and self._wal is None:
            return (0, -1, -1)
        got_writer = False
        if mode != "PASSIVE":
            with self._writer_cv:
                if self._writer is None:
                    self._writer = _CHECKPOINTER
                    got_writer = True
        try:
            with self._ckpt_lock:
                try:
                    self._backfill()
                except _BUGS as exc:
                    raise CorruptError(detail=f"checkpoint: {exc!r}") from exc
                with self._lock:
                    mx, done = self._mx, self._backfilled
                    if mode == "PASSIVE":
                        return (0, mx, done)
                    if not got_writer or done < mx:
                        return (1, mx, done)
                    if mode == "FULL":
                        return (0, mx, done)
                    if mx:
                        self._restart_locked()
                if mode == "RESTART":
                    return (0, mx, done)
                if self._wal is not None:
                    self._wal.truncate(0)
                    with self._lock:
                        self._hdr_pending = True
                return (0, 0, 0)
        finally:
            if got_writer:
                with self._writer_cv:
                    self._writer = None
                    self._writer_cv.notify()

    def _auto_checkpoint(self) -> None:
        if self._closed or not self._ckpt_lock.acquire(blocking=False):
            return
        try:
            self._backfill()
        except Error:
            self._counters["autocheckpoint_errors"] += 1
        except _BUGS:
            self._counters["autocheckpoint_errors"] += 1
        finally:
            self._ckpt_lock.release()

    def _backfill(self) -> None:
        """Copy, for every page, its latest frame <= the oldest live mark into
        the db file. Caller holds _ckpt_lock."""
        with self._lock:
            mx, done = self._mx, self._backfilled
            target = min([s.mark for s in self._snaps], default=mx)
            target = min(target, mx)
            if target <= done:
                return
            gen = self._gen
            size = self._commits[target]
            # pages past the target's size are cut off by the truncate below
            # (SQLite's walCheckpoint skips them too)
            todo = sorted((pgno, f) for pgno, f in self._index.latest_upto(target).items()
                          if f > done and pgno <= size)
            cached = {}
            for pgno, f in todo:
                page = self._cache.get((pgno, gen, f))
                if page is not None:
                    cached[pgno] = page.data
            need_wal_sync = self._wal_synced < target
            self._ckpt_running = True
        try:
            sync = self._synchronous > 0
            if need_wal_sync and sync:
                self._wal.sync()
                self._count_sync("wal_syncs")
                with self._lock:
                    self._wal_synced = max(self._wal_synced, target)
            ps = self.page_size
            db = self._db
            run: list[bytes] = []
            run_start = run_next = 0
            from_cache = from_wal = 0
            for pgno, f in todo:
                data = cached.get(pgno)
                if data is None:
                    data = self._read_frame(f)
                    from_wal += 1
                else:
                    from_cache += 1
                    if self.debug and self._read_frame(f) != data:
                        raise InternalError(f"cached page {pgno} differs from WAL frame {f}")
                if run and pgno == run_next:
                    run.append(data)
                else:
                    if run:
                        db.write((run_start - 1) * ps, b"".join(run))
                    run, run_start = [data], pgno
                run_next = pgno + 1
            if run:
                db.write((run_start - 1) * ps, b"".join(run))
            if db.size() != size * ps:
                db.truncate(size * ps)
            if sync:
                db.sync()
                self._count_sync("db_syncs")
            with self._lock:
                self._backfilled = target
                self._counters["checkpoints"] += 1
                self._counters["ckpt_pages_from_cache"] += from_cache
                self._counters["ckpt_pages_from_wal"] += from_wal
        finally:
            with self._lock:
                self._ckpt_running = False

    # --------------------------------------------------------------- close

    def close(self) -> None:
        """End every transaction, checkpoint everything, delete the WAL, unlock."""
        if self._closed:
            return
        with self._writer_cv:
            w = self._writer
        if isinstance(w, WriteTxn):
            w.rollback()
        with self._lock:
            self._snaps.clear()
        try:
            if not self.readonly and self._wal is not None:
                with self._ckpt_lock:
                    try:
                        self._backfill()
                    except _BUGS as exc:
                        raise CorruptError(detail=f"checkpoint at close: {exc!r}") from exc
                if self._backfilled == self._mx:
                    self._wal.close()
                    self._wal = None
                    self._vfs.delete(self._wal_path)
        finally:
            self._closed = True
            try:
                self._db.unlock()
            finally:
                self._abandon()

    def __enter__(self) -> Pager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------- invariants

    def _check(self) -> None:
        """Assert I1..I5 of the module docstring (tests call this)."""
        with self._lock:
            mx, bf = self._mx, self._backfilled
            if not 0 <= bf <= mx:
                raise InternalError(f"I1: backfilled {bf} mx {mx}")
            for s in self._snaps:
                if s.gen != self._gen or not (bf <= s.mark <= mx or (s.mark == 0 and bf == 0)):
                    raise InternalError(f"I2: snapshot {s.gen}/{s.mark} vs gen {self._gen} "
                                        f"bf {bf} mx {mx}")
            for pgno, lst in self._index.frames.items():
                if not lst or lst != sorted(set(lst)) or lst[0] < 1 or lst[-1] > mx:
                    raise InternalError(f"I3: page {pgno} frames {lst}")
            if mx and mx not in self._commits:
                raise InternalError(f"I4: mx {mx} not a commit frame")
            want = self._commits[mx] if mx else self._base_size
            if self._db_size != want:
                raise InternalError(f"I4: db_size {self._db_size} != {want}")
            if any(k[1] != self._gen for k in self._cache) or len(self._cache) > self._capacity:
                raise InternalError("I5: cache keys or size")


class _Checkpointer:
    """Placeholder occupying the writer slot during FULL/RESTART/TRUNCATE."""


_CHECKPOINTER: Any = _Checkpointer()


def _check_sync(value: int) -> int:
    v = int(value)
    if v < 0 or v > 3:
        raise ProgrammingError(f"synchronous must be 0..3, not {value!r}")
    return min(v, 2)
