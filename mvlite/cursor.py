"""PEP 249 cursors over mvlite connections (the stdlib ``sqlite3`` Cursor's behaviour).

Single job: hold one statement's results and hand them out (fetchone /
fetchmany / fetchall / iteration), with ``description``, ``rowcount``,
``lastrowid`` and ``arraysize`` as stdlib ``sqlite3`` sets them. Executing
is the connection's job (``mvlite.connection``). Results are materialised
when the statement runs (the statement's transaction may end right after),
so ``text_factory`` is applied then, and ``rowcount`` of an ``INSERT ...
RETURNING`` is final before the first fetch (sqlite3 counts while stepping).
``row_factory`` starts as the connection's at cursor creation, as in sqlite3.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator

from storage.errors import ProgrammingError

__all__ = ["Cursor", "converters"]

#: id(result column list) -> (that list, its description tuple); the list is kept
#: alive by the entry, so the id cannot be reused while the entry exists
_DESCRIPTIONS: dict[int, tuple[list, tuple]] = {}

#: upper-case type name -> converter (``mvlite.register_converter``)
converters: dict[str, Any] = {}


def _apply_text_factory(rows: list, tf: Any) -> list:
    """TEXT values through ``text_factory`` (bytes: the UTF-8 encoding; else tf(bytes))."""
    if tf is bytes:
        conv = _to_bytes
    else:
        def conv(v: str) -> Any:
            return tf(v.encode("utf-8", "surrogatepass"))
    return [tuple(conv(v) if type(v) is str else v for v in r) for r in rows]


def _to_bytes(v: str) -> bytes:
    return v.encode("utf-8", "surrogatepass")


class Cursor:
    """A PEP 249 cursor; see the module docstring."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.arraysize = 1
        self.row_factory = getattr(connection, "row_factory", None)
        self.description: tuple | None = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list = []
        self._decltypes: list | None = None
        self._pos = 0
        self._closed = False

    def _check(self) -> None:
        if self._closed:
            raise ProgrammingError("Cannot operate on a closed cursor.")
        self.connection._check_open()

    def _set(self, result: Any) -> None:
        if result is not None and result.is_query:
            cols = result.columns
            hit = _DESCRIPTIONS.get(id(cols))
            if hit is not None and hit[0] is cols:
                self.description = hit[1]
            else:  # a plan's column list is reused by every run: build the tuple once
                self.description = tuple((n, None, None, None, None, None, None) for n in cols)
                if len(_DESCRIPTIONS) > 1024:
                    _DESCRIPTIONS.clear()
                _DESCRIPTIONS[id(cols)] = (cols, self.description)
            rows = result.rows
            tf = self.connection.text_factory
            if tf is not str and rows:
                rows = _apply_text_factory(rows, tf)
            dt = self.connection.detect_types
            if dt and converters:
                rows = self._convert(rows, dt)
            self._rows = rows
        else:
            self.description = None
            self._rows = []
        self._pos = 0

    def execute(self, sql: str, parameters: Any = ()) -> "Cursor":
        self._check()
        self._rows = []
        self._pos = 0
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

    def _convert(self, rows: list, detect: int) -> list:
        """PARSE_COLNAMES (``AS "x [type]"``, wins) then PARSE_DECLTYPES (first word of
        the declared type) pick a converter per column, as sqlite3 does."""
        desc = list(self.description or ())
        decl = self._decltypes or []
        self._decltypes = None
        conv: list = []
        for i, d in enumerate(desc):
            name = d[0]
            fn = None
            lb = name.find("[")
            if detect & 2 and lb >= 0 and name.find("]", lb) > lb:
                fn = converters.get(name[lb + 1:name.find("]", lb)].upper())
                desc[i] = (name[:lb].rstrip(),) + d[1:]
            if fn is None and detect & 1 and i < len(decl) and decl[i]:
                word = decl[i].split("(", 1)[0].split()
                fn = converters.get(word[0].upper()) if word else None
            conv.append(fn)
        self.description = tuple(desc)
        if not any(conv):
            return rows
        out = []
        for r in rows:
            out.append(tuple(v if f is None or v is None else
                             f(v if type(v) is bytes else str(v).encode())
                             for v, f in zip(r, conv)))
        return out

    def _make(self, row: tuple) -> Any:
        rf = self.row_factory
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
        self.connection._check_open()
        self._closed = True
        self._rows = []

    def setinputsizes(self, sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass
