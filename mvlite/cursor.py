"""PEP 249 cursors over mvlite connections (the stdlib ``sqlite3`` Cursor's behaviour).

Single job: hold one statement's results and hand them out (fetchone /
fetchmany / fetchall / iteration), with ``description``, ``rowcount``,
``lastrowid`` and ``arraysize`` as stdlib ``sqlite3`` sets them. Executing
is the connection's job (``mvlite.connection``). Results are materialised
when the statement runs (the statement's transaction may end right after).
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator

from storage.errors import ProgrammingError

__all__ = ["Cursor"]


class Cursor:
    """A PEP 249 cursor; see the module docstring."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.arraysize = 1
        self.row_factory = None
        self.description: tuple | None = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list = []
        self._pos = 0
        self._closed = False

    def _check(self) -> None:
        if self._closed:
            raise ProgrammingError("Cannot operate on a closed cursor.")
        self.connection._check_open()

    def _set(self, result: Any) -> None:
        if result is not None and result.is_query:
            self.description = tuple((n, None, None, None, None, None, None)
                                     for n in result.columns)
            self._rows = result.rows
        else:
            self.description = None
            self._rows = []
        self._pos = 0

    def execute(self, sql: str, parameters: Any = ()) -> "Cursor":
        self._check()
        self.connection._execute(self, sql, parameters, many=False)
        return self

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> "Cursor":
        self._check()
        self.connection._execute(self, sql, seq_of_parameters, many=True)
        return self

    def executescript(self, sql_script: str) -> "Cursor":
        self._check()
        self.connection._executescript(self, sql_script)
        return self

    def _make(self, row: tuple) -> Any:
        rf = self.row_factory if self.row_factory is not None else self.connection.row_factory
        return rf(self, row) if rf is not None else row

    def fetchone(self) -> Any:
        self._check()
        if self._pos >= len(self._rows):
            return None
        row = self._rows[self._pos]
        self._pos += 1
        return self._make(row)

    def fetchmany(self, size: int | None = None) -> list:
        self._check()
        n = self.arraysize if size is None else size
        rows = self._rows[self._pos:self._pos + max(n, 0)]
        self._pos += len(rows)
        return [self._make(r) for r in rows]

    def fetchall(self) -> list:
        self._check()
        rows = self._rows[self._pos:]
        self._pos = len(self._rows)
        return [self._make(r) for r in rows]

    def __iter__(self) -> Iterator:
        return self

    def __next__(self) -> Any:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    def close(self) -> None:
        self._closed = True
        self._rows = []

    def setinputsizes(self, sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass
