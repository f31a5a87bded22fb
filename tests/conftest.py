"""Shared test helpers: opt-in slow tests, and a raw-bytes ReadTxn.

``RawTxn`` is a minimal implementation of ``storage.api.ReadTxn`` over the
bytes of a rollback-journal database file (as written by stdlib ``sqlite3``):
no WAL, no cache. It lets tests of the checker and inspector run on exactly
the bytes sqlite3 wrote, independently of the pager. ``raw_txn`` is the
fixture form (``raw_txn(path_or_bytes)``).
"""
from __future__ import annotations

import os
import shutil
import sqlite3

import pytest

from storage.api import Page
from storage.errors import CorruptError, NotADatabaseError


def pytest_collection_modifyitems(config, items):
    """``@pytest.mark.slow`` tests are opt-in: deselected unless MVLITE_SLOW=1.

    Deselected, not skipped: the default run reports only what it ran, and
    ``MVLITE_SLOW=1 python -m pytest`` runs everything.
    """
    if shutil.which("sqlite3") is None:
        # The sqlite3 command-line shell is the oracle for the mvlite shell's output
        # formats; it is a Debian package (apt-get install sqlite3), not a pip one.
        cli = [item for item in items if "sqlite3_cli" in item.keywords]
        if cli:
            items[:] = [item for item in items if "sqlite3_cli" not in item.keywords]
            config.hook.pytest_deselected(items=cli)
            config._mvlite_no_cli = len(cli)  # type: ignore[attr-defined]
    if os.environ.get("MVLITE_SLOW") == "1":
        return
    slow = [item for item in items if "slow" in item.keywords]
    if slow:
        items[:] = [item for item in items if "slow" not in item.keywords]
        config.hook.pytest_deselected(items=slow)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    n = getattr(config, "_mvlite_no_cli", 0)
    if n:
        terminalreporter.write_line(
            f"mvlite: {n} shell tests that compare with the sqlite3 CLI were deselected: "
            "the `sqlite3` program is not installed (apt-get install sqlite3).", yellow=True)


class RawTxn:
    """ReadTxn over a rollback-mode database image held in memory."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 100 or data[:16] != b"SQLite format 3\x00":
            raise NotADatabaseError()
        ps = int.from_bytes(data[16:18], "big")
        self.page_size = 65536 if ps == 1 else ps
        if self.page_size < 512 or self.page_size & (self.page_size - 1):
            raise NotADatabaseError()
        self.usable_size = self.page_size - data[20]
        self._data = bytes(data)
        self.db_size = len(data) // self.page_size
        change, hsize, valid_for = (int.from_bytes(data[o:o + 4], "big") for o in (24, 28, 92))
        if hsize and change == valid_for and hsize <= self.db_size:
            self.db_size = hsize

    @classmethod
    def from_file(cls, path) -> "RawTxn":
        with open(path, "rb") as f:
            return cls(f.read())

    def page(self, pgno: int) -> Page:
        if pgno < 1 or pgno > self.db_size:
            raise CorruptError(detail=f"page {pgno} out of range 1..{self.db_size}")
        ps = self.page_size
        return Page(pgno, self._data[(pgno - 1) * ps:pgno * ps])

    def end(self) -> None:
        pass


@pytest.fixture
def raw_txn():
    """Factory: ``raw_txn(path)`` or ``raw_txn(bytes)`` -> RawTxn."""
    def make(src):
        if isinstance(src, (bytes, bytearray)):
            return RawTxn(bytes(src))
        return RawTxn.from_file(src)
    return make


def sqlite_integrity(path) -> list[str]:
    """What stdlib sqlite3 thinks of the file (['ok'] when sound)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    con.text_factory = lambda b: b.decode("utf-8", "replace")
    try:
        rows = [r[0] for r in con.execute("PRAGMA integrity_check")]
        # b-tree problems come as one row of newline-separated lines after a banner
        return [ln for r in rows for ln in r.split("\n") if ln != "*** in database main ***"]
    except (sqlite3.DatabaseError, MemoryError, UnicodeError) as e:
        return [f"sqlite3 error: {type(e).__name__}: {e}"]
    finally:
        con.close()


@pytest.fixture
def sqlite_check():
    """Factory: ``sqlite_check(path)`` -> sqlite3's PRAGMA integrity_check lines."""
    return sqlite_integrity
