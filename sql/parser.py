"""SQLite's SQL grammar as a hand-written recursive-descent parser.

Single job: turn SQL text into ``sql.ast`` statements, accepting exactly what
SQLite 3.40 accepts and failing the way it fails. The grammar is SQLite's
``parse.y`` (a Lemon LALR(1) grammar; readable form in "SQL As Understood By
SQLite": lang_select, lang_expr, lang_createtable, ...); this module follows
it rule by rule, with these points of fidelity:

- Non-reserved keywords (``sql.tokenizer.FALLBACK_ID``) are identifiers
  wherever the grammar has no use for the keyword itself, as Lemon's
  ``%fallback ID`` does: every place that accepts a name first checks the
  keywords that have a meaning there.
- Operator precedence is parse.y's ``%left/%right`` table, lowest first:
  OR; AND; NOT (prefix); IS MATCH LIKE GLOB REGEXP BETWEEN IN ISNULL NOTNULL
  != =; > <= < >=; ESCAPE; & | << >>; + -; * / %; || -> ->>; COLLATE;
  unary - + ~. It is implemented as precedence climbing (``_LBP`` below).
- Errors carry SQLite's messages and the offset of the token they quote:
  ``near "X": syntax error`` at the first token that cannot continue the
  statement, ``incomplete input`` at the end, ``unrecognized token: "X"``
  when a malformed token is reached. Checks that SQLite makes while reducing
  grammar rules (``unknown join type``, ``a JOIN clause is required before
  ON``, ``ORDER BY clause should come after UNION not before``, ``unknown
  table option``, parameter numbers, ...) are raised here with SQLite's
  wording; as in SQLite, a syntax error found at the same lookahead token
  takes precedence over them.
- Limits: SQLite's parser stack holds 100 entries ("parser stack
  overflow": about 94 nested parentheses, 19 nested subqueries) and an
  expression tree may be 1000 deep ("Expression tree is too large (maximum
  depth 1000)"). Both are emulated, so deep nesting fails like SQLite and
  never reaches Python's recursion limit.
- ``BEGIN CONCURRENT`` (SQLite's begin-concurrent branch) is accepted.
  Everything else follows stock SQLite 3.40: aggregate ``ORDER BY`` inside
  function arguments (3.44) and digit separators (3.46) are syntax errors.

Public surface: ``parse(sql) -> list[Statement]``, ``parse_one(sql)``,
``parse_first(sql, start=0) -> (Statement | None, tail)`` (sqlite3_prepare),
``iter_parse(sql)`` (executescript), ``split_statements(sql)`` (the shell),
``complete_statement`` (re-exported from the tokenizer).
"""
from __future__ import annotations

from typing import Callable, Iterator, NamedTuple

import attrs

from sql import ast as A
from sql.errors import ParseError, SqlSyntaxError
from sql.tokenizer import (
    EOF, FALLBACK_ID, ID, ILLEGAL, INTEGER, FLOAT, STRING, BLOB, VARIABLE, SEMI,
    Token, complete_statement, scan, tokenize, COMPLETE_TRANS,
)
from storage.errors import ProgrammingError

__all__ = [
    "parse", "parse_one", "parse_first", "iter_parse", "split_statements", "StatementText",
    "complete_statement", "MAX_EXPR_DEPTH", "MAX_VARIABLE_NUMBER",
]

#: SQLITE_MAX_EXPR_DEPTH of the stdlib sqlite3 build
MAX_EXPR_DEPTH = 1000
#: SQLITE_MAX_VARIABLE_NUMBER of the stdlib sqlite3 build
MAX_VARIABLE_NUMBER = 250000
#: SQLITE_MAX_FUNCTION_ARG
MAX_FUNCTION_ARG = 127
#: SQLITE_MAX_COMPOUND_SELECT
MAX_COMPOUND_SELECT = 500
#: Lemon's YYSTACKDEPTH in SQLite 3.40: pushing stack entry 100 overflows
_STACK_LIMIT = 100

# Token classes of parse.y
_NM_EXTRA = frozenset((ID, STRING, "INDEXED", "JOIN_KW"))        # nm ::= idj | STRING
_IDS_EXTRA = frozenset((ID, STRING))                             # ids ::= ID|STRING
_ID_EXTRA = frozenset((ID, "INDEXED"))                           # id  ::= ID|INDEXED

# Left binding power of infix/postfix operators (parse.y precedence levels).
_LBP = {
    "OR": 1, "AND": 2, "NOT": 3,
    "IS": 4, "MATCH": 4, "LIKE_KW": 4, "BETWEEN": 4, "IN": 4, "ISNULL": 4,
    "NOTNULL": 4, "NE": 4, "EQ": 4,
    "GT": 5, "LE": 5, "LT": 5, "GE": 5,
    "BITAND": 7, "BITOR": 7, "LSHIFT": 7, "RSHIFT": 7,
    "PLUS": 8, "MINUS": 8, "STAR": 9, "SLASH": 9, "REM": 9,
    "CONCAT": 10, "PTR": 10, "COLLATE": 11,
}
_BINOP_TEXT = {
    "OR": "OR", "AND": "AND", "NE": "!=", "EQ": "=", "GT": ">", "LE": "<=",
    "LT": "<", "GE": ">=", "BITAND": "&", "BITOR": "|", "LSHIFT": "<<",
    "RSHIFT": ">>", "PLUS": "+", "MINUS": "-", "STAR": "*", "SLASH": "/",
    "REM": "%", "CONCAT": "||",
}
_SELECT_START = frozenset(("SELECT", "VALUES", "WITH"))
_RESOLVE = frozenset(("ROLLBACK", "ABORT", "FAIL", "IGNORE", "REPLACE"))
_SPACE = " \t\n\v\f\r"
# sqlite3JoinType's keywords: name -> bits (NATURAL, LEFT, OUTER, RIGHT, INNER, CROSS)
_JT_NATURAL, _JT_LEFT, _JT_OUTER, _JT_RIGHT, _JT_INNER, _JT_CROSS, _JT_ERROR = (
    1, 2, 4, 8, 16, 32, 64)
_JOIN_WORDS = {
    "natural": _JT_NATURAL, "left": _JT_LEFT | _JT_OUTER, "outer": _JT_OUTER,
    "right": _JT_RIGHT | _JT_OUTER, "full": _JT_LEFT | _JT_RIGHT | _JT_OUTER,
    "inner": _JT_INNER, "cross": _JT_INNER | _JT_CROSS,
}


def _dequote(text: str) -> str:
    """sqlite3Dequote: strip '', "", `` or [] quoting (stops at the closing quote)."""
    if not text:
        return text
    q = text[0]
    if q not in "'\"`[":
        return text
    if q == "[":
        end = text.find("]", 1)
        return text[1:end] if end >= 0 else text[1:]
    out = []
    i = 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == q:
            if i + 1 < n and text[i + 1] == q:
                out.append(q)
                i += 2
                continue
            break
        out.append(c)
        i += 1
    return "".join(out)


def _strip_generated(text: str) -> str:
    """sqlite3AddColumn: drop a trailing "GENERATED ALWAYS" from a type name."""
    if len(text) >= 16 and text[-6:].lower() == "always":
        text = text[:-6].rstrip(_SPACE)
        if len(text) >= 9 and text[-9:].lower() == "generated":
            text = text[:-9].rstrip(_SPACE)
    return text


def _int_value(text: str) -> int:
    """The value of an INTEGER token (hex wraps to signed 64 bits if it fits)."""
    if text[:2] in ("0x", "0X"):
        v = int(text, 16)
        if v <= 0xFFFFFFFFFFFFFFFF and v >= 1 << 63:
            v -= 1 << 64
        return v
    return int(text)


class _Parser:
    """One parse of one SQL text; ``next_statement`` walks its statements.

    State: the token list and cursor, the error a grammar action raised
    while the current lookahead was being processed (raised when that token
    is consumed, dropped if the token is a syntax error, as in SQLite), the
    parameter numbering of the statement being parsed, and expression
    heights for the depth limit.
    """

    def __init__(self, sql: str, start: int = 0) -> None:
        nul = sql.find("\0", start)
        self.sql = sql if nul < 0 else sql[:nul]
        self.toks: list[Token] = tokenize(self.sql, start)
        self.i = 0
        self.tok: Token = self.toks[0]
        self._pending: ParseError | None = None
        self._heights: dict[int, int] = {}
        self._false: set[int] = set()
        self._nvar = 0
        self._var_by_name: dict[str, int] = {}
        self._var_names: dict[int, str] = {}
        self._trigger = False

    # -- token cursor ----------------------------------------------------------

    def _advance(self) -> Token:
        """Consume (shift) the current token and move to the next one."""
        if self._pending is not None:
            err, self._pending = self._pending, None
            raise err
        t = self.tok
        self.i += 1
        self.tok = nt = self.toks[self.i]
        if nt.type == ILLEGAL:
            raise SqlSyntaxError(f'unrecognized token: "{nt.text}"', nt.pos)
        return t

    def _peek(self, k: int = 1) -> Token:
        j = self.i + k
        toks = self.toks
        return toks[j] if j < len(toks) else toks[-1]

    def _error(self) -> SqlSyntaxError:
        """The syntax error at the current token (drops any pending error)."""
        self._pending = None
        t = self.tok
        if t.type == EOF:
            return SqlSyntaxError("incomplete input", -1)
        return SqlSyntaxError(f'near "{t.text}": syntax error', t.pos)

    def _set_error(self, msg: str, offset: int = -1) -> None:
        """A grammar action's error: raised when the lookahead is shifted."""
        cls = SqlSyntaxError if "syntax error" in msg else ParseError
        self._pending = cls(msg, offset)

    def _expect(self, ttype: str) -> Token:
        if self.tok.type != ttype:
            raise self._error()
        return self._advance()

    def _accept(self, ttype: str) -> bool:
        if self.tok.type == ttype:
            self._advance()
            return True
        return False

    def _push(self, depth: int) -> None:
        """Lemon's parser stack: a shift that makes it ``depth`` deep."""
        if depth >= _STACK_LIMIT:
            self._pending = None
            raise ParseError("parser stack overflow")

    # -- token classes ---------------------------------------------------------

    def _is_nm(self, t: Token | None = None) -> bool:
        tt = (t or self.tok).type
        return tt in _NM_EXTRA or tt in FALLBACK_ID

    def _is_ids(self, t: Token | None = None) -> bool:
        tt = (t or self.tok).type
        return tt in _IDS_EXTRA or tt in FALLBACK_ID

    def _nm(self) -> str:
        """nm ::= ID | fallback keyword | INDEXED | JOIN_KW | STRING (dequoted)."""
        if not self._is_nm():
            raise self._error()
        return _dequote(self._advance().text)

    def _ids(self) -> str:
        if not self._is_ids():
            raise self._error()
        return _dequote(self._advance().text)

    def _dbnm(self) -> tuple[str | None, str]:
        """``nm [DOT nm]`` -> (schema, name)."""
        first = self._nm()
        if self.tok.type == "DOT":
            self._advance()
            return first, self._nm()
        return None, first

    # -- statements ------------------------------------------------------------

    def next_statement(self) -> tuple[A.Statement | None, int]:
        """Parse the next statement: (node or None at end, offset past it).

        Like ``sqlite3_prepare``: empty statements (lone ``;``) are skipped,
        the tail is just past the terminating ``;`` (or the end of the text).
        """
        while self.tok.type == SEMI:
            self._advance()
        if self.tok.type == EOF:
            return None, len(self.sql)
        if self.tok.type == ILLEGAL:
            raise SqlSyntaxError(f'unrecognized token: "{self.tok.text}"', self.tok.pos)
        self._heights = {}
        self._false = set()
        self._nvar = 0
        self._var_by_name = {}
        self._var_names = {}
        start = self.tok.pos
        if self.tok.type == "EXPLAIN":
            self._advance()
            qp = False
            if self.tok.type == "QUERY":
                self._advance()
                self._expect("PLAN")
                qp = True
            inner = self._cmd(1)
            stmt: A.Statement = A.Explain(inner, qp, span=(start, inner.span[1]))
        else:
            stmt = self._cmd(0)
        if self._nvar:
            names = self._var_names
            stmt = attrs.evolve(stmt, params=tuple(names.get(k) for k in range(1, self._nvar + 1)))
        t = self.tok
        if t.type == SEMI:
            # shift the ';' but do not look at the next statement's first token
            if self._pending is not None:
                err, self._pending = self._pending, None
                raise err
            self.i += 1
            self.tok = self.toks[self.i]
            return stmt, t.end
        if t.type == EOF:
            if self._pending is not None:
                err, self._pending = self._pending, None
                raise err
            return stmt, len(self.sql)
        raise self._error()

    def _end_of(self) -> int:
        """End offset of the last consumed token."""
        return self.toks[self.i - 1].end if self.i else 0

    def _cmd(self, base: int) -> A.Statement:
        t = self.tok.type
        start = self.tok.pos
        handler = _CMD.get(t)
        if handler is None:
            raise self._error()
        stmt = handler(self, base)
        return _with_span(stmt, (start, self._end_of()))

    # transactions ----------------------------------------------------------------

    def _trans_opt(self) -> None:
        if self.tok.type == "TRANSACTION":
            self._advance()
            if self._is_nm():
                self._advance()

    def _begin(self, base: int) -> A.Statement:
        self._advance()
        mode = None
        t = self.tok
        if t.type in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
            mode = self._advance().type
        elif t.type == ID and t.text.upper() == "CONCURRENT":
            self._advance()
            mode = "CONCURRENT"
        self._trans_opt()
        return A.Begin(mode)

    def _commit(self, base: int) -> A.Statement:
        self._advance()
        self._trans_opt()
        return A.Commit()

    def _rollback(self, base: int) -> A.Statement:
        self._advance()
        self._trans_opt()
        if self.tok.type == "TO":
            self._advance()
            if self.tok.type == "SAVEPOINT":
                self._advance()
            return A.Rollback(self._nm())
        return A.Rollback()

    def _savepoint(self, base: int) -> A.Statement:
        self._advance()
        return A.Savepoint(self._nm())

    def _release(self, base: int) -> A.Statement:
        self._advance()
        if self.tok.type == "SAVEPOINT":
            self._advance()
        return A.Release(self._nm())

    # misc commands -----------------------------------------------------------

    def _pragma(self, base: int) -> A.Statement:
        self._advance()
        schema, name = self._dbnm()
        t = self.tok.type
        if t != "EQ" and t != "LP":
            return A.Pragma(name, schema)
        self._advance()
        is_call = t == "LP"
        tt = self.tok.type
        if tt == "MINUS":
            self._advance()
            if self.tok.type not in (INTEGER, FLOAT):
                raise self._error()
            value = "-" + self._advance().text
        elif tt == "PLUS":
            self._advance()
            if self.tok.type not in (INTEGER, FLOAT):
                raise self._error()
            value = self._advance().text
        elif tt in (INTEGER, FLOAT, "ON", "DELETE", "DEFAULT"):
            value = self._advance().text
        elif self._is_nm():
            value = _dequote(self._advance().text)
        else:
            raise self._error()
        if is_call:
            self._expect("RP")
        return A.Pragma(name, schema, value, is_call)

    def _attach(self, base: int) -> A.Statement:
        self._advance()
        if self.tok.type == "DATABASE":
            self._advance()
        f = self._expr(2)
        self._expect("AS")
        name = self._expr(4)
        key = None
        if self.tok.type == "KEY":
            self._advance()
            key = self._expr(6)
        return A.Attach(f, name, key)

    def _detach(self, base: int) -> A.Statement:
        self._advance()
        if self.tok.type == "DATABASE":
            self._advance()
        return A.Detach(self._expr(2))

    def _vacuum(self, base: int) -> A.Statement:
        self._advance()
        schema = None
        if self.tok.type != "INTO" and self._is_nm():
            schema = _dequote(self._advance().text)
        into = None
        if self.tok.type == "INTO":
            self._advance()
            into = self._expr(3)
        return A.Vacuum(schema, into)

    def _analyze_like(self, base: int) -> tuple[str | None, str | None]:
        self._advance()
        if self._is_nm():
            schema, name = self._dbnm()
            if schema is None:
                return name, None
            return name, schema
        return None, None

    def _analyze(self, base: int) -> A.Statement:
        name, schema = self._analyze_like(base)
        return A.Analyze(name, schema)

    def _reindex(self, base: int) -> A.Statement:
        name, schema = self._analyze_like(base)
        return A.Reindex(name, schema)

    def _drop(self, base: int) -> A.Statement:
        self._advance()
        kind = self.tok.type
        if kind not in ("TABLE", "INDEX", "VIEW", "TRIGGER"):
            raise self._error()
        self._advance()
        if_exists = False
        if self.tok.type == "IF":
            self._advance()
            self._expect("EXISTS")
            if_exists = True
        schema, name = self._dbnm()
        return A.Drop(kind, name, schema, if_exists)

    def _alter(self, base: int) -> A.Statement:
        self._advance()
        self._expect("TABLE")
        schema, table = self._dbnm()
        t = self.tok.type
        if t == "RENAME":
            self._advance()
            if self.tok.type == "TO":
                self._advance()
                return A.AlterTable(table, "RENAME TABLE", schema, new_name=self._nm())
            if self.tok.type == "COLUMNKW":
                self._advance()
            old = self._nm()
            self._expect("TO")
            return A.AlterTable(table, "RENAME COLUMN", schema, column=old, new_name=self._nm())
        if t == "ADD":
            self._advance()
            if self.tok.type == "COLUMNKW":
                self._advance()
            col = self._column_def(4, alter=True)
            return A.AlterTable(table, "ADD COLUMN", schema, column_def=col)
        if t == "DROP":
            self._advance()
            if self.tok.type == "COLUMNKW":
                self._advance()
            return A.AlterTable(table, "DROP COLUMN", schema, column=self._nm())
        raise self._error()

    # WITH-prefixed statements ------------------------------------------------

    def _with_cmd(self, base: int) -> A.Statement:
        start = self.tok.pos
        with_ = self._with(base)
        t = self.tok.type
        if t in ("SELECT", "VALUES"):
            return self._select(base, with_, start)
        if t == "DELETE":
            return self._delete(base + 1, with_)
        if t == "UPDATE":
            return self._update(base + 1, with_)
        if t in ("INSERT", "REPLACE"):
            return self._insert(base + 1, with_)
        raise self._error()

    def _select_cmd(self, base: int) -> A.Statement:
        return self._select(base)

    # -- expressions -----------------------------------------------------------

    def _is_false(self, e: A.Expr) -> bool:
        """sqlite3ExprAnd's test (EP_IsFalse): integer literal 0, or an AND it folded."""
        return ((isinstance(e, A.Literal) and e.kind == "integer" and e.value == 0)
                or id(e) in self._false)

    def _h(self, node: A.Node) -> int:
        return self._heights.get(id(node), 1)

    def _set_h(self, node: A.Node, h: int, check: bool = True) -> None:
        """Record an Expr's height (sqlite3ExprCheckHeight when ``check``)."""
        if h > 1:
            self._heights[id(node)] = h
        if check and h > MAX_EXPR_DEPTH:
            self._set_error(f"Expression tree is too large (maximum depth {MAX_EXPR_DEPTH})")

    def _expr(self, base: int, min_bp: int = 0) -> A.Expr:
        """An expression whose operators all bind at least ``min_bp``.

        ``base`` is the depth of Lemon's stack below the expression.
        """
        left = self._unary(base)
        lbp = _LBP
        while True:
            tt = self.tok.type
            bp = lbp.get(tt)
            if bp is None or bp < min_bp:
                return left
            left = self._infix(left, tt, bp, base)

    def _infix(self, left: A.Expr, tt: str, bp: int, base: int) -> A.Expr:
        pos = left.pos
        self._push(base + 2)
        op_tok = self._advance()
        hl = self._h(left)
        if tt in _BINOP_TEXT:
            right = self._expr(base + 2, bp + 1)
            if tt == "AND" and (self._is_false(left) or self._is_false(right)):
                node = A.Binary("AND", left, right, pos=pos)
                self._false.add(id(node))
                return node  # sqlite3ExprAnd folds to the constant 0: height 1
            node = A.Binary(_BINOP_TEXT[tt], left, right, pos=pos)
            self._set_h(node, 1 + max(hl, self._h(right)))
            return node
        if tt == "PTR":
            right = self._expr(base + 2, bp + 1)
            node = A.Binary(op_tok.text, left, right, pos=pos)
            self._set_h(node, 1 + max(hl, self._h(right)))
            return node
        if tt == "COLLATE":
            self._push(base + 3)
            name = self._ids()
            return A.Collate(left, name, pos=pos)  # SQLite leaves its height at 1
        if tt == "ISNULL" or tt == "NOTNULL":
            node = A.IsNull(left, tt == "NOTNULL", pos=pos)
            self._set_h(node, 1 + hl)
            return node
        if tt == "IS":
            negated = False
            k = base + 2  # stack index of the last keyword of the operator
            if self.tok.type == "NOT":
                self._advance()
                negated = True
                k += 1
                if self.tok.type == "DISTINCT":
                    self._advance()
                    self._expect("FROM")
                    negated = False
                    k += 2
            elif self.tok.type == "DISTINCT":
                self._advance()
                self._expect("FROM")
                negated = True
                k += 2
            right = self._expr(k, 5)
            if isinstance(right, A.Literal) and right.kind == "null":
                node: A.Expr = A.IsNull(left, negated, pos=pos)
            else:
                node = A.Binary("IS NOT" if negated else "IS", left, right, pos=pos)
            self._set_h(node, 1 + max(hl, self._h(right)))
            return node
        negated = False
        if tt == "NOT":
            t2 = self.tok.type
            if t2 == "NULL":
                self._advance()
                node = A.IsNull(left, True, pos=pos)
                self._set_h(node, 1 + hl)
                return node
            if t2 not in ("LIKE_KW", "MATCH", "BETWEEN", "IN"):
                raise self._error()
            negated = True
            op_tok = self._advance()
            tt = t2
        if tt == "LIKE_KW" or tt == "MATCH":
            pattern = self._expr(base + 2, 5)
            escape = None
            h = max(hl, self._h(pattern))
            if self.tok.type == "ESCAPE":
                self._advance()
                escape = self._expr(base + 4, 5)
                h = max(h, self._h(escape))
            node = A.Like(op_tok.text.upper(), left, pattern, escape, negated, pos=pos)
            self._set_h(node, 1 + h)
            if negated:
                self._set_h(node, 2 + h)
            return node
        if tt == "BETWEEN":
            low = self._expr(base + 2, 3)
            while self.tok.type == "OR":
                # LALR accepts "x BETWEEN a OR b ..." as a prefix but can never
                # finish it: every later AND binds inside the OR
                self._advance()
                self._push(base + 4)
                self._expr(base + 4, 2)
            self._expect("AND")
            self._push(base + 4)
            high = self._expr(base + 4, 5)
            node = A.Between(left, low, high, negated, pos=pos)
            self._set_h(node, 1 + hl + negated)
            return node
        # IN
        return self._in_rhs(left, negated, base, pos)

    def _in_rhs(self, left: A.Expr, negated: bool, base: int, pos: int) -> A.Expr:
        hl = self._h(left)
        if self.tok.type == "LP":
            self._push(base + 3)
            self._advance()
            if self.tok.type in _SELECT_START:
                sel = self._select(base + 3)
                self._expect("RP")
                node: A.Expr = A.InSelect(left, sel, negated, pos=pos)
                self._set_h(node, 1 + max(hl, self._select_h(sel)))
            else:
                items = self._exprlist(base + 3)
                self._expect("RP")
                node = A.InList(left, tuple(items), negated, pos=pos)
                if not items:
                    # SQLite folds "x IN ()" to a constant (AND/OR'd with x if
                    # x calls a function)
                    if _has_function(left):
                        self._set_h(node, 1 + hl)
                    elif not negated:
                        self._false.add(id(node))
                    return node
                h = hl
                for e in items:
                    h = max(h, self._h(e))
                self._set_h(node, 1 + h)
            if negated:
                self._set_h(node, self._h(node) + 1)
            return node
        if not self._is_nm():
            raise self._error()
        schema, name = self._dbnm()
        args = None
        if self.tok.type == "LP":
            self._advance()
            args = tuple(self._exprlist(base + 6))
            self._expect("RP")
        node = A.InTable(left, name, schema, args, negated, pos=pos)
        self._set_h(node, 1 + hl + negated)
        return node

    def _exprlist(self, base: int) -> list[A.Expr]:
        """exprlist: possibly empty, comma-separated (the caller checks RP)."""
        if self.tok.type == "RP":
            return []
        return self._nexprlist(base)

    def _nexprlist(self, base: int) -> list[A.Expr]:
        items = [self._expr(base)]
        while self.tok.type == "COMMA":
            self._advance()
            self._push(base + 2)
            items.append(self._expr(base + 2))
        return items

    def _unary(self, base: int) -> A.Expr:
        t = self.tok
        tt = t.type
        if tt == "MINUS" or tt == "PLUS" or tt == "BITNOT":
            self._push(base + 1)
            self._advance()
            operand = self._expr(base + 1, 12)
            node = A.Unary({"MINUS": "-", "PLUS": "+", "BITNOT": "~"}[tt], operand, pos=t.pos)
            self._set_h(node, 1 + self._h(operand))
            return node
        if tt == "NOT":
            self._push(base + 1)
            self._advance()
            operand = self._expr(base + 1, 3)
            node = A.Unary("NOT", operand, pos=t.pos)
            self._set_h(node, 1 + self._h(operand))
            return node
        return self._primary(base)

    def _primary(self, base: int) -> A.Expr:
        t = self.tok
        tt = t.type
        pos = t.pos
        self._push(base + 1)
        if tt == INTEGER:
            self._advance()
            return A.Literal(_int_value(t.text), "integer", t.text, pos=pos)
        if tt == FLOAT:
            self._advance()
            return A.Literal(float(t.text), "float", t.text, pos=pos)
        if tt == STRING and self._peek().type != "DOT":
            self._advance()
            return A.Literal(t.text[1:-1].replace("''", "'"), "string", t.text, pos=pos)
        if tt == BLOB:
            self._advance()
            return A.Literal(bytes.fromhex(t.text[2:-1]), "blob", t.text, pos=pos)
        if tt == "NULL":
            self._advance()
            return A.Literal(None, "null", t.text, pos=pos)
        if tt == VARIABLE:
            return self._variable()
        if tt == "CTIME_KW":
            self._advance()
            return A.CurrentTime(t.text.upper(), pos=pos)
        if tt == "LP":
            return self._paren(base)
        if tt == "CAST":
            return self._cast(base)
        if tt == "CASE":
            return self._case(base)
        if tt == "EXISTS":
            self._advance()
            self._push(base + 2)
            self._expect("LP")
            sel = self._select(base + 2)
            self._push(base + 4)
            self._expect("RP")
            node = A.Exists(sel, pos=pos)
            self._set_h(node, 1 + self._select_h(sel))
            return node
        if tt == "RAISE":
            return self._raise()
        if tt in _NM_EXTRA or tt in FALLBACK_ID:
            nt = self._peek().type
            if nt == "LP" and tt != STRING and tt != "JOIN_KW":
                return self._function(base)  # id LP ... (3.40: no JOIN_KW names)
            self._advance()
            if nt == "DOT":
                self._advance()
                self._push(base + 3)
                second = self._nm()
                if self.tok.type == "DOT":
                    self._advance()
                    self._push(base + 5)
                    third = self._nm()
                    node = A.ColumnRef(third, second, _dequote(t.text),
                                       double_quoted=self.toks[self.i - 1].text[:1] == '"', pos=pos)
                    self._set_h(node, 3, check=False)
                    return node
                node = A.ColumnRef(second, _dequote(t.text),
                                   double_quoted=self.toks[self.i - 1].text[:1] == '"', pos=pos)
                self._set_h(node, 2, check=False)
                return node
            if tt == STRING:  # pragma: no cover - STRING alone is a literal above
                raise self._error()
            if tt == ID and t.text.lower() in ("true", "false"):
                return A.Literal(t.text.lower() == "true", "bool", t.text, pos=pos)
            return A.ColumnRef(_dequote(t.text), double_quoted=t.text[:1] == '"', pos=pos)
        raise self._error()

    def _variable(self) -> A.Expr:
        t = self.tok
        text = t.text
        if text[0] == "#" and text[1:2].isdigit() and text[1:2].isascii():
            raise self._error()
        self._advance()
        if text == "?":
            self._nvar += 1
            return A.Param(self._nvar, None, pos=t.pos)
        if text[0] == "?":
            digits = text[1:]
            try:
                x = int(digits)
                ok = len(digits) < 20 and x < (1 << 63)
            except ValueError:  # pragma: no cover - the tokenizer gives digits
                ok = False
            if not ok or x < 1 or x > MAX_VARIABLE_NUMBER:
                self._set_error(
                    f"variable number must be between ?1 and ?{MAX_VARIABLE_NUMBER}", t.pos)
                return A.Param(0, text, pos=t.pos)
            if x > self._nvar:
                self._nvar = x
                self._var_names.setdefault(x, text)
                self._var_by_name.setdefault(text, x)
            elif x not in self._var_names:
                self._var_names[x] = text
                self._var_by_name.setdefault(text, x)
            return A.Param(x, text, pos=t.pos)
        x = self._var_by_name.get(text)
        if x is None:
            self._nvar += 1
            x = self._nvar
            self._var_by_name[text] = x
            self._var_names.setdefault(x, text)
        if x > MAX_VARIABLE_NUMBER:
            self._set_error("too many SQL variables", t.pos)
        return A.Param(x, text, pos=t.pos)

    def _paren(self, base: int) -> A.Expr:
        pos = self.tok.pos
        self._advance()
        if self.tok.type in _SELECT_START:
            sel = self._select(base + 1)
            self._push(base + 3)
            self._expect("RP")
            node: A.Expr = A.Subquery(sel, pos=pos)
            self._set_h(node, 1 + self._select_h(sel))
            return node
        first = self._expr(base + 1)
        if self.tok.type == "COMMA":
            items = [first]
            while self.tok.type == "COMMA":
                self._advance()
                self._push(base + 3)
                items.append(self._expr(base + 3))
            self._push(base + 5)
            self._expect("RP")
            return A.Vector(tuple(items), pos=pos)  # SQLite leaves its height at 1
        self._push(base + 3)
        self._expect("RP")
        return first

    def _cast(self, base: int) -> A.Expr:
        pos = self.tok.pos
        self._advance()
        self._push(base + 2)
        self._expect("LP")
        e = self._expr(base + 2)
        self._push(base + 4)
        self._expect("AS")
        type_name = self._typetoken(base + 4)
        self._push(base + 6 if type_name is not None else base + 5)
        self._expect("RP")
        node = A.Cast(e, _dequote(type_name or ""), pos=pos)
        self._set_h(node, 1 + self._h(e), check=False)
        return node

    def _typetoken(self, base: int) -> str | None:
        """typetoken: names, optionally ``(signed[, signed])``; source text or None."""
        if not self._is_ids():
            return None
        start = self.tok.pos
        while self._is_ids():
            self._advance()
        if self.tok.type == "LP":
            self._advance()
            self._signed()
            if self.tok.type == "COMMA":
                self._advance()
                self._signed()
            self._expect("RP")
        return self.sql[start:self._end_of()]

    def _signed(self) -> str:
        t = self.tok.type
        start = self.tok.pos
        if t == "PLUS" or t == "MINUS":
            self._advance()
        if self.tok.type not in (INTEGER, FLOAT):
            raise self._error()
        self._advance()
        return self.sql[start:self._end_of()]

    def _case(self, base: int) -> A.Expr:
        pos = self.tok.pos
        self._advance()
        operand = None
        h = 0
        if self.tok.type != "WHEN":
            operand = self._expr(base + 1)
            h = self._h(operand)
        self._push(base + 3)
        whens = []
        first = True
        while self.tok.type == "WHEN":
            self._advance()
            w = self._expr(base + 3 if first else base + 4)
            self._push(base + 5 if first else base + 6)
            self._expect("THEN")
            r = self._expr(base + 5 if first else base + 6)
            h = max(h, self._h(w), self._h(r))
            whens.append(A.WhenThen(w, r))
            first = False
        if not whens:
            raise self._error()
        else_ = None
        if self.tok.type == "ELSE":
            self._advance()
            else_ = self._expr(base + 4)
            h = max(h, self._h(else_))
        self._push(base + 5)
        self._expect("END")
        node = A.Case(operand, tuple(whens), else_, pos=pos)
        self._set_h(node, 1 + h)
        return node

    def _raise(self) -> A.Expr:
        pos = self.tok.pos
        self._advance()
        self._expect("LP")
        t = self.tok.type
        if t == "IGNORE":
            self._advance()
            self._expect("RP")
            return A.Raise("IGNORE", pos=pos)
        if t not in ("ROLLBACK", "ABORT", "FAIL"):
            raise self._error()
        self._advance()
        self._expect("COMMA")
        msg = self._nm()
        self._expect("RP")
        return A.Raise(t, msg, pos=pos)

    def _function(self, base: int) -> A.Expr:
        name_tok = self._advance()
        pos = name_tok.pos
        self._push(base + 2)
        self._advance()  # LP
        distinct = star = False
        args: list[A.Expr] = []
        if self.tok.type == "STAR":
            self._push(base + 3)
            self._advance()
            self._push(base + 4)
            self._expect("RP")
            star = True
        else:
            if self.tok.type == "DISTINCT":
                distinct = True
                self._advance()
            elif self.tok.type == "ALL":
                self._advance()
            self._push(base + 3)
            args = self._exprlist(base + 3)
            self._push(base + 5)
            self._expect("RP")
        filter_ = None
        over: A.WindowSpec | str | None = None
        rp = base + (4 if star else 5)
        if self.tok.type == "FILTER":
            self._advance()
            self._expect("LP")
            self._push(rp + 3)
            self._expect("WHERE")
            filter_ = self._expr(rp + 3)
            self._expect("RP")
            rp += 1
        if self.tok.type == "OVER":
            self._advance()
            if self.tok.type == "LP":
                self._push(rp + 2)
                self._advance()
                over = self._window(rp + 2)
                self._expect("RP")
            else:
                over = self._nm()
        if len(args) > MAX_FUNCTION_ARG:
            self._set_error(f'too many arguments on function {name_tok.text}', pos)
        node = A.FunctionCall(_dequote(name_tok.text), tuple(args), distinct, star, filter_,
                              over, pos=pos)
        h = 0
        for e in args:
            h = max(h, self._h(e))
        self._set_h(node, 1 + h)
        return node

    # windows -----------------------------------------------------------------

    def _window(self, base: int) -> A.WindowSpec:
        """window ::= [nm] [PARTITION BY ..] [ORDER BY ..] [frame] (inside parens).

        ``base`` is the stack index of the opening parenthesis.
        """
        base_name = None
        t = self.tok.type
        if t not in ("PARTITION", "ORDER", "RANGE", "ROWS", "GROUPS", "RP") and self._is_nm():
            base_name = self._nm()
            base += 1
        partition: tuple[A.Expr, ...] = ()
        order: tuple[A.OrderingTerm, ...] = ()
        fb = base
        if self.tok.type == "PARTITION":
            self._advance()
            self._expect("BY")
            partition = tuple(self._nexprlist(base + 2))
            if self.tok.type == "ORDER":
                self._advance()
                self._expect("BY")
                order = self._sortlist(base + 5)
            fb = base + 4
        elif self.tok.type == "ORDER":
            self._advance()
            self._expect("BY")
            order = self._sortlist(base + 2)
            fb = base + 3
        frame = None
        if self.tok.type in ("RANGE", "ROWS", "GROUPS"):
            frame = self._frame(fb + 1)
        return A.WindowSpec(base_name, partition, order, frame)

    def _frame(self, base: int) -> A.Frame:
        units = self._advance().type
        if self.tok.type == "BETWEEN":
            self._advance()
            start = self._frame_bound(base + 1, True)
            self._expect("AND")
            end: A.FrameBound | None = self._frame_bound(base + 3, False)
        else:
            start = self._frame_bound(base, True)
            end = None
        exclude = None
        if self.tok.type == "EXCLUDE":
            self._advance()
            t = self.tok.type
            if t == "NO":
                self._advance()
                self._expect("OTHERS")
                exclude = "NO OTHERS"
            elif t == "CURRENT":
                self._advance()
                self._expect("ROW")
                exclude = "CURRENT ROW"
            elif t == "GROUP" or t == "TIES":
                exclude = self._advance().type
            else:
                raise self._error()
        return A.Frame(units, start, end, exclude)

    def _frame_bound(self, base: int, is_start: bool) -> A.FrameBound:
        t = self.tok.type
        if t == "UNBOUNDED":
            self._advance()
            self._expect("PRECEDING" if is_start else "FOLLOWING")
            return A.FrameBound("UNBOUNDED PRECEDING" if is_start else "UNBOUNDED FOLLOWING")
        if t == "CURRENT":
            self._advance()
            self._expect("ROW")
            return A.FrameBound("CURRENT ROW")
        e = self._expr(base)
        t = self.tok.type
        if t != "PRECEDING" and t != "FOLLOWING":
            raise self._error()
        self._advance()
        return A.FrameBound(t, e)

    def _sortlist(self, base: int) -> tuple[A.OrderingTerm, ...]:
        terms = [self._ordering_term(base)]
        while self.tok.type == "COMMA":
            self._advance()
            terms.append(self._ordering_term(base + 2))
        return tuple(terms)

    def _ordering_term(self, base: int) -> A.OrderingTerm:
        e = self._expr(base)
        direction = nulls = None
        t = self.tok.type
        if t == "ASC" or t == "DESC":
            direction = self._advance().type
        if self.tok.type == "NULLS":
            self._advance()
            t = self.tok.type
            if t != "FIRST" and t != "LAST":
                raise self._error()
            nulls = self._advance().type
        return A.OrderingTerm(e, direction, nulls)

    # -- SELECT ----------------------------------------------------------------

    def _select_h(self, sel: A.Select) -> int:
        return self._heights.get(id(sel), 0)

    def _with(self, base: int) -> A.With:
        self._advance()  # WITH
        recursive = False
        if self.tok.type == "RECURSIVE":
            self._advance()
            recursive = True
        ctes = [self._cte(base + 1 + recursive)]
        while self.tok.type == "COMMA":
            self._advance()
            ctes.append(self._cte(base + 3 + recursive))
        return A.With(tuple(ctes), recursive)

    def _cte(self, base: int) -> A.CTE:
        name = self._nm()
        cols = None
        if self.tok.type == "LP":
            cols = self._eidlist()
        self._expect("AS")
        mat = None
        if self.tok.type == "MATERIALIZED":
            self._advance()
            mat = True
        elif self.tok.type == "NOT":
            self._advance()
            self._expect("MATERIALIZED")
            mat = False
        self._push(base + 4)
        self._expect("LP")
        sel = self._select(base + 4)
        self._expect("RP")
        return A.CTE(name, sel, cols, mat)

    def _eidlist(self) -> tuple[str, ...]:
        """``(nm [COLLATE x] [ASC|DESC], ...)``; COLLATE/ASC/DESC are errors."""
        self._expect("LP")
        names = []
        while True:
            t = self.tok
            name = self._nm()
            bad = False
            if self.tok.type == "COLLATE":
                self._advance()
                self._ids()
                bad = True
            if self.tok.type in ("ASC", "DESC"):
                self._advance()
                bad = True
            if bad:
                self._set_error(f'syntax error after column name "{t.text}"')
            names.append(name)
            if self.tok.type != "COMMA":
                break
            self._advance()
        self._expect("RP")
        return tuple(names)

    def _select(self, base: int, with_: A.With | None = None, start: int = -1) -> A.Select:
        """select ::= [WITH ...] oneselect (op oneselect)* ; ORDER BY/LIMIT on the last.

        ``with_``/``start``: a WITH clause the caller already parsed.
        """
        if start < 0:
            start = self.tok.pos
        b = base
        if with_ is None and self.tok.type == "WITH":
            with_ = self._with(base)
        if with_ is not None:
            b = base + 2
        if self.tok.type not in ("SELECT", "VALUES"):
            raise self._error()
        parts: list[tuple[str | None, A.SelectCore | A.Values, tuple, A.Expr | None,
                          A.Expr | None, int]] = []
        op: str | None = None
        cb = b
        h = 0
        while True:
            core, order, limit, offset, rows, ch = self._oneselect(cb)
            h = max(h, ch)
            parts.append((op, core, order, limit, offset, rows))
            t = self.tok.type
            if t == "UNION":
                self._advance()
                if self.tok.type == "ALL":
                    self._advance()
                    op = "UNION ALL"
                else:
                    op = "UNION"
            elif t == "INTERSECT" or t == "EXCEPT":
                op = self._advance().type
            else:
                break
            cb = b + 2
        self._check_compound(parts)
        first = parts[0]
        last = parts[-1]
        sel = A.Select(first[1], tuple(A.CompoundPart(p[0], p[1]) for p in parts[1:]), with_,
                       last[2], last[3], last[4], span=(start, self._end_of()))
        if h:
            self._heights[id(sel)] = h
        return sel

    def _check_compound(self, parts: list) -> None:
        """parserDoubleLinkSelect: ORDER BY/LIMIT placement, compound size."""
        if len(parts) == 1 and parts[0][5] <= 1:
            return
        # terms as SQLite chains them: a leading multi-row VALUES counts per row
        cnt = 1
        k = len(parts) - 1
        while k > 0:
            cnt += 1
            prior = parts[k - 1]
            if prior[2] or prior[3] is not None:
                self._set_error("%s clause should come after %s not before" % (
                    "ORDER BY" if prior[2] else "LIMIT", parts[k][0]))
                break
            k -= 1
        else:
            cnt += parts[0][5] - 1
        multi_last = len(parts) == 1 and parts[0][5] > 1
        if not multi_last and cnt > MAX_COMPOUND_SELECT:
            self._set_error("too many terms in compound SELECT")

    def _oneselect(self, base: int):
        """One SELECT core or VALUES: (core, order_by, limit, offset, rows, height)."""
        if self.tok.type == "VALUES":
            self._advance()
            rows = []
            h = 0
            first = True
            while True:
                self._push(base + 2 if first else base + 3)
                self._expect("LP")
                row = self._nexprlist(base + 2 if first else base + 3)
                for e in row:
                    h = max(h, self._h(e))
                self._expect("RP")
                rows.append(tuple(row))
                first = False
                if self.tok.type != "COMMA":
                    break
                self._advance()
            return A.Values(tuple(rows)), (), None, None, len(rows), h
        self._expect("SELECT")
        distinct = False
        if self.tok.type == "DISTINCT":
            self._advance()
            distinct = True
        elif self.tok.type == "ALL":
            self._advance()
        self._push(base + 4)
        columns = self._selcollist(base + 4)
        h = 0
        for c in columns:
            if isinstance(c, A.ResultColumn):
                h = max(h, self._h(c.expr))
        from_ = None
        if self.tok.type == "FROM":
            self._advance()
            from_ = self._from(base + 4)
        where = None
        if self.tok.type == "WHERE":
            self._advance()
            where = self._expr(base + 5)
            h = max(h, self._h(where))
        group_by: tuple[A.Expr, ...] = ()
        if self.tok.type == "GROUP":
            self._advance()
            self._expect("BY")
            group_by = tuple(self._nexprlist(base + 7))
            for e in group_by:
                h = max(h, self._h(e))
        having = None
        if self.tok.type == "HAVING":
            self._advance()
            having = self._expr(base + 7)
            h = max(h, self._h(having))
        windows: tuple[A.WindowDef, ...] = ()
        wb = 0
        if self.tok.type == "WINDOW":
            self._advance()
            windows = self._window_clause(base + 8)
            wb = 1
        order: tuple[A.OrderingTerm, ...] = ()
        if self.tok.type == "ORDER":
            self._advance()
            self._expect("BY")
            order = self._sortlist(base + 9 + wb)
            for o in order:
                h = max(h, self._h(o.expr))
        limit = offset = None
        if self.tok.type == "LIMIT":
            limit, offset = self._limit(base + 9 + wb)
            h = max(h, 1 + max(self._h(limit), self._h(offset) if offset is not None else 0))
        self._push(base + 9 + wb)  # the empty from/where/.../limit rules
        core = A.SelectCore(tuple(columns), distinct, from_, where, group_by, having, windows)
        return core, order, limit, offset, 1, h

    def _limit(self, base: int) -> tuple[A.Expr, A.Expr | None]:
        self._advance()  # LIMIT
        first = self._expr(base)
        if self.tok.type == "OFFSET":
            self._advance()
            return first, self._expr(base + 2)
        if self.tok.type == "COMMA":
            self._advance()
            second = self._expr(base + 2)
            return second, first
        return first, None

    def _window_clause(self, base: int) -> tuple[A.WindowDef, ...]:
        defs = []
        while True:
            name = self._nm()
            self._expect("AS")
            self._expect("LP")
            spec = self._window(base + 3)
            self._expect("RP")
            defs.append(A.WindowDef(name, spec))
            if self.tok.type != "COMMA":
                return tuple(defs)
            self._advance()

    def _selcollist(self, base: int) -> list[A.ResultColumn | A.Star]:
        cols: list[A.ResultColumn | A.Star] = []
        while True:
            cols.append(self._result_column(base))
            if self.tok.type != "COMMA":
                return cols
            self._advance()

    def _result_column(self, base: int) -> A.ResultColumn | A.Star:
        t = self.tok
        if t.type == "STAR":
            self._push(base + 1)
            self._advance()
            return A.Star()
        if (self._is_nm() and t.type not in ("CAST", "RAISE", "CTIME_KW")
                and self._peek().type == "DOT" and self._peek(2).type == "STAR"):
            self._advance()
            self._advance()
            self._push(base + 3)
            self._advance()
            return A.Star(_dequote(t.text))
        e = self._expr(base)
        return A.ResultColumn(e, self._as())

    def _as(self) -> str | None:
        """as ::= AS nm | ids | (nothing)."""
        if self.tok.type == "AS":
            self._advance()
            return self._nm()
        if self._is_ids():
            return _dequote(self._advance().text)
        return None

    # FROM --------------------------------------------------------------------

    def _from(self, base: int) -> A.FromClause:
        """FROM seltablist; ``base`` is the stack index of the FROM keyword."""
        items = self._seltablist(base)
        return A.FromClause(items[0][1], tuple(
            A.Join(kind, src, natural, on, using) for kind, src, natural, on, using in items[1:]))

    def _seltablist(self, base: int) -> list[tuple]:
        """A FROM list as [(kind, source, natural, on, using)], first kind None."""
        items: list[tuple] = []
        kind: str | None = None
        natural = False
        while True:
            self._from_item(items, kind, natural, base)
            t = self.tok.type
            if t == "COMMA":
                self._advance()
                kind, natural = "COMMA", False
            elif t == "JOIN":
                self._advance()
                kind, natural = "INNER", False
            elif t == "JOIN_KW":
                kind, natural = self._joinop()
            else:
                return items

    def _joinop(self) -> tuple[str, bool]:
        """JOIN_KW [nm [nm]] JOIN, checked like sqlite3JoinType."""
        words = [self._advance()]
        while self.tok.type != "JOIN" and len(words) < 3:
            if not self._is_nm():
                raise self._error()
            words.append(self._advance())
        self._expect("JOIN")
        jt = 0
        for w in words:
            bits = _JOIN_WORDS.get(w.text.lower())
            if bits is None:
                jt |= _JT_ERROR
                break
            jt |= bits
        if ((jt & (_JT_INNER | _JT_OUTER)) == (_JT_INNER | _JT_OUTER) or jt & _JT_ERROR
                or (jt & (_JT_OUTER | _JT_LEFT | _JT_RIGHT)) == _JT_OUTER):
            self._set_error("unknown join type: " + " ".join(w.text for w in words), words[0].pos)
            return "INNER", False
        natural = bool(jt & _JT_NATURAL)
        if jt & _JT_LEFT and jt & _JT_RIGHT:
            kind = "FULL"
        elif jt & _JT_LEFT:
            kind = "LEFT"
        elif jt & _JT_RIGHT:
            kind = "RIGHT"
        elif jt & _JT_CROSS:
            kind = "CROSS"
        else:
            kind = "INNER"
        return kind, natural

    def _on_using(self, base: int) -> tuple[A.Expr | None, tuple[str, ...] | None]:
        """on_using; ``base`` is the stack index of the ``as`` before it."""
        t = self.tok.type
        if t == "ON":
            self._push(base + 1)
            self._advance()
            return self._expr(base + 1), None
        if t == "USING":
            self._advance()
            self._expect("LP")
            names = [self._nm()]
            while self.tok.type == "COMMA":
                self._advance()
                names.append(self._nm())
            self._expect("RP")
            return None, tuple(names)
        return None, None

    def _append_item(self, items: list, kind: str | None, src, natural: bool,
                     on, using) -> None:
        if not items and (on is not None or using is not None):
            self._set_error("a JOIN clause is required before %s" % ("ON" if on is not None else "USING"))
        items.append((kind, src, natural, on, using))

    def _from_item(self, items: list, kind: str | None, natural: bool, base: int) -> None:
        """One seltablist term; ``base``: stack index below its stl_prefix."""
        self._push(base + 2)
        t = self.tok
        if t.type == "LP":
            self._advance()
            if self.tok.type in _SELECT_START:
                sel = self._select(base + 2)
                self._push(base + 4)
                self._expect("RP")
                alias = self._as()
                on, using = self._on_using(base + 5)
                self._push(base + 6)
                self._append_item(items, kind, A.SubquerySource(sel, alias), natural, on, using)
                return
            inner = self._seltablist(base + 2)
            self._push(base + 4)
            self._expect("RP")
            alias = self._as()
            on, using = self._on_using(base + 5)
            self._push(base + 6)
            if not items and alias is None and on is None and using is None:
                items.extend(inner)  # the parenthesised list is the list
                return
            if len(inner) == 1:
                src = inner[0][1]
                if isinstance(src, A.TableName):
                    src = A.TableName(src.name, src.schema, alias, src.args)
                elif isinstance(src, A.SubquerySource):
                    src = A.SubquerySource(src.select, alias)
                else:
                    src = A.JoinSource(src.from_, alias)
            else:
                src = A.JoinSource(A.FromClause(inner[0][1], tuple(
                    A.Join(k, s, nat, o, u) for k, s, nat, o, u in inner[1:])), alias)
            self._append_item(items, kind, src, natural, on, using)
            return
        if not self._is_nm():
            raise self._error()
        schema, name = self._dbnm()
        if self.tok.type == "LP":
            self._push(base + 4)
            self._advance()
            args = tuple(self._exprlist(base + 4))
            self._push(base + 6)
            self._expect("RP")
            alias = self._as()
            on, using = self._on_using(base + 7)
            self._push(base + 8)
            self._append_item(items, kind, A.TableName(name, schema, alias, args), natural,
                              on, using)
            return
        alias = self._as()
        indexed_by = None
        not_indexed = False
        if self.tok.type == "INDEXED":
            self._advance()
            self._expect("BY")
            indexed_by = self._nm()
        elif self.tok.type == "NOT":
            self._advance()
            self._expect("INDEXED")
            not_indexed = True
        on, using = self._on_using(base + 4 + (indexed_by is not None or not_indexed))
        self._push(base + 5)
        self._append_item(items, kind, A.TableName(name, schema, alias, None, indexed_by,
                                                   not_indexed), natural, on, using)

    # -- INSERT / UPDATE / DELETE ----------------------------------------------

    def _orconf(self) -> str | None:
        if self.tok.type != "OR":
            return None
        self._advance()
        t = self.tok.type
        if t not in _RESOLVE:
            raise self._error()
        self._advance()
        return t

    def _xfullname(self, allow_alias: bool = True) -> A.QualifiedTable:
        schema, name = self._dbnm()
        if self._trigger and schema is not None:
            self._set_error("qualified table names are not allowed on INSERT, UPDATE, "
                            "and DELETE statements within triggers")
        alias = None
        if allow_alias and self.tok.type == "AS":
            self._advance()
            alias = self._nm()
        return A.QualifiedTable(name, schema, alias)

    def _indexed_opt(self, qt: A.QualifiedTable) -> A.QualifiedTable:
        t = self.tok.type
        if t == "INDEXED":
            self._advance()
            self._expect("BY")
            name = self._nm()
            if self._trigger:
                self._set_error("the INDEXED BY clause is not allowed on UPDATE or DELETE "
                                "statements within triggers")
            return A.QualifiedTable(qt.name, qt.schema, qt.alias, name)
        if t == "NOT":
            self._advance()
            self._expect("INDEXED")
            if self._trigger:
                self._set_error("the NOT INDEXED clause is not allowed on UPDATE or DELETE "
                                "statements within triggers")
            return A.QualifiedTable(qt.name, qt.schema, qt.alias, None, True)
        return qt

    def _setlist(self, base: int) -> tuple[A.Assignment, ...]:
        out = []
        b = base
        while True:
            if self.tok.type == "LP":
                self._advance()
                names = [self._nm()]
                while self.tok.type == "COMMA":
                    self._advance()
                    names.append(self._nm())
                self._expect("RP")
                self._expect("EQ")
                out.append(A.Assignment(tuple(names), self._expr(b + 5)))
            else:
                name = self._nm()
                self._expect("EQ")
                out.append(A.Assignment((name,), self._expr(b + 2)))
            if self.tok.type != "COMMA":
                return tuple(out)
            self._advance()
            b = base + 2

    def _returning(self, base: int) -> tuple[A.ResultColumn | A.Star, ...]:
        self._advance()  # RETURNING
        cols = tuple(self._selcollist(base + 4))
        if self._trigger:
            self._set_error("cannot use RETURNING in a trigger")
        return cols

    def _where_ret(self, base: int) -> tuple[A.Expr | None, tuple]:
        where = None
        if self.tok.type == "WHERE":
            self._advance()
            where = self._expr(base + 1)
        returning: tuple = ()
        if self.tok.type == "RETURNING" and not self._trigger:
            returning = self._returning(base + 1)
        return where, returning

    def _order_limit(self, base: int) -> tuple[tuple, A.Expr | None, A.Expr | None]:
        order: tuple[A.OrderingTerm, ...] = ()
        if self.tok.type == "ORDER":
            self._advance()
            self._expect("BY")
            order = self._sortlist(base + 2)
        limit = offset = None
        if self.tok.type == "LIMIT":
            limit, offset = self._limit(base + 2)
        return order, limit, offset

    def _delete(self, base: int, with_: A.With | None = None) -> A.Statement:
        start = self.tok.pos
        self._advance()
        self._expect("FROM")
        qt = self._indexed_opt(self._xfullname(not self._trigger))
        where, returning = self._where_ret(base + 5)
        order: tuple = ()
        limit = offset = None
        if not self._trigger:
            order, limit, offset = self._order_limit(base + 6)
        return A.Delete(qt, where, returning, order, limit, offset, with_,
                        span=(start, self._end_of()))

    def _update(self, base: int, with_: A.With | None = None) -> A.Statement:
        start = self.tok.pos
        self._advance()
        orconf = self._orconf()
        qt = self._indexed_opt(self._xfullname(not self._trigger))
        self._expect("SET")
        assignments = self._setlist(base + 6)
        from_ = None
        if self.tok.type == "FROM":
            self._advance()
            from_ = self._from(base + 8)
        where, returning = self._where_ret(base + 8)
        order: tuple = ()
        limit = offset = None
        if not self._trigger:
            order, limit, offset = self._order_limit(base + 9)
        return A.Update(qt, assignments, orconf, from_, where, returning, order, limit, offset,
                        with_, span=(start, self._end_of()))

    def _insert(self, base: int, with_: A.With | None = None) -> A.Statement:
        start = self.tok.pos
        verb = self._advance().type
        orconf = "REPLACE" if verb == "REPLACE" else self._orconf()
        self._expect("INTO")
        qt = self._xfullname(not self._trigger)
        columns = None
        if self.tok.type == "LP":
            self._advance()
            names = [self._nm()]
            while self.tok.type == "COMMA":
                self._advance()
                names.append(self._nm())
            self._expect("RP")
            columns = tuple(names)
        upserts: list[A.Upsert] = []
        returning: tuple = ()
        if self.tok.type == "DEFAULT" and not self._trigger:
            self._advance()
            self._expect("VALUES")
            if self.tok.type == "RETURNING":
                returning = self._returning(base + 6)
            return A.Insert(qt, None, columns, verb, orconf, (), returning, with_,
                            span=(start, self._end_of()))
        source = self._select(base + 5)
        while self.tok.type == "ON":
            self._advance()
            self._expect("CONFLICT")
            target = None
            target_where = None
            if self.tok.type == "LP":
                self._advance()
                target = self._sortlist(base + 9)
                self._expect("RP")
                if self.tok.type == "WHERE":
                    self._advance()
                    target_where = self._expr(base + 12)
            self._expect("DO")
            if self.tok.type == "NOTHING":
                self._advance()
                upserts.append(A.Upsert(target, target_where))
            else:
                self._expect("UPDATE")
                self._expect("SET")
                sb = base + (15 if target is not None else 11)
                assignments = self._setlist(sb)
                where = None
                if self.tok.type == "WHERE":
                    self._advance()
                    where = self._expr(sb + 3)
                upserts.append(A.Upsert(target, target_where, True, assignments, where))
            if target is None:
                break  # the target-less form must be the last one
        if self.tok.type == "RETURNING":
            returning = self._returning(base + 6)
        return A.Insert(qt, source, columns, verb, orconf, tuple(upserts), returning, with_,
                        span=(start, self._end_of()))

    # -- CREATE ----------------------------------------------------------------

    def _create(self, base: int) -> A.Statement:
        start = self.tok.pos
        self._advance()
        temp = False
        t = self.tok.type
        if t == "TEMP":
            self._advance()
            temp = True
            t = self.tok.type
            if t not in ("TABLE", "VIEW", "TRIGGER"):
                raise self._error()
        if t == "TABLE":
            return self._create_table(start, temp)
        if t == "VIEW":
            return self._create_view(start, temp)
        if t == "TRIGGER":
            return self._create_trigger(start, temp)
        if t == "UNIQUE" or t == "INDEX":
            return self._create_index(start)
        if t == "VIRTUAL":
            return self._create_vtab(start)
        raise self._error()

    def _if_not_exists(self) -> bool:
        if self.tok.type == "IF":
            self._advance()
            self._expect("NOT")
            self._expect("EXISTS")
            return True
        return False

    def _name_token(self) -> tuple[str | None, str, Token]:
        """``nm [DOT nm]`` -> (schema, name, token of the name part)."""
        t = self.tok
        first = self._nm()
        if self.tok.type == "DOT":
            self._advance()
            t = self.tok
            return first, self._nm(), t
        return None, first, t

    def _lookahead_end(self) -> int:
        """Where SQLite's stored text ends: at the lookahead ';' or the end of input."""
        t = self.tok
        return t.pos if t.type == SEMI else len(self.sql)

    def _create_table(self, start: int, temp: bool) -> A.Statement:
        self._advance()  # TABLE
        ine = self._if_not_exists()
        schema, name, name_tok = self._name_token()
        if self.tok.type == "AS":
            self._advance()
            sel = self._select(2)
            return A.CreateTable(name, schema, temp, ine, as_select=sel,
                                 sql=self.sql[start:self._end_of()], schema_sql=None)
        self._expect("LP")
        columns: list[A.ColumnDef] = []
        constraints: list[A.TableConstraint] = []
        columns.append(self._column_def(3))
        while self.tok.type == "COMMA":
            self._advance()
            if self.tok.type in ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"):
                self._table_constraints(constraints)
                break
            columns.append(self._column_def(5))
        rp = self._expect("RP")
        # table_option_set ::= [option] (COMMA option)*   (the first is optional)
        options: list[str] = []
        self._table_option(options)
        while self.tok.type == "COMMA":
            self._advance()
            if not self._table_option(options):
                raise self._error()
        has_options = bool(options)
        without_rowid = "WITHOUT ROWID" in options
        strict = "STRICT" in options
        end = self._lookahead_end() if has_options else rp.end
        return A.CreateTable(name, schema, temp, ine, tuple(columns), tuple(constraints),
                             without_rowid, strict, None, sql=self.sql[start:self._end_of()],
                             schema_sql="CREATE TABLE " + self.sql[name_tok.pos:end])

    def _table_option(self, out: list[str]) -> bool:
        """``WITHOUT ROWID`` or ``STRICT``, compared on the raw token as SQLite does."""
        if self.tok.type == "WITHOUT":
            self._advance()
            opt = self.tok
            self._nm()
            if opt.text.lower() == "rowid":
                out.append("WITHOUT ROWID")
            else:
                out.append("?")
                self._set_error(f"unknown table option: {opt.text}")
            return True
        if self._is_nm():
            opt = self._advance()
            if opt.text.lower() == "strict":
                out.append("STRICT")
            else:
                out.append("?")
                self._set_error(f"unknown table option: {opt.text}")
            return True
        return False

    def _column_def(self, base: int, alter: bool = False) -> A.ColumnDef:
        start = self.tok.pos
        name = self._nm()
        type_text = self._typetoken(base + 1)
        if type_text is not None:
            type_text = _strip_generated(type_text)
            type_name = _dequote(type_text) if type_text else None
        else:
            type_name = None
        cons: list[A.ColumnConstraint] = []
        cname: str | None = None
        while True:
            t = self.tok.type
            if t == "CONSTRAINT":
                self._advance()
                cname = self._nm()
                continue
            c = self._column_constraint(t, cname, cons, base + 1)
            if c is False:
                break
            if c is not None:
                cons.append(c)
        if alter:
            end = self._lookahead_end()
            text = self.sql[start:end].rstrip(_SPACE + ";")
        else:
            text = self.sql[start:self._end_of()]
        return A.ColumnDef(name, type_name, tuple(cons), sql=text)

    def _onconf(self) -> str | None:
        if self.tok.type != "ON":
            return None
        self._advance()
        self._expect("CONFLICT")
        t = self.tok.type
        if t not in _RESOLVE:
            raise self._error()
        self._advance()
        return t

    def _column_constraint(self, t: str, cname: str | None, cons: list, base: int):
        """One ccons; None for the no-op ones, False when there is none."""
        if t == "DEFAULT":
            return self._default(cname, base)
        if t == "NULL":
            self._advance()
            self._onconf()
            return None
        if t == "NOT":
            if self._peek().type == "NULL":
                self._advance()
                self._advance()
                return A.NotNullConstraint(self._onconf(), name=cname)
            self._advance()
            self._expect("DEFERRABLE")
            self._defer(cons, False)
            return None
        if t == "PRIMARY":
            self._advance()
            self._expect("KEY")
            direction = None
            if self.tok.type in ("ASC", "DESC"):
                direction = self._advance().type
            onconf = self._onconf()
            autoinc = self._accept("AUTOINCR")
            return A.PrimaryKeyConstraint(direction, onconf, autoinc, name=cname)
        if t == "UNIQUE":
            self._advance()
            return A.UniqueConstraint(self._onconf(), name=cname)
        if t == "CHECK":
            self._advance()
            self._push(base + 2)
            self._expect("LP")
            e = self._expr(base + 2)
            self._expect("RP")
            return A.CheckConstraint(e, name=cname)
        if t == "REFERENCES":
            return A.ReferencesConstraint(self._references(base), name=cname)
        if t == "DEFERRABLE":
            self._advance()
            self._defer(cons, True)
            return None
        if t == "COLLATE":
            self._advance()
            return A.CollateConstraint(self._ids(), name=cname)
        if t == "GENERATED" or t == "AS":
            if t == "GENERATED":
                self._advance()
                self._expect("ALWAYS")
            self._expect("AS")
            self._expect("LP")
            e = self._expr(base + (4 if t == "GENERATED" else 2))
            self._expect("RP")
            storage = None
            if self.tok.type == ID or self.tok.type in FALLBACK_ID:
                storage = self._advance().text
            return A.GeneratedConstraint(e, storage is not None and storage.lower() == "stored",
                                         storage, name=cname)
        return False

    def _init_deferred(self) -> str | None:
        if self.tok.type != "INITIALLY":
            return None
        self._advance()
        t = self.tok.type
        if t != "DEFERRED" and t != "IMMEDIATE":
            raise self._error()
        return self._advance().type

    def _defer(self, cons: list, deferrable: bool) -> None:
        """A column's [NOT] DEFERRABLE [INITIALLY ..]: applies to its last REFERENCES."""
        init = self._init_deferred()
        for k in range(len(cons) - 1, -1, -1):
            c = cons[k]
            if isinstance(c, A.ReferencesConstraint):
                cl = c.clause
                cons[k] = A.ReferencesConstraint(A.ForeignKeyClause(
                    cl.table, cl.columns, cl.on_delete, cl.on_update, cl.match, deferrable,
                    deferrable and init == "DEFERRED"), name=c.name)
                return

    def _default(self, cname: str | None, base: int) -> A.ColumnConstraint:
        self._advance()  # DEFAULT
        t = self.tok
        tt = t.type
        if tt == "LP":
            self._advance()
            e = self._expr(base + 2)
            rp = self._expect("RP")
            text = self.sql[t.end:rp.pos].strip(_SPACE)
            return A.DefaultConstraint(e, text, name=cname)
        if tt == "PLUS" or tt == "MINUS":
            self._advance()
            term = self._term()
            e = term if tt == "PLUS" else A.Unary("-", term, pos=t.pos)
            return A.DefaultConstraint(e, self.sql[t.pos:self._end_of()], name=cname)
        if tt in (INTEGER, FLOAT, STRING, BLOB, "NULL", "CTIME_KW"):
            return A.DefaultConstraint(self._term(), t.text, name=cname)
        if tt in _ID_EXTRA or tt in FALLBACK_ID:
            self._advance()
            low = t.text.lower()
            if t.text[0] not in "\"'[`" and low in ("true", "false"):
                e: A.Expr = A.Literal(low == "true", "bool", t.text, pos=t.pos)
            else:
                e = A.Literal(_dequote(t.text), "string", t.text, pos=t.pos)
            return A.DefaultConstraint(e, t.text, name=cname)
        raise self._error()

    def _term(self) -> A.Expr:
        """term ::= NULL | FLOAT | BLOB | STRING | INTEGER | CTIME_KW."""
        tt = self.tok.type
        if tt not in (INTEGER, FLOAT, STRING, BLOB, "NULL", "CTIME_KW"):
            raise self._error()
        if tt == STRING:
            t = self._advance()
            return A.Literal(t.text[1:-1].replace("''", "'"), "string", t.text, pos=t.pos)
        return self._primary(0)

    def _references(self, base: int) -> A.ForeignKeyClause:
        self._advance()  # REFERENCES
        table = self._nm()
        cols = self._eidlist() if self.tok.type == "LP" else None
        on_delete = on_update = match = None
        while True:
            t = self.tok.type
            if t == "MATCH":
                self._advance()
                match = self._nm()
            elif t == "ON":
                self._advance()
                which = self.tok.type
                if which not in ("INSERT", "DELETE", "UPDATE"):
                    raise self._error()
                self._advance()
                action = self._refact()
                if which == "DELETE":
                    on_delete = action
                elif which == "UPDATE":
                    on_update = action
            else:
                break
        return A.ForeignKeyClause(table, cols, on_delete, on_update, match)

    def _refact(self) -> str:
        t = self.tok.type
        if t == "SET":
            self._advance()
            t2 = self.tok.type
            if t2 != "NULL" and t2 != "DEFAULT":
                raise self._error()
            self._advance()
            return "SET " + t2
        if t == "CASCADE" or t == "RESTRICT":
            return self._advance().type
        if t == "NO":
            self._advance()
            self._expect("ACTION")
            return "NO ACTION"
        raise self._error()

    def _table_constraints(self, out: list) -> None:
        cname: str | None = None
        b = 4  # stack index below the first table constraint
        while True:
            t = self.tok.type
            if t == "CONSTRAINT":
                self._advance()
                cname = self._nm()
                # a name alone is a (no-op) constraint; more may follow
            elif t == "PRIMARY":
                self._advance()
                self._expect("KEY")
                self._expect("LP")
                cols = self._sortlist(b + 3)
                autoinc = self._accept("AUTOINCR")
                self._expect("RP")
                out.append(A.TablePrimaryKey(cols, self._onconf(), autoinc, name=cname))
            elif t == "UNIQUE":
                self._advance()
                self._expect("LP")
                cols = self._sortlist(b + 2)
                self._expect("RP")
                out.append(A.TableUnique(cols, self._onconf(), name=cname))
            elif t == "CHECK":
                self._advance()
                self._push(b + 2)
                self._expect("LP")
                e = self._expr(b + 2)
                self._expect("RP")
                out.append(A.TableCheck(e, self._onconf(), name=cname))
            elif t == "FOREIGN":
                self._advance()
                self._expect("KEY")
                cols = self._eidlist()
                if self.tok.type != "REFERENCES":
                    raise self._error()
                clause = self._references(8)
                deferrable = None
                init = None
                if self.tok.type == "NOT":
                    self._advance()
                    self._expect("DEFERRABLE")
                    deferrable = False
                    init = self._init_deferred()
                elif self.tok.type == "DEFERRABLE":
                    self._advance()
                    deferrable = True
                    init = self._init_deferred()
                if deferrable is not None:
                    clause = A.ForeignKeyClause(clause.table, clause.columns, clause.on_delete,
                                                clause.on_update, clause.match, deferrable,
                                                deferrable and init == "DEFERRED")
                out.append(A.TableForeignKey(cols, clause, name=cname))
            else:
                raise self._error()
            b = 6
            if self.tok.type == "COMMA":
                self._advance()
                cname = None
            elif self.tok.type == "RP":
                return

    def _create_view(self, start: int, temp: bool) -> A.Statement:
        self._advance()  # VIEW
        ine = self._if_not_exists()
        schema, name, name_tok = self._name_token()
        cols = self._eidlist() if self.tok.type == "LP" else None
        self._expect("AS")
        sel = self._select(8)
        if self._nvar > 0:
            self._set_error("parameters are not allowed in views")
        end = self._lookahead_end()
        text = self.sql[name_tok.pos:end].rstrip(_SPACE)
        return A.CreateView(name, sel, schema, temp, ine, cols,
                            sql=self.sql[start:self._end_of()], schema_sql="CREATE VIEW " + text)

    def _create_index(self, start: int) -> A.Statement:
        unique = self._accept("UNIQUE")
        self._expect("INDEX")
        ine = self._if_not_exists()
        schema, name, name_tok = self._name_token()
        self._expect("ON")
        table = self._nm()
        self._expect("LP")
        cols = self._sortlist(9)
        self._expect("RP")
        where = None
        if self.tok.type == "WHERE":
            self._advance()
            where = self._expr(12)
        end = self._lookahead_end()
        return A.CreateIndex(name, table, cols, schema, unique, ine, where,
                             sql=self.sql[start:self._end_of()],
                             schema_sql=("CREATE UNIQUE INDEX " if unique else "CREATE INDEX ")
                             + self.sql[name_tok.pos:end])

    def _create_vtab(self, start: int) -> A.Statement:
        self._advance()  # VIRTUAL
        self._expect("TABLE")
        ine = self._if_not_exists()
        schema, name, name_tok = self._name_token()
        self._expect("USING")
        module = self._nm()
        args: tuple[str, ...] | None = None
        if self.tok.type == "LP":
            self._advance()
            out: list[str] = []
            depth = 0
            arg_start = arg_end = -1
            while True:
                t = self.tok
                tt = t.type
                if tt == EOF:
                    raise self._error()
                if depth == 0 and (tt == "COMMA" or tt == "RP"):
                    if arg_start >= 0:
                        out.append(self.sql[arg_start:arg_end])
                    arg_start = arg_end = -1
                    if tt == "RP":
                        self._advance()
                        break
                    self._advance()
                    continue
                if tt == "LP":
                    depth += 1
                elif tt == "RP":
                    depth -= 1
                if arg_start < 0:
                    arg_start = t.pos
                arg_end = t.end
                self._advance()
            args = tuple(out)
        return A.CreateVirtualTable(name, module, schema, ine, args,
                                    sql=self.sql[start:self._end_of()],
                                    schema_sql="CREATE VIRTUAL TABLE "
                                    + self.sql[name_tok.pos:self._end_of()])

    def _create_trigger(self, start: int, temp: bool) -> A.Statement:
        self._advance()  # TRIGGER
        ine = self._if_not_exists()
        schema, name, name_tok = self._name_token()
        timing = None
        t = self.tok.type
        if t == "BEFORE" or t == "AFTER":
            timing = self._advance().type
        elif t == "INSTEAD":
            self._advance()
            self._expect("OF")
            timing = "INSTEAD OF"
        t = self.tok.type
        if t not in ("DELETE", "INSERT", "UPDATE"):
            raise self._error()
        event = self._advance().type
        update_cols = None
        if event == "UPDATE" and self.tok.type == "OF":
            self._advance()
            names = [self._nm()]
            while self.tok.type == "COMMA":
                self._advance()
                names.append(self._nm())
            update_cols = tuple(names)
        self._expect("ON")
        tschema, table = self._dbnm()
        for_each_row = False
        if self.tok.type == "FOR":
            self._advance()
            self._expect("EACH")
            self._expect("ROW")
            for_each_row = True
        when = None
        if self.tok.type == "WHEN":
            self._advance()
            when = self._expr(12)
        self._expect("BEGIN")
        body: list[A.Statement] = []
        self._trigger = True
        try:
            while True:
                body.append(self._trigger_cmd(4 if not body else 5))
                self._expect(SEMI)
                if self.tok.type == "END":
                    break
        finally:
            self._trigger = False
        end_tok = self._advance()
        return A.CreateTrigger(name, event, table, tuple(body), schema, tschema, temp, ine,
                               timing, update_cols, for_each_row, when,
                               sql=self.sql[start:end_tok.end],
                               schema_sql="CREATE TRIGGER " + self.sql[name_tok.pos:end_tok.end])

    def _trigger_cmd(self, base: int) -> A.Statement:
        t = self.tok.type
        start = self.tok.pos
        if t == "UPDATE":
            return self._update(base - 2)
        if t == "INSERT" or t == "REPLACE":
            return self._insert(base - 1)
        if t == "DELETE":
            return self._delete(base - 2)
        if t in _SELECT_START:
            sel = self._select(base)
            return _with_span(sel, (start, self._end_of()))
        raise self._error()


def _has_function(e: A.Expr) -> bool:
    """EP_HasFunc, roughly: does the expression contain a function call?"""
    if isinstance(e, A.FunctionCall):
        return True
    for name in getattr(type(e), "__attrs_attrs__", ()):
        v = getattr(e, name.name)
        if isinstance(v, A.Expr) and _has_function(v):
            return True
        if isinstance(v, tuple):
            for x in v:
                if isinstance(x, A.Expr) and _has_function(x):
                    return True
    return False


def _with_span(stmt: A.Statement, span: tuple[int, int]) -> A.Statement:
    """The statement with its ``span`` set (spans are not part of equality)."""
    if stmt.span == span:
        return stmt
    return attrs.evolve(stmt, span=span)


_CMD: dict[str, Callable[[_Parser, int], A.Statement]] = {
    "BEGIN": _Parser._begin, "COMMIT": _Parser._commit, "END": _Parser._commit,
    "ROLLBACK": _Parser._rollback, "SAVEPOINT": _Parser._savepoint,
    "RELEASE": _Parser._release, "PRAGMA": _Parser._pragma, "ATTACH": _Parser._attach,
    "DETACH": _Parser._detach, "VACUUM": _Parser._vacuum, "ANALYZE": _Parser._analyze,
    "REINDEX": _Parser._reindex, "DROP": _Parser._drop, "ALTER": _Parser._alter,
    "CREATE": _Parser._create, "SELECT": _Parser._select_cmd, "VALUES": _Parser._select_cmd,
    "WITH": _Parser._with_cmd, "DELETE": _Parser._delete, "UPDATE": _Parser._update,
    "INSERT": _Parser._insert, "REPLACE": _Parser._insert,
}


# -- public API ----------------------------------------------------------------

def _guard(fn: Callable, *args):
    """Run a parse step; a RecursionError (never expected) becomes a ParseError."""
    try:
        return fn(*args)
    except RecursionError:
        raise ParseError("parser stack overflow") from None


def iter_parse(sql: str, start: int = 0) -> Iterator[tuple[A.Statement, int]]:
    """Statements of a script one at a time, with the offset just past each.

    Errors are raised when the statement containing them is reached, as
    ``sqlite3_exec``/``executescript`` see them (earlier statements have
    already been yielded). Offsets are into ``sql``.
    """
    p = _guard(_Parser, sql, start)
    while True:
        stmt, tail = _guard(p.next_statement)
        if stmt is None:
            return
        yield stmt, tail


def parse(sql: str) -> list[A.Statement]:
    """Parse a script: every statement, in order (empty statements skipped).

    Raises ``SqlSyntaxError`` / ``ParseError`` (``OperationalError``
    subclasses, with ``.offset``) at the first error.
    """
    return [stmt for stmt, _tail in iter_parse(sql)]


def parse_first(sql: str, start: int = 0) -> tuple[A.Statement | None, int]:
    """The first statement of ``sql[start:]`` and the offset just past it.

    ``sqlite3_prepare`` semantics: ``(None, len(sql))`` when only whitespace,
    comments and semicolons remain; text after the first statement is not
    parsed, so an error there does not affect this call.
    """
    p = _guard(_Parser, sql, start)
    return _guard(p.next_statement)


def parse_one(sql: str) -> A.Statement | None:
    """Parse exactly one statement (a trailing ``;`` and comments are fine).

    Returns None for text with no statement. More than one statement raises
    ``ProgrammingError("You can only execute one statement at a time.")`` as
    stdlib ``sqlite3``'s ``execute`` does.
    """
    stmt, tail = parse_first(sql)
    if stmt is not None:
        for t in scan(sql, tail):
            if t.type not in ("SPACE", "COMMENT", SEMI, EOF):
                raise ProgrammingError("You can only execute one statement at a time.")
    return stmt


class StatementText(NamedTuple):
    """One statement of a script: its text and (start, end) offsets."""

    text: str
    start: int
    end: int


_COMPLETE_CLASS = {"CREATE": 4, "TEMP": 5, "TEMPORARY": 5, "TRIGGER": 6, "END": 7, "EXPLAIN": 3}


def split_statements(sql: str) -> list[StatementText]:
    """Split a script into statement texts without parsing them.

    Lexical, as the sqlite3 shell does it: a statement ends at a ``;``
    outside strings, identifiers and comments, except inside ``CREATE [TEMP]
    TRIGGER ... END`` (``sqlite3_complete``'s state machine). Each text runs
    from the statement's first token to its last, semicolon excluded;
    stretches with no token are left out; an unterminated last statement is
    included as it stands.
    """
    trans = COMPLETE_TRANS
    out: list[StatementText] = []
    state = 1
    start = end = -1
    for t in scan(sql):
        tt = t.type
        if tt == "SPACE" or tt == "COMMENT" or tt == EOF:
            continue
        if tt == SEMI:
            state = trans[state][0]
            if state == 1:
                if start >= 0:
                    out.append(StatementText(sql[start:end], start, end))
                start = end = -1
            else:
                end = t.end
            continue
        cls = 2
        if (tt != ID or t.text[0] not in "\"`[") and t.text.isascii():
            cls = _COMPLETE_CLASS.get(t.text.upper(), 2)
        state = trans[state][cls]
        if start < 0:
            start = t.pos
        end = t.end
    if start >= 0:
        out.append(StatementText(sql[start:end], start, end))
    return out
