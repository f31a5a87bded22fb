"""Tests of sql.tokenizer: SQLite's token rules, keywords, sqlite3_complete.

Each rule is checked on examples; the keyword list and ``complete_statement``
are checked differentially against the stdlib sqlite3 library, and illegal
tokens against the messages ``sqlite3_prepare`` gives for them.
"""
from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings, strategies as st

from sql.tokenizer import (
    FALLBACK_ID, KEYWORDS, complete_statement, scan, tokenize,
)
from test_parser_oracle import ours, sqlite_keywords, sqlite_prepare


def kinds(sql: str) -> list[tuple[str, str]]:
    return [(t.type, t.text) for t in tokenize(sql)[:-1]]


def test_keywords_are_sqlites():
    assert sorted(KEYWORDS) == sorted(sqlite_keywords())
    assert len(KEYWORDS) == 147


def test_fallback_keywords_work_as_names():
    # every fallback keyword can be an alias after AS (nm), every other one not
    for word, ttype in KEYWORDS.items():
        msg, _ = sqlite_prepare(f"SELECT 1 AS {word}")
        nm_ok = ttype in FALLBACK_ID or ttype in ("JOIN_KW", "INDEXED") or word in (
            "FILTER", "OVER", "WINDOW")
        assert (msg is None) == nm_ok, word


def test_whitespace_and_comments():
    assert kinds(" \t\n\f\r a /* c */ b -- d\n c") == [("ID", "a"), ("ID", "b"), ("ID", "c")]
    assert [t.type for t in scan("a /* x */b--y")] == ["ID", "SPACE", "COMMENT", "ID",
                                                        "COMMENT", "EOF"]
    # unterminated block comment runs to the end; "/*/" does not close
    assert kinds("a /* never closed") == [("ID", "a")]
    assert kinds("a /*/ b") == [("ID", "a")]
    assert kinds("a /**/ b") == [("ID", "a"), ("ID", "b")]
    assert kinds("a /*") == [("ID", "a"), ("SLASH", "/"), ("STAR", "*")]  # SQLite's rule
    assert kinds("a /*x") == [("ID", "a")]
    # \v continues whitespace but cannot start it; the BOM is whitespace
    assert kinds("a \v b") == [("ID", "a"), ("ID", "b")]
    assert kinds("\vb") == [("ILLEGAL", "\v"), ("ID", "b")]
    assert kinds("\ufeffSELECT \ufeff1") == [("SELECT", "SELECT"), ("INTEGER", "1")]


def test_identifiers():
    assert kinds('abc _x $ "a""b" [x y] `q``r` été a$1') == [
        ("ID", "abc"), ("ID", "_x"), ("ILLEGAL", "$"), ("ID", '"a""b"'), ("ID", "[x y]"),
        ("ID", "`q``r`"), ("ID", "été"), ("ID", "a$1")]
    # a keyword only if the whole run is one, ASCII case-insensitively
    assert kinds("select SeLeCt selectx select1") == [
        ("SELECT", "select"), ("SELECT", "SeLeCt"), ("ID", "selectx"), ("ID", "select1")]
    # Unicode case folding must not create keywords ("ſelect".upper() == "SELECT")
    assert kinds("ſelect") == [("ID", "ſelect")]
    assert kinds("left Cross NATURAL glob regexp like current_date temporary column") == [
        ("JOIN_KW", "left"), ("JOIN_KW", "Cross"), ("JOIN_KW", "NATURAL"),
        ("LIKE_KW", "glob"), ("LIKE_KW", "regexp"), ("LIKE_KW", "like"),
        ("CTIME_KW", "current_date"), ("TEMP", "temporary"), ("COLUMNKW", "column")]


def test_strings_and_blobs():
    assert kinds("'it''s' '' x'0aFF' X''") == [
        ("STRING", "'it''s'"), ("STRING", "''"), ("BLOB", "x'0aFF'"), ("BLOB", "X''")]
    assert kinds("x'ABC' 1") == [("ILLEGAL", "x'ABC'"), ("INTEGER", "1")]
    assert kinds("x'AG' 1") == [("ILLEGAL", "x'AG'"), ("INTEGER", "1")]
    assert kinds("x'AB") == [("ILLEGAL", "x'AB")]
    assert kinds("'abc") == [("ILLEGAL", "'abc")]
    # no backtracking: three quotes are one unterminated token, not '' and '
    assert kinds("''' x") == [("ILLEGAL", "''' x")]
    assert kinds('""" x') == [("ILLEGAL", '""" x')]
    assert kinds("'a''' ``````") == [("STRING", "'a'''"), ("ID", "``````")]
    assert kinds("xy'a'") == [("ID", "xy"), ("STRING", "'a'")]


def test_numbers():
    assert kinds("123 1.5 .5 1. 1e10 1.5E-3 1e+2 0x1F 0XaB") == [
        ("INTEGER", "123"), ("FLOAT", "1.5"), ("FLOAT", ".5"), ("FLOAT", "1."),
        ("FLOAT", "1e10"), ("FLOAT", "1.5E-3"), ("FLOAT", "1e+2"), ("INTEGER", "0x1F"),
        ("INTEGER", "0XaB")]
    # glued identifier characters make a decimal number illegal; not a hex one
    assert kinds("123abc 1e5x 1e 0x1Fg 0xg") == [
        ("ILLEGAL", "123abc"), ("ILLEGAL", "1e5x"), ("ILLEGAL", "1e"), ("INTEGER", "0x1F"),
        ("ID", "g"), ("ILLEGAL", "0xg")]
    assert kinds("1.5.3 a.b") == [("FLOAT", "1.5"), ("FLOAT", ".3"), ("ID", "a"), ("DOT", "."),
                                  ("ID", "b")]
    # Unicode digits are not digits to SQLite
    assert kinds("١٢") == [("ID", "١٢")]


def test_parameters():
    assert kinds("? ?12 :a @b $c #d $a::b(c) :a::b $x(y z)") == [
        ("VARIABLE", "?"), ("VARIABLE", "?12"), ("VARIABLE", ":a"), ("VARIABLE", "@b"),
        ("VARIABLE", "$c"), ("VARIABLE", "#d"), ("VARIABLE", "$a::b(c)"),
        ("VARIABLE", ":a::b"), ("ILLEGAL", "$x(y"), ("ID", "z"), ("RP", ")")]
    assert kinds(": @ $(") == [("ILLEGAL", ":"), ("ILLEGAL", "@"), ("ILLEGAL", "$"),
                               ("LP", "(")]


def test_operators():
    text = "- ( ) ; + * / % = == < <= <> << > >= >> != , & ~ | || . -> ->>"
    assert [t for t, _ in kinds(text)] == [
        "MINUS", "LP", "RP", "SEMI", "PLUS", "STAR", "SLASH", "REM", "EQ", "EQ", "LT", "LE",
        "NE", "LSHIFT", "GT", "GE", "RSHIFT", "NE", "COMMA", "BITAND", "BITNOT", "BITOR",
        "CONCAT", "DOT", "PTR", "PTR"]
    assert kinds("! \\ ^ { } ]") == [("ILLEGAL", c) for c in "!\\^{}]"]
    assert kinds("a--b\nc") == [("ID", "a"), ("ID", "c")]


def test_offsets_and_eof():
    toks = tokenize("  SELECT  x\n,'y'")
    assert [(t.text, t.pos, t.end) for t in toks] == [
        ("SELECT", 2, 8), ("x", 10, 11), (",", 12, 13), ("'y'", 13, 16), ("", 16, 16)]
    assert toks[-1].type == "EOF"
    # NUL ends the text, as it does for SQLite
    assert kinds("a\0b") == [("ID", "a")]
    assert tokenize("a\0b")[-1].pos == 1
    assert [t.pos for t in tokenize("xx yy", 3)] == [3, 5]


def test_window_over_filter_are_contextual():
    assert [t.type for t in tokenize("count(*) over (w) filter")][4:6] == ["OVER", "LP"]
    assert tokenize("count(*) over (w) filter")[-2].type == "ID"
    assert [t.type for t in tokenize("f(x) filter (where 1)")][4] == "FILTER"
    assert [t.type for t in tokenize("f(x) over w")][4] == "OVER"
    assert [t.type for t in tokenize("f(x) over 'w'")][4] == "OVER"
    assert [t.type for t in tokenize("a over (w)")][1] == "ID"
    assert [t.type for t in tokenize("x window w as (")][1] == "WINDOW"
    assert [t.type for t in tokenize("x window w")][1] == "ID"
    assert [t.type for t in tokenize("x window as (")][1] == "ID"


@pytest.mark.parametrize("sql", [
    "SELECT 'abc", 'SELECT "abc', "SELECT [abc", "SELECT `abc", "SELECT x'ABC'", "SELECT x'GG'",
    "SELECT 123abc", "SELECT 1 ! 2", "SELECT $", "SELECT $a(b", "SELECT 1e", "SELECT \\",
    "SELECT 1 FROM t1 WHERE a = 'x", "SELECT :", "SELECT \x01",
])
def test_illegal_tokens_match_sqlite(sql):
    assert ours(sql) == sqlite_prepare(sql)


def test_complete_statement_examples():
    assert not complete_statement("")
    assert complete_statement(";")
    assert complete_statement("SELECT 1;")
    assert not complete_statement("SELECT 1")
    assert not complete_statement("SELECT ';")
    assert complete_statement("SELECT ';';")
    assert not complete_statement("CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1;")
    assert complete_statement("CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; END;")
    assert complete_statement("CREATE TEMP TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; END ;")
    assert complete_statement("SELECT 1; -- comment")
    assert not complete_statement("SELECT 1; /* open")


_PIECES = [";", "'", '"', "[", "]", "`", "/*", "*/", "--", "\n", " ", "end", "END", "create",
           "CREATE", "temp", "TEMPORARY", "trigger", "TRIGGER", "explain", "EXPLAIN", "x", "1",
           "select", "begin", "(", ")", "-", "/", "*", "endx", "$end", "\t", "\v", "é", "_end"]


@settings(max_examples=800, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=14))
def test_complete_statement_matches_sqlite(pieces):
    sql = "".join(pieces)
    assert complete_statement(sql) == sqlite3.complete_statement(sql)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_complete_statement_on_any_text(sql):
    sql = sql.replace("\0", "")
    try:
        expected = sqlite3.complete_statement(sql)
    except UnicodeEncodeError:  # lone surrogates cannot reach SQLite
        return
    assert complete_statement(sql) == expected


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60))
def test_tokenize_any_text(sql):
    toks = scan(sql)
    assert toks[-1].type == "EOF"
    text = sql.split("\0")[0]
    # tokens tile the text: nothing lost, nothing invented
    assert "".join(t.text for t in toks) == text
    pos = 0
    for t in toks:
        assert t.pos == pos
        pos = t.end
