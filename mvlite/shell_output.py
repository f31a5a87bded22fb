"""Result formatting for the ``mvlite`` shell: one function per output mode.

Single job: turn a statement's column names and rows into text, in the
formats of the sqlite3 command-line shell 3.40 (https://sqlite.org/cli.html,
section 5 "Changing Output Formats"): ``list``, ``csv``, ``tabs``, ``json``,
``line``, ``markdown``, ``table``, ``column``, ``box`` and ``quote``, plus
``pretty`` (our name for ``box``, the default on a terminal). Details match
the sqlite3 CLI where it defines them: REALs print as ``%!.15g`` (json and
quote use ``%!.20g``), CSV quotes fields holding spaces, quotes, separators,
control or non-ASCII characters, columnar modes left-align every cell,
centre headers, expand tabs to 8 columns, break cells at control characters,
and separate rows with a rule when some cell spans several lines. The
dot-commands and the reading of input live in ``mvlite.shell``.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence, TextIO

from sql.printf import format_float
from sql.values import blob_text, real_to_text

__all__ = ["MODES", "OutputSettings", "render", "display_text", "json_value", "real_literal"]

#: mode names accepted by ``.mode`` and ``-m`` (pretty is box)
MODES = ("pretty", "box", "list", "csv", "tabs", "json", "line", "markdown", "table",
         "column", "quote")


class OutputSettings:
    """The knobs ``.mode``, ``.headers``, ``.nullvalue`` and ``.separator`` turn."""

    def __init__(self, mode: str = "list", headers: bool = False) -> None:
        self.mode = mode
        self.headers = headers
        self.nullvalue = ""
        self.colsep = "|"
        self.rowsep = "\n"

    def set_mode(self, mode: str, from_dot: bool = True) -> None:
        """Switch modes; separators follow the mode as sqlite3's ``.mode`` sets them.

        ``.mode csv`` ends rows with CRLF (RFC 4180) while the ``-csv`` option
        keeps LF: that is the sqlite3 CLI's behaviour, kept for byte-equal output.
        """
        self.mode = mode
        if mode == "csv":
            self.colsep, self.rowsep = ",", ("\r\n" if from_dot else "\n")
        elif mode == "tabs":
            self.colsep, self.rowsep = "\t", "\n"
        elif mode == "list":
            self.colsep, self.rowsep = "|", "\n"


def _cstr(s: str) -> str:
    """The text as the C shell sees it: it stops at the first NUL."""
    i = s.find("\0")
    return s if i < 0 else s[:i]


def display_text(v: Any, nullvalue: str) -> str:
    """A value as the list/columnar modes show it (sqlite3_column_text)."""
    t = type(v)
    if t is str:
        return _cstr(v) if "\0" in v else v
    if t is int:
        return str(v)
    if t is float:
        return real_to_text(v)
    if v is None:
        return nullvalue
    return _cstr(blob_text(v)).encode("utf-8", "replace").decode("utf-8", "replace")


def real_literal(r: float) -> str:
    """``%!.20g`` as sqlite3's json/quote modes print a REAL (infinities as 1e999)."""
    if r != r:
        return "NULL"
    if r in (float("inf"), float("-inf")):
        return "1e999" if r > 0 else "-1e999"
    return format_float(r, "g", 20, altform2=True)


_JSON_ESC = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
             "\t": "\\t"}


def _json_str(s: str) -> str:
    out = ['"']
    for ch in s:
        e = _JSON_ESC.get(ch)
        if e is not None:
            out.append(e)
        elif ch < " ":
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def json_value(v: Any) -> str:
    """A value in json mode: numbers bare, text and blobs as JSON strings, NULL as null."""
    t = type(v)
    if v is None:
        return "null"
    if t is int:
        return str(v)
    if t is float:
        return real_literal(v)
    if t is bytes:
        return _json_str(v.decode("utf-8", "replace"))
    return _json_str(v)


def _quote_value(v: Any) -> str:
    t = type(v)
    if v is None:
        return "NULL"
    if t is int:
        return str(v)
    if t is float:
        return real_literal(v)
    if t is bytes:
        return "X'" + v.hex() + "'"
    return "'" + v.replace("'", "''") + "'"


# -- row modes -------------------------------------------------------------------

def _csv_field(s: str, sep: str) -> str:
    if s == "" or sep in s or any(c <= " " or c in "\"'" or c >= "\x7f" for c in s):
        return '"' + s.replace('"', '""') + '"'
    return s


def _render_list(cols: Sequence[str], rows: list, st: OutputSettings, w: Callable) -> None:
    if not rows:  # the header comes with the first row
        return
    sep, rs, nv = st.colsep, st.rowsep, st.nullvalue
    if st.headers:
        w(sep.join(cols) + rs)
    for r in rows:
        w(sep.join([display_text(v, nv) for v in r]) + rs)


def _render_csv(cols: Sequence[str], rows: list, st: OutputSettings, w: Callable) -> None:
    if not rows:  # the header comes with the first row
        return
    sep, rs, nv = st.colsep, st.rowsep, st.nullvalue
    if st.headers:
        w(sep.join([_csv_field(c, sep) for c in cols]) + rs)
    for r in rows:
        w(sep.join([(nv if v is None else
                     display_text(v, nv) if type(v) in (int, float) else
                     _csv_field(display_text(v, nv), sep)) for v in r]) + rs)


def _render_quote(cols: Sequence[str], rows: list, st: OutputSettings, w: Callable) -> None:
    if not rows:  # the header comes with the first row
        return
    if st.headers:
        w(",".join(_quote_value(c) for c in cols) + st.rowsep)
    for r in rows:
        w(",".join(_quote_value(v) for v in r) + st.rowsep)


def _render_json(cols: Sequence[str], rows: list, st: OutputSettings, w: Callable) -> None:
    if not rows:
        return
    names = [_json_str(c) + ":" for c in cols]
    out = []
    for r in rows:
        out.append("{" + ",".join(n + json_value(v) for n, v in zip(names, r)) + "}")
    w("[" + ",\n".join(out) + "]\n")


def _render_line(cols: Sequence[str], rows: list, st: OutputSettings, w: Callable) -> None:
    width = max([5] + [len(c) for c in cols])
    nv = st.nullvalue
    for i, r in enumerate(rows):
        if i:
            w("\n")
        for c, v in zip(cols, r):
            w("%*s = %s\n" % (width, c, display_text(v, nv)))


# -- columnar modes ----------------------------------------------------------------

def _cell_lines(s: str) -> list[str]:
    """Split a cell into display lines: tabs expand to 8, other control characters break."""
    lines: list[str] = []
    cur: list[str] = []
    n = 0
    i = 0
    ln = len(s)
    while i < ln:
        c = s[i]
        if c == "\t":
            k = 8 - n % 8
            cur.append(" " * k)
            n += k
        elif c < " ":
            if c == "\r" and i + 1 < ln and s[i + 1] == "\n":
                i += 1
            lines.append("".join(cur))
            cur = []
            n = 0
        else:
            cur.append(c)
            n += 1
        i += 1
    lines.append("".join(cur))
    return lines


def _columnar(cols: Sequence[str], rows: list, st: OutputSettings, w: Callable) -> None:
    if not rows:
        return
    mode = st.mode
    nv = st.nullvalue
    ncol = len(cols)
    heads = [_cell_lines(c) for c in cols]
    cells = [[_cell_lines(display_text(v, nv)) for v in r] for r in rows]
    widths = [max(len(x) for x in h) for h in heads]
    multi = False
    for r in cells:
        for j, lines in enumerate(r):
            if len(lines) > 1:
                multi = True
            for x in lines:
                if len(x) > widths[j]:
                    widths[j] = len(x)
    show_head = st.headers or mode != "column"

    def emit(parts: list[list[str]], centre: bool, left: str, mid: str, right: str) -> None:
        height = max(len(p) for p in parts)
        for k in range(height):
            segs = []
            for j in range(ncol):
                text = parts[j][k] if k < len(parts[j]) else ""
                pad = widths[j] - len(text)
                if centre:
                    lp = pad // 2
                    segs.append(" " * lp + text + " " * (pad - lp))
                else:
                    segs.append(text + " " * pad)
            w(left + mid.join(segs) + right + "\n")

    if mode == "column":
        if show_head:
            emit(heads, False, "", "  ", "")
            w("  ".join("-" * x for x in widths) + "\n")
        for i, r in enumerate(cells):
            if i and multi:
                w("\n")
            emit(r, False, "", "  ", "")
        return
    if mode == "markdown":
        emit(heads, True, "| ", " | ", " |")
        w("|" + "|".join("-" * (x + 2) for x in widths) + "|\n")
        for r in cells:
            emit(r, False, "| ", " | ", " |")
        return
    if mode == "table":
        rule = "+" + "+".join("-" * (x + 2) for x in widths) + "+\n"
        w(rule)
        emit(heads, True, "| ", " | ", " |")
        w(rule)
        for i, r in enumerate(cells):
            if i and multi:
                w(rule)
            emit(r, False, "| ", " | ", " |")
        w(rule)
        return
    # box / pretty
    bars = ["\u2500" * (x + 2) for x in widths]
    w("\u250c" + "\u252c".join(bars) + "\u2510\n")
    emit(heads, True, "\u2502 ", " \u2502 ", " \u2502")
    mid_rule = "\u251c" + "\u253c".join(bars) + "\u2524\n"
    w(mid_rule)
    for i, r in enumerate(cells):
        if i and multi:
            w(mid_rule)
        emit(r, False, "\u2502 ", " \u2502 ", " \u2502")
    w("\u2514" + "\u2534".join(bars) + "\u2518\n")


_RENDERERS: dict[str, Callable] = {
    "list": _render_list, "tabs": _render_list, "csv": _render_csv, "json": _render_json,
    "line": _render_line, "quote": _render_quote, "markdown": _columnar, "table": _columnar,
    "column": _columnar, "box": _columnar, "pretty": _columnar,
}


def render(cols: Sequence[str], rows: list, st: OutputSettings, out: TextIO) -> None:
    """Write one statement's result to ``out`` in the current mode."""
    _RENDERERS[st.mode](list(cols), rows, st, out.write)
