"""The 100-byte database header at the start of page 1: parse, validate, build.

This module's single job is the header's bytes; it does no I/O. The format is
section 1.3 "The Database Header" of SQLite's "Database File Format" document
(https://www.sqlite.org/fileformat2.html). Validation follows what SQLite's
``lockBtree()`` refuses, so a file that ``sqlite3`` would call "not a
database" is refused here too, with the same typed errors.

Public surface: ``DatabaseHeader`` (``parse``, ``serialize``, ``usable_size``,
``db_size_valid``), ``new_database_page1(page_size, reserved)``,
``SQLITE_VERSION_NUMBER``, ``MAGIC``, ``HEADER_SIZE``.
"""
from __future__ import annotations

import struct

import attrs

from storage.errors import NotADatabaseError, NotSupportedError

__all__ = ["DatabaseHeader", "new_database_page1", "MAGIC", "HEADER_SIZE",
           "SQLITE_VERSION_NUMBER", "lock_byte_page"]

MAGIC = b"SQLite format 3\x00"
HEADER_SIZE = 100
#: what we write at offset 96 (the sqlite3 library we are compatible with: 3.40.1)
SQLITE_VERSION_NUMBER = 3040001

# The database header (all integers big-endian):
#
#   offset size  meaning                                        field
#   0      16    "SQLite format 3\0"                            (magic)
#   16     2     page size; 1 means 65536                       page_size
#   18     1     file format write version: 1 legacy, 2 WAL     write_version
#   19     1     file format read version: 1 legacy, 2 WAL      read_version
#   20     1     bytes reserved at the end of each page         reserved_bytes
#   21     1     max embedded payload fraction, must be 64      max_payload_fraction
#   22     1     min embedded payload fraction, must be 32      min_payload_fraction
#   23     1     leaf payload fraction, must be 32              leaf_payload_fraction
#   24     4     file change counter                            change_counter
#   28     4     database size in pages ("in-header size")      db_size
#   32     4     first freelist trunk page (0 = none)           freelist_trunk
#   36     4     total number of freelist pages                 freelist_count
#   40     4     schema cookie                                  schema_cookie
#   44     4     schema format number (1..4; 0 = empty db)      schema_format
#   48     4     default page cache size (signed)               default_cache_size
#   52     4     largest root page (auto/incremental vacuum)    largest_root_page
#   56     4     text encoding: 1 UTF-8, 2 UTF-16le, 3 UTF-16be text_encoding
#   60     4     user version (signed, PRAGMA user_version)     user_version
#   64     4     incremental-vacuum mode (non-zero = on)        incremental_vacuum
#   68     4     application id (signed)                        application_id
#   72     20    reserved for expansion, zero                   reserved_expansion
#   92     4     version-valid-for: change counter at last write version_valid_for
#   96     4     SQLITE_VERSION_NUMBER of the last writer       sqlite_version
_HEADER = struct.Struct(">16sHBBBBBBIIIIIIiIIiIi20sII")
assert _HEADER.size == HEADER_SIZE

_ENCODING_NAMES = {2: "UTF-16le", 3: "UTF-16be"}


def lock_byte_page(page_size: int) -> int:
    """The page holding byte offset 0x40000000 (SQLite never stores data there)."""
    return 0x40000000 // page_size + 1


@attrs.define(slots=True)
class DatabaseHeader:
    """Every field of the 100-byte header, decoded (``page_size`` is the real size)."""

    page_size: int = 4096
    write_version: int = 2
    read_version: int = 2
    reserved_bytes: int = 0
    max_payload_fraction: int = 64
    min_payload_fraction: int = 32
    leaf_payload_fraction: int = 32
    change_counter: int = 1
    db_size: int = 1
    freelist_trunk: int = 0
    freelist_count: int = 0
    schema_cookie: int = 0
    schema_format: int = 4
    default_cache_size: int = 0
    largest_root_page: int = 0
    text_encoding: int = 1
    user_version: int = 0
    incremental_vacuum: int = 0
    application_id: int = 0
    reserved_expansion: bytes = bytes(20)
    version_valid_for: int = 1
    sqlite_version: int = SQLITE_VERSION_NUMBER

    @property
    def usable_size(self) -> int:
        """Page size minus the reserved bytes: what the B-tree layer may use."""
        return self.page_size - self.reserved_bytes

    @property
    def db_size_valid(self) -> bool:
        """SQLite trusts the in-header size only if written by a 3.7.0+ writer.

        That is: non-zero and the change counter equals version-valid-for.
        Otherwise the size is the file size divided by the page size.
        """
        return self.db_size != 0 and self.change_counter == self.version_valid_for

    @property
    def is_wal(self) -> bool:
        """Bytes 18/19 say WAL mode."""
        return self.read_version == 2 and self.write_version == 2

    @property
    def write_forbidden(self) -> bool:
        """A write version above 2 means a newer format: SQLite opens it read-only."""
        return self.write_version > 2

    @property
    def auto_vacuum(self) -> bool:
        """Auto- or incremental-vacuum database (has pointer-map pages)."""
        return self.largest_root_page != 0

    @classmethod
    def parse(cls, buf: bytes | bytearray | memoryview, *, validate: bool = True) -> DatabaseHeader:
        """Decode the first 100 bytes of ``buf``.

        With ``validate`` (the default) refuse what SQLite refuses:
        ``NotADatabaseError`` for a bad magic, page size, read version,
        reserved size or payload fractions; ``NotSupportedError`` for UTF-16
        text or a schema format above 4.
        """
        if len(buf) < HEADER_SIZE:
            raise NotADatabaseError()
        f = _HEADER.unpack_from(buf, 0)
        if validate and f[0] != MAGIC:
            raise NotADatabaseError()
        raw_ps = f[1]
        page_size = 65536 if raw_ps == 1 else raw_ps
        h = cls(page_size, *f[2:20], bytes(f[20]), f[21], f[22])
        if validate:
            h.validate()
        return h

    def validate(self) -> None:
        """Raise the error SQLite would give for this header (see ``parse``)."""
        ps = self.page_size
        if ps < 512 or ps > 65536 or ps & (ps - 1):
            raise NotADatabaseError()
        # Read version > 2: a future format we cannot even read. 0 never occurs.
        if not 1 <= self.read_version <= 2 or self.write_version < 1:
            raise NotADatabaseError()
        if ps - self.reserved_bytes < 480:
            raise NotADatabaseError()
        if (self.max_payload_fraction, self.min_payload_fraction,
                self.leaf_payload_fraction) != (64, 32, 32):
            raise NotADatabaseError()
        enc = self.text_encoding
        # 0: no schema written yet (a fresh sqlite3 database) = the default, UTF-8.
        if enc in _ENCODING_NAMES:
            raise NotSupportedError(f"unsupported text encoding: {_ENCODING_NAMES[enc]}")
        if enc > 3:
            raise NotADatabaseError()
        # 0 is what sqlite3 leaves in a database that has no schema yet.
        if self.schema_format > 4:
            raise NotSupportedError("unsupported file format")

    def serialize(self) -> bytes:
        """The 100 header bytes (page size 65536 stored as 1)."""
        ps = 1 if self.page_size == 65536 else self.page_size
        exp = self.reserved_expansion
        if len(exp) != 20:
            exp = bytes(exp[:20]).ljust(20, b"\x00")
        return _HEADER.pack(
            MAGIC, ps, self.write_version, self.read_version, self.reserved_bytes,
            self.max_payload_fraction, self.min_payload_fraction, self.leaf_payload_fraction,
            self.change_counter, self.db_size, self.freelist_trunk, self.freelist_count,
            self.schema_cookie, self.schema_format, self.default_cache_size,
            self.largest_root_page, self.text_encoding, self.user_version,
            self.incremental_vacuum, self.application_id, exp,
            self.version_valid_for, self.sqlite_version)


# An empty table-leaf b-tree page header (sqlite_schema's root), at offset 100 of page 1:
#
#   offset size  meaning
#   0      1     page type: 13 = table leaf
#   1      2     first freeblock (0 = none)
#   3      2     number of cells
#   5      2     start of the cell content area (0 means 65536)
#   7      1     fragmented free bytes
_LEAF_HEADER = struct.Struct(">BHHHB")


def new_database_page1(page_size: int = 4096, reserved: int = 0) -> bytes:
    """A complete page 1 of an empty database in WAL mode (schema format 4, UTF-8).

    In-header size 1 and change counter == version-valid-for, so every reader
    (ours and SQLite) trusts the size; the empty sqlite_schema leaf's content
    area starts at the usable size.
    """
    if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        raise NotADatabaseError()
    if not 0 <= reserved <= 255 or page_size - reserved < 480:
        raise NotADatabaseError()
    hdr = DatabaseHeader(page_size=page_size, reserved_bytes=reserved)
    usable = page_size - reserved
    buf = bytearray(page_size)
    buf[:HEADER_SIZE] = hdr.serialize()
    _LEAF_HEADER.pack_into(buf, HEADER_SIZE, 13, 0, 0, 0 if usable == 65536 else usable, 0)
    return bytes(buf)
