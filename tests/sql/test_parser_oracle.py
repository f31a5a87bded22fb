"""The syntax oracle for the parser tests: stdlib sqlite3's own ``prepare``.

``sqlite_prepare(sql)`` calls ``sqlite3_prepare_v2`` of the very library the
stdlib ``_sqlite3`` module is linked with (looked up through that module, so
it is the same SQLite 3.40 build), on an in-memory database holding the
tables of the sqllogictest corpus plus a few more. Nothing is executed, so
DDL, transactions, ATTACH and VACUUM can be checked without side effects.
``verdict(sql)`` compares our ``parse_first`` with it under the rules of the
brief (see ``agree``). The tests at the bottom check the oracle itself.
Other test modules import this one (``from test_parser_oracle import ...``).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sqlite3

import _sqlite3

from sql.errors import ParseError
from sql.parser import parse_first

CORPUS = "/work/shared/conformance/sqllogictest"
SYNTAX_MARKERS = ("syntax error", "incomplete input", "unrecognized token")

# Tables the corpus uses, and a few for DDL/trigger statements in the tests.
SCHEMA = """
CREATE TABLE t1(a INTEGER, b INTEGER, c INTEGER, d INTEGER, e INTEGER);
CREATE TABLE t2(a INTEGER, b INTEGER, c INTEGER);
CREATE TABLE t3(a INTEGER, b INTEGER, c INTEGER);
CREATE TABLE t4(a INTEGER, b INTEGER, c INTEGER);
CREATE TABLE t5(a INTEGER, b INTEGER, c INTEGER);
CREATE TABLE t6(a INTEGER, b INTEGER, c INTEGER);
CREATE TABLE t7(a INTEGER, b INTEGER, c INTEGER);
CREATE TABLE t8(a INTEGER, b INTEGER, c INTEGER);
CREATE TABLE t9(a INTEGER, b INTEGER, c INTEGER);
CREATE TABLE tab0(pk INTEGER PRIMARY KEY, col0 INTEGER, col1 FLOAT, col2 TEXT, col3 INTEGER, col4 FLOAT, col5 TEXT);
CREATE TABLE tab1(pk INTEGER PRIMARY KEY, col0 INTEGER, col1 FLOAT, col2 TEXT, col3 INTEGER, col4 FLOAT, col5 TEXT);
CREATE TABLE tab2(pk INTEGER PRIMARY KEY, col0 INTEGER, col1 FLOAT, col2 TEXT, col3 INTEGER, col4 FLOAT, col5 TEXT);
CREATE TABLE tab3(pk INTEGER PRIMARY KEY, col0 INTEGER, col1 FLOAT, col2 TEXT, col3 INTEGER, col4 FLOAT, col5 TEXT);
CREATE TABLE tab4(pk INTEGER PRIMARY KEY, col0 INTEGER, col1 FLOAT, col2 TEXT, col3 INTEGER, col4 FLOAT, col5 TEXT);
CREATE INDEX i1 ON t1(a);
CREATE VIEW v1 AS SELECT * FROM t1;
"""


def _load_library() -> ctypes.CDLL:
    """The SQLite that ``_sqlite3`` uses (its symbols resolve through it)."""
    for path in (_sqlite3.__file__, ctypes.util.find_library("sqlite3")):
        if not path:
            continue
        try:
            lib = ctypes.CDLL(path)
            lib.sqlite3_libversion.restype = ctypes.c_char_p
            if lib.sqlite3_libversion().decode() == sqlite3.sqlite_version:
                return lib
        except (OSError, AttributeError):
            continue
    raise RuntimeError("cannot reach the SQLite library of the sqlite3 module")


_lib = _load_library()
_lib.sqlite3_open.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
_lib.sqlite3_prepare_v2.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                    ctypes.POINTER(ctypes.c_void_p),
                                    ctypes.POINTER(ctypes.c_char_p)]
_lib.sqlite3_errmsg.restype = ctypes.c_char_p
_lib.sqlite3_errmsg.argtypes = [ctypes.c_void_p]
_lib.sqlite3_error_offset.argtypes = [ctypes.c_void_p]
_lib.sqlite3_finalize.argtypes = [ctypes.c_void_p]
_lib.sqlite3_exec.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p,
                              ctypes.c_void_p, ctypes.c_void_p]
_lib.sqlite3_keyword_name.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p),
                                      ctypes.POINTER(ctypes.c_int)]

_db = ctypes.c_void_p()
if _lib.sqlite3_open(b":memory:", ctypes.byref(_db)) != 0:  # pragma: no cover
    raise RuntimeError("sqlite3_open failed")
if _lib.sqlite3_exec(_db, SCHEMA.encode(), None, None, None) != 0:  # pragma: no cover
    raise RuntimeError("schema setup failed")


def sqlite_prepare(sql: str) -> tuple[str | None, int]:
    """(error message or None, error byte offset) of preparing the first statement."""
    raw = sql.encode("utf-8", "surrogatepass")
    stmt = ctypes.c_void_p()
    tail = ctypes.c_char_p()
    rc = _lib.sqlite3_prepare_v2(_db, raw, len(raw), ctypes.byref(stmt), ctypes.byref(tail))
    if stmt:
        _lib.sqlite3_finalize(stmt)
    if rc == 0:
        return None, -1
    return _lib.sqlite3_errmsg(_db).decode("utf-8", "replace"), _lib.sqlite3_error_offset(_db)


_lib.sqlite3_bind_parameter_count.argtypes = [ctypes.c_void_p]
_lib.sqlite3_bind_parameter_name.argtypes = [ctypes.c_void_p, ctypes.c_int]
_lib.sqlite3_bind_parameter_name.restype = ctypes.c_char_p


def sqlite_params(sql: str) -> tuple[str | None, ...]:
    """The parameter slots of the prepared first statement (name or None each)."""
    raw = sql.encode("utf-8")
    stmt = ctypes.c_void_p()
    tail = ctypes.c_char_p()
    rc = _lib.sqlite3_prepare_v2(_db, raw, len(raw), ctypes.byref(stmt), ctypes.byref(tail))
    assert rc == 0, sqlite_prepare(sql)
    try:
        n = _lib.sqlite3_bind_parameter_count(stmt)
        out = []
        for i in range(1, n + 1):
            name = _lib.sqlite3_bind_parameter_name(stmt, i)
            out.append(None if name is None else name.decode())
        return tuple(out)
    finally:
        _lib.sqlite3_finalize(stmt)


def sqlite_keywords() -> list[str]:
    """sqlite3_keyword_name(): the library's keyword list."""
    out = []
    for i in range(_lib.sqlite3_keyword_count()):
        p = ctypes.c_char_p()
        n = ctypes.c_int()
        _lib.sqlite3_keyword_name(i, ctypes.byref(p), ctypes.byref(n))
        out.append(ctypes.string_at(p, n.value).decode())
    return out


def is_syntax(msg: str | None) -> bool:
    return msg is not None and any(m in msg for m in SYNTAX_MARKERS)


def ours(sql: str) -> tuple[str | None, int]:
    """(message or None, byte offset) of our parse of the first statement.

    Anything but a ParseError propagates (and fails the calling test).
    """
    try:
        parse_first(sql)
    except ParseError as e:
        off = e.offset
        if off >= 0:
            off = len(sql[:off].encode("utf-8", "surrogatepass"))
        return str(e), off
    return None, -1


def agree(sql: str, exact: bool = True) -> str | None:
    """None if our parser and SQLite agree on ``sql``, else a description.

    Rules: SQLite accepts -> we accept. SQLite reports a syntax error ->
    we report one too (with ``exact``, the same message and offset).
    SQLite fails otherwise (no such table, ...) -> we accept, or raise some
    non-syntax parse-time error; a syntax error from us is allowed only if
    SQLite stopped before reading the whole statement (its error does not
    change when an unrecognizable token is appended), since SQLite stops at
    the first error of either kind.
    """
    msg, off = sqlite_prepare(sql)
    omsg, ooff = ours(sql)
    if msg is None:
        return None if omsg is None else f"sqlite accepts, ours: {omsg!r}@{ooff}"
    if is_syntax(msg):
        if omsg is None:
            return f"sqlite: {msg!r}@{off}, ours accepts"
        if exact and (omsg, ooff) != (msg, off):
            return f"sqlite: {msg!r}@{off}, ours: {omsg!r}@{ooff}"
        return None
    if omsg is None or not is_syntax(omsg):
        return None
    msg2, _ = sqlite_prepare(sql + "\n\x01")
    if msg2 == msg:
        return None  # SQLite gave up before the part we object to
    return f"sqlite: {msg!r} after parsing all of it, ours: {omsg!r}@{ooff}"


def corpus_files() -> list[str]:
    out = []
    for dirpath, _dirs, names in os.walk(CORPUS):
        for name in names:
            if name.endswith(".test"):
                out.append(os.path.join(dirpath, name))
    return sorted(out)


def corpus_records(path: str) -> list[tuple[int, str, str]]:
    """(line, 'ok'|'error', sql) of every statement/query record of a file.

    The SQL is the lines after the record header up to ``----`` or a blank
    line. Records conditioned ``onlyif <other engine>`` or ``skipif sqlite``
    are left out; ``halt`` ends the file.
    """
    with open(path, encoding="utf-8") as f:
        lines = [ln.rstrip("\r") for ln in f.read().split("\n")]
    out = []
    skip = False
    i = 0
    n = len(lines)
    while i < n:
        words = lines[i].split()
        if not words or words[0].startswith("#"):
            i += 1
            continue
        head = words[0]
        if head == "onlyif" or head == "skipif":
            if (head == "onlyif") != (len(words) > 1 and words[1] == "sqlite"):
                skip = True
            i += 1
            continue
        if head == "halt":
            if not skip:
                break
            skip = False
            i += 1
            continue
        if head in ("statement", "query"):
            kind = "error" if words[:2] == ["statement", "error"] else "ok"
            j = i + 1
            body = []
            while j < n and lines[j].strip() and lines[j] != "----":
                body.append(lines[j])
                j += 1
            if not skip:
                out.append((i + 2, kind, "\n".join(body)))
            skip = False
            while j < n and lines[j].strip():
                j += 1
            i = j
            continue
        skip = False
        i += 1
    return out


# -- the oracle's own tests ----------------------------------------------------

def test_oracle_is_the_stdlib_library():
    assert _lib.sqlite3_libversion().decode() == sqlite3.sqlite_version


def test_oracle_reports_syntax_and_semantic_errors():
    assert sqlite_prepare("SELECT 1") == (None, -1)
    assert sqlite_prepare("SELECT FROM") == ('near "FROM": syntax error', 7)
    assert sqlite_prepare("SELECT") == ("incomplete input", -1)
    assert sqlite_prepare("SELECT * FROM nosuch")[0] == "no such table: nosuch"
    assert sqlite_prepare("SELECT a FROM t1")[0] is None  # the schema is there
    assert is_syntax("unrecognized token: \"'a\"") and not is_syntax("no such table: x")


def test_oracle_prepares_without_executing():
    assert sqlite_prepare("CREATE TABLE zz(a)")[0] is None
    assert sqlite_prepare("CREATE TABLE zz(a)")[0] is None  # still not created
    assert sqlite_prepare("DROP TABLE t1")[0] is None
    assert sqlite_prepare("SELECT * FROM t1")[0] is None  # t1 still there


def test_agree_flags_disagreements():
    assert agree("SELECT 1") is None
    assert agree("SELECT 1 +") is None
    assert agree("SELECT * FROM nosuch") is None
    # a statement SQLite rejects semantically only after reading all of it
    assert sqlite_prepare("SELECT * FROM nosuch\n\x01")[0].startswith("unrecognized token")


def test_corpus_reader():
    recs = corpus_records(os.path.join(CORPUS, "evidence", "slt_lang_replace.test"))
    assert recs and all(kind in ("ok", "error") for _l, kind, _s in recs)
    assert any(s.startswith("REPLACE") for _l, _k, s in recs)
    assert all("----" not in s for _l, _k, s in recs)
    assert len(corpus_files()) == 24
