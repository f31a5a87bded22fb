"""The 100-byte database header: parse/serialize round trips on files made by
sqlite3, every validation rule, and new_database_page1 accepted by sqlite3."""
from __future__ import annotations

import sqlite3

import pytest

from storage.errors import NotADatabaseError, NotSupportedError, ReadOnlyError
from storage.header import (
    MAGIC,
    SQLITE_VERSION_NUMBER,
    DatabaseHeader,
    lock_byte_page,
    new_database_page1,
)
from storage.pager import Pager


def _make_db(path, page_size=4096, reserved=0, wal=False, rows=20):
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA page_size={page_size}")
    if wal:
        con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t(a, b)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [(i, "x" * i) for i in range(rows)])
    con.execute("PRAGMA user_version=-7")
    con.execute("PRAGMA application_id=123456")
    con.commit()
    con.close()
    data = bytearray(open(path, "rb").read())
    if reserved:
        # sqlite3's Python module cannot set reserved bytes; a header-only edit of
        # an empty database is enough for parse tests
        data[20] = reserved
    return bytes(data)


@pytest.mark.parametrize("page_size", [512, 1024, 4096, 65536])
@pytest.mark.parametrize("wal", [False, True])
def test_round_trip_sqlite3_files(tmp_path, page_size, wal):
    raw = _make_db(tmp_path / "a.db", page_size=page_size, wal=wal)
    h = DatabaseHeader.parse(raw)
    assert h.page_size == page_size
    assert h.serialize() == raw[:100]
    assert h.is_wal == wal
    assert (h.write_version, h.read_version) == ((2, 2) if wal else (1, 1))
    con = sqlite3.connect(tmp_path / "a.db")
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    cookie = con.execute("PRAGMA schema_version").fetchone()[0]
    con.close()
    assert h.db_size == pages and h.db_size_valid
    assert h.schema_cookie == cookie
    assert h.user_version == -7 and h.application_id == 123456
    assert h.text_encoding == 1 and h.schema_format == 4
    assert h.usable_size == page_size
    assert h.sqlite_version == SQLITE_VERSION_NUMBER  # we are tested against 3.40.1


def test_fresh_sqlite3_file_with_no_schema_parses(tmp_path):
    """sqlite3 leaves schema format 0 and text encoding 0 until the first schema write."""
    p = tmp_path / "a.db"
    con = sqlite3.connect(p)
    con.execute("PRAGMA user_version=1")
    con.commit()
    con.close()
    raw = open(p, "rb").read()
    h = DatabaseHeader.parse(raw)
    assert h.schema_format == 0 and h.text_encoding == 0
    assert h.serialize() == raw[:100]


def _base() -> bytearray:
    return bytearray(new_database_page1(4096)[:100])


def _set(buf, off, value: bytes):
    buf = bytearray(buf)
    buf[off:off + len(value)] = value
    return bytes(buf)


@pytest.mark.parametrize("mutate", [
    lambda b: _set(b, 0, b"SQLite format 2\x00"),        # magic
    lambda b: _set(b, 16, (1000).to_bytes(2, "big")),      # not a power of two
    lambda b: _set(b, 16, (256).to_bytes(2, "big")),       # too small
    lambda b: _set(b, 16, (0).to_bytes(2, "big")),
    lambda b: _set(b, 19, b"\x03"),                        # read version from the future
    lambda b: _set(b, 19, b"\x00"),
    lambda b: _set(_set(b, 16, (512).to_bytes(2, "big")), 20, bytes([40])),  # usable < 480
    lambda b: _set(b, 21, b"\x41"),                        # payload fractions
    lambda b: _set(b, 22, b"\x21"),
    lambda b: _set(b, 23, b"\x1f"),
    lambda b: _set(b, 56, (4).to_bytes(4, "big")),         # no such text encoding
    lambda b: bytes(b[:99]),                               # short
])
def test_validation_not_a_database(mutate):
    with pytest.raises(NotADatabaseError):
        DatabaseHeader.parse(mutate(_base()))


def test_reserved_bytes_limit_uses_usable_size():
    b = _base()
    b[16:18] = (512).to_bytes(2, "big")
    b[20] = 33  # usable 479
    with pytest.raises(NotADatabaseError):
        DatabaseHeader.parse(bytes(b))
    b[20] = 32  # usable 480: allowed
    assert DatabaseHeader.parse(bytes(b)).usable_size == 480


@pytest.mark.parametrize("enc,name", [(2, "UTF-16le"), (3, "UTF-16be")])
def test_utf16_is_a_clear_not_supported_error(enc, name):
    b = _base()
    b[56:60] = enc.to_bytes(4, "big")
    with pytest.raises(NotSupportedError, match=name):
        DatabaseHeader.parse(bytes(b))


def test_schema_format_5_not_supported():
    b = _base()
    b[44:48] = (5).to_bytes(4, "big")
    with pytest.raises(NotSupportedError, match="unsupported file format"):
        DatabaseHeader.parse(bytes(b))


def test_page_size_65536_stored_as_1():
    page = new_database_page1(65536)
    assert page[16:18] == b"\x00\x01"
    h = DatabaseHeader.parse(page)
    assert h.page_size == 65536
    assert h.serialize()[16:18] == b"\x00\x01"
    # an empty leaf whose content area starts at 65536 stores 0
    assert page[105:107] == b"\x00\x00"


def test_parse_without_validation_keeps_odd_values():
    b = _base()
    b[19] = 9
    h = DatabaseHeader.parse(bytes(b), validate=False)
    assert h.read_version == 9
    assert h.serialize() == bytes(b)


def test_utf16_database_made_by_sqlite3_is_refused_clearly(tmp_path):
    p = tmp_path / "u.db"
    con = sqlite3.connect(p)
    con.execute("PRAGMA encoding='UTF-16le'")
    con.execute("CREATE TABLE t(a)")
    con.commit()
    con.close()
    with pytest.raises(NotSupportedError, match="unsupported text encoding: UTF-16le"):
        Pager.open(str(p))
    # the refusal left the file usable for sqlite3 (lock released, nothing written)
    con = sqlite3.connect(p)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


def test_write_version_from_the_future_opens_read_only(tmp_path):
    p = tmp_path / "a.db"
    _make_db(p)
    data = bytearray(open(p, "rb").read())
    data[18] = 3
    open(p, "wb").write(data)
    pager = Pager.open(str(p))
    try:
        assert pager.readonly
        r = pager.begin_read()
        assert r.page(1).data[:16] == MAGIC
        r.end()
        with pytest.raises(ReadOnlyError):
            pager.begin_write()
    finally:
        pager.close()
    assert open(p, "rb").read() == bytes(data)


@pytest.mark.parametrize("page_size,reserved", [(512, 0), (1024, 8), (4096, 0), (8192, 32),
                                                (65536, 0), (65536, 255)])
def test_new_database_page1_is_accepted_by_sqlite3(tmp_path, page_size, reserved):
    page = new_database_page1(page_size, reserved)
    assert len(page) == page_size
    h = DatabaseHeader.parse(page)
    assert (h.page_size, h.reserved_bytes, h.write_version, h.read_version) == \
        (page_size, reserved, 2, 2)
    assert h.schema_format == 4 and h.text_encoding == 1
    assert h.db_size == 1 and h.db_size_valid
    assert h.sqlite_version == 3040001
    assert page[100] == 13 and page[101:107] == b"\x00" * 4 + (
        b"\x00\x00" if page_size - reserved == 65536
        else (page_size - reserved).to_bytes(2, "big"))
    p = tmp_path / "n.db"
    p.write_bytes(page)
    con = sqlite3.connect(p)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("PRAGMA page_size").fetchone()[0] == page_size
    assert con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    con.execute("CREATE TABLE t(a)")
    con.executemany("INSERT INTO t VALUES (?)", [("y" * 300,)] * 50)
    con.commit()
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


def test_new_database_page1_rejects_bad_arguments():
    with pytest.raises(NotADatabaseError):
        new_database_page1(1000)
    with pytest.raises(NotADatabaseError):
        new_database_page1(512, 40)


def test_lock_byte_page():
    assert lock_byte_page(4096) == 262145
    assert lock_byte_page(512) == 2097153
    assert lock_byte_page(65536) == 16385
