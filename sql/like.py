"""LIKE and GLOB pattern matching with SQLite's exact semantics.

Single job: the like() and glob() SQL functions (behind ``x LIKE y [ESCAPE z]``
and ``x GLOB y``), documented in SQLite's "SQL Language Expressions"
(lang_expr.html, "The LIKE, GLOB, REGEXP, MATCH, and extract operators") and
"Built-In Scalar SQL Functions" (lang_corefunc.html: like, glob).

LIKE: ``%`` matches any sequence, ``_`` one character; case-insensitive for
the 26 ASCII letters only (unless PRAGMA case_sensitive_like); an ESCAPE
character makes the next character literal (a trailing escape never matches);
if the escape is ``%`` or ``_`` that character stops being a wildcard.
GLOB: case-sensitive; ``*``, ``?``, and ``[...]`` / ``[^...]`` sets with
ranges, ``]`` first in a set is literal, an unterminated set never matches.
Both: NULL operands give NULL; a BLOB operand gives 0 (this SQLite build has
SQLITE_LIKE_DOESNT_MATCH_BLOBS); text is matched up to its first NUL;
patterns over 50000 bytes raise "LIKE or GLOB pattern too complex".

A pattern compiles (LRU-cached) into fixed-length pieces separated by ``%``/``*``;
matching is one anchored regex per end piece and a leftmost search per middle
piece, which is correct for such patterns and never backtracks exponentially.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable

from sql.values import text_bytes, to_text
from storage.errors import OperationalError

__all__ = ["like", "glob", "like_matcher", "glob_matcher", "check_pattern_length",
           "MAX_PATTERN_LENGTH"]

#: SQLITE_LIMIT_LIKE_PATTERN_LENGTH of this build
MAX_PATTERN_LENGTH = 50000

Matcher = Callable[[str], bool]


def _never(s: str) -> bool:
    return False


def _build(pieces: list[list[str]], flags: int) -> Matcher:
    """Matcher from pieces (lists of regex atoms, one atom per character)."""
    if len(pieces) == 1:
        rx = re.compile("".join(pieces[0]), flags)
        full = rx.fullmatch
        return lambda s: full(s) is not None
    head, mids, tail = pieces[0], [p for p in pieces[1:-1] if p], pieces[-1]
    head_rx = re.compile("".join(head), flags).match if head else None
    head_len = len(head)
    mid_rx = [re.compile("".join(p), flags).search for p in mids]
    tail_rx = re.compile("".join(tail), flags).match if tail else None
    tail_len = len(tail)

    def match(s: str) -> bool:
        if head_rx is not None and head_rx(s) is None:
            return False
        pos = head_len
        for search in mid_rx:
            m = search(s, pos)
            if m is None:
                return False
            pos = m.end()
        start = len(s) - tail_len
        if start < pos:
            return False
        return tail_rx is None or tail_rx(s, start) is not None
    return match


@lru_cache(maxsize=512)
def like_matcher(pattern: str, escape: str | None = None,
                 case_sensitive: bool = False) -> Matcher:
    """Compile a LIKE pattern (already text, cut at NUL) into ``str -> bool``."""
    match_all = "%" if escape != "%" else None
    match_one = "_" if escape != "_" else None
    pieces: list[list[str]] = [[]]
    cur = pieces[0]
    i, n = 0, len(pattern)
    esc = re.escape
    while i < n:
        c = pattern[i]
        i += 1
        if c == match_all:
            cur = []
            pieces.append(cur)
        elif c == match_one:
            cur.append(".")
        elif c == escape:
            if i >= n:
                return _never
            cur.append(esc(pattern[i]))
            i += 1
        else:
            cur.append(esc(c))
    flags = re.DOTALL if case_sensitive else (re.DOTALL | re.IGNORECASE | re.ASCII)
    return _build(pieces, flags)


def _glob_set(pattern: str, i: int) -> tuple[str | None, int]:
    """Regex atom for the set starting after '[' at ``i``; (None, _) if unterminated."""
    n = len(pattern)

    def nxt(k: int) -> str:
        return pattern[k] if k < n else ""

    invert = False
    c2 = nxt(i)
    i += 1
    if c2 == "^":
        invert = True
        c2 = nxt(i)
        i += 1
    items: list[str] = []
    if c2 == "]":
        items.append(re.escape("]"))
        c2 = nxt(i)
        i += 1
    prior = ""
    while c2 and c2 != "]":
        following = nxt(i)
        if c2 == "-" and following != "]" and following != "" and prior:
            c2 = following
            i += 1
            if prior <= c2:
                items.append(re.escape(prior) + "-" + re.escape(c2))
            prior = ""
        else:
            items.append(re.escape(c2))
            prior = c2
        c2 = nxt(i)
        i += 1
    if not c2:
        return None, i
    if not items:
        return (".", i) if invert else ("(?!)", i)
    return ("[" + ("^" if invert else "") + "".join(items) + "]", i)


@lru_cache(maxsize=512)
def glob_matcher(pattern: str) -> Matcher:
    """Compile a GLOB pattern (already text, cut at NUL) into ``str -> bool``."""
    pieces: list[list[str]] = [[]]
    cur = pieces[0]
    i, n = 0, len(pattern)
    esc = re.escape
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            cur = []
            pieces.append(cur)
        elif c == "?":
            cur.append(".")
        elif c == "[":
            atom, i = _glob_set(pattern, i)
            if atom is None:
                return _never
            cur.append(atom)
        else:
            cur.append(esc(c))
    return _build(pieces, re.DOTALL)


def _cut(s: str) -> str:
    z = s.find("\x00")
    return s if z < 0 else s[:z]


def check_pattern_length(pattern: Any) -> None:
    """Raise SQLite's error for a LIKE/GLOB pattern over 50000 bytes."""
    if pattern is None:
        return
    t = pattern if type(pattern) is str else to_text(pattern)
    if len(t) * 4 > MAX_PATTERN_LENGTH and len(text_bytes(t)) > MAX_PATTERN_LENGTH:
        raise OperationalError("LIKE or GLOB pattern too complex")


def like(pattern: Any, text: Any, escape: str | None = None,
         case_sensitive: bool = False) -> int | None:
    """like(pattern, text[, escape]) = ``text LIKE pattern [ESCAPE escape]``: 1, 0 or None.

    ``escape`` None means no ESCAPE clause; an SQL NULL escape is the caller's
    business (the SQL function returns NULL, see sql/functions.py).
    """
    if type(pattern) is bytes or type(text) is bytes:
        return 0
    check_pattern_length(pattern)
    if escape is not None:
        e = _cut(to_text(escape)) if type(escape) is not str else _cut(escape)
        if len(e) != 1:
            raise OperationalError("ESCAPE expression must be a single character")
        escape = e
    if pattern is None or text is None:
        return None
    p = pattern if type(pattern) is str else to_text(pattern)
    t = text if type(text) is str else to_text(text)
    if "\x00" in p:
        p = _cut(p)
    if "\x00" in t:
        t = _cut(t)
    return 1 if like_matcher(p, escape, case_sensitive)(t) else 0


def glob(pattern: Any, text: Any) -> int | None:
    """glob(pattern, text) = ``text GLOB pattern``: 1, 0 or None."""
    if type(pattern) is bytes or type(text) is bytes:
        return 0
    check_pattern_length(pattern)
    if pattern is None or text is None:
        return None
    p = pattern if type(pattern) is str else to_text(pattern)
    t = text if type(text) is str else to_text(text)
    if "\x00" in p:
        p = _cut(p)
    if "\x00" in t:
        t = _cut(t)
    return 1 if glob_matcher(p)(t) else 0
