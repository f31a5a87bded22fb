"""Errors of the SQL front end (tokenizer and parser).

Single job: the exception types that ``sql.tokenizer`` and ``sql.parser``
raise. They are ``storage.errors.OperationalError`` subclasses because stdlib
``sqlite3`` raises ``OperationalError`` for every error found while preparing
a statement; the messages are SQLite's own (``near "FROM": syntax error``,
``incomplete input``, ``unrecognized token: "'abc"``, ``unknown join type:
...``). ``offset`` is the character offset, in the SQL text, of the token the
message quotes (what ``sqlite3_error_offset()`` reports, in characters rather
than UTF-8 bytes), or -1 when the message quotes none.
"""
from __future__ import annotations

from storage.errors import OperationalError

__all__ = ["ParseError", "SqlSyntaxError"]


class ParseError(OperationalError):
    """An error SQLite raises while parsing (syntax or a parse-time check)."""

    def __init__(self, msg: str, offset: int = -1) -> None:
        super().__init__(msg)
        #: character offset of the token the message quotes, or -1
        self.offset = offset


class SqlSyntaxError(ParseError):
    """The text is not SQL: a syntax error, incomplete input or a bad token."""
