"""The contracts between the storage modules, and what the layers above rely on.

Small on purpose (SQLite's ``pager.h`` is the model): the ``File``/``VFS``
protocols that ``io`` implements, the ``Page`` container that the page cache
holds, and the ``ReadTxn``/``WriteTxn`` protocols that ``pager`` implements and
that ``btree``, ``freelist`` and ``integrity`` consume. Nothing here does I/O.

Snapshot rule: a ``ReadTxn`` sees the database exactly as of the WAL read mark
(last commit frame) that was current when it began, however many frames are
appended later. A ``WriteTxn`` always starts from the newest committed state;
at most one exists at a time per database (the pager's writer slot).
"""
from __future__ import annotations

from typing import Any, Protocol


class Page:
    """One page's bytes plus the B-tree layer's decoded view of them.

    ``data`` is ``bytes`` for a committed page shared through the page cache
    (never mutated), or a private ``bytearray`` for a page dirtied by a
    ``WriteTxn``. ``cells`` belongs to ``btree``: it caches the decoded cells
    (keys, child pointers, record tuples) so hot pages are decoded once; whoever
    mutates ``data`` must set ``cells = None``.
    """

    __slots__ = ("pgno", "data", "cells")

    def __init__(self, pgno: int, data: bytes | bytearray) -> None:
        self.pgno = pgno
        self.data = data
        self.cells: Any = None

    def __repr__(self) -> str:
        kind = "dirty" if isinstance(self.data, bytearray) else "clean"
        return f"<Page {self.pgno} {kind} {len(self.data)}B>"


class File(Protocol):
    """An open file. Offsets are absolute; errors are ``storage.errors`` types."""

    path: str

    def read(self, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes at ``offset``; fewer only at end of file."""

    def write(self, offset: int, data: bytes) -> None:
        """Write all of ``data`` at ``offset`` (extending the file if needed)."""

    def sync(self) -> None:
        """Make every completed write durable (fsync)."""

    def size(self) -> int: ...

    def truncate(self, size: int) -> None: ...

    def lock_exclusive(self) -> None:
        """Take SQLite's lock bytes so other processes see "database is locked".

        Raises ``BusyError`` if another process holds any of them.
        """

    def unlock(self) -> None: ...

    def close(self) -> None: ...


class VFS(Protocol):
    """Where files come from: real disk, memory, or the fault injector."""

    def open(self, path: str, *, create: bool = True, readonly: bool = False) -> File: ...

    def exists(self, path: str) -> bool: ...

    def delete(self, path: str) -> None: ...

    def realpath(self, path: str) -> str: ...


class ReadTxn(Protocol):
    """A consistent snapshot of the pages, pinned at a WAL read mark."""

    page_size: int
    #: page_size minus the reserved bytes at the end of each page (header offset 20)
    usable_size: int
    #: number of pages in the database as of this snapshot
    db_size: int

    def page(self, pgno: int) -> Page:
        """The page as of this snapshot. ``CorruptError`` if pgno is 0 or > db_size."""

    def end(self) -> None:
        """Release the read mark (idempotent)."""


class WriteTxn(ReadTxn, Protocol):
    """The single writer: copy-on-write pages, committed as one WAL transaction."""

    def writable(self, pgno: int) -> Page:
        """This txn's private, mutable copy of the page (``data`` is a bytearray).

        Later ``page(pgno)`` calls return the same object. After mutating
        ``data`` the caller sets ``page.cells = None``.
        """

    def append_page(self) -> Page:
        """Grow the database by one zero-filled page and return it (writable).

        Only ``freelist.allocate`` should call this; it reuses free pages first.
        """

    def truncate(self, n_pages: int) -> None:
        """Shrink the database to ``n_pages`` (pages past it are forgotten)."""

    def commit(self) -> None:
        """Append the dirty pages to the WAL as one transaction (one commit frame)
        and fsync per ``synchronous``; returns when durable under that mode."""

    def rollback(self) -> None:
        """Forget every change; nothing reaches the file."""
