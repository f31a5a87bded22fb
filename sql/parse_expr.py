"""SQLite's expression grammar, as a mixin of the SQL parser.

Single job: parse.y's expression rules -- ``expr``/``term`` with their
operators, literals, column references, parameters, CAST, CASE, RAISE,
subqueries, function calls with FILTER/OVER and window specifications,
ORDER BY terms and type names -- written as the methods of ``ExprGrammar``,
which ``sql.parser._Parser`` inherits. The methods use the parser's token
cursor (``tok``, ``_advance``, ``_expect``, ``_push``, ``_error``,
``_set_error``, ``_nm``, ``_ids``, ``_dbnm``, ...) and its SELECT rule
(``_select``) through ``self``. Grammar reference: SQLite's ``parse.y`` and
"SQL As Understood By SQLite" (lang_expr); see ``sql.parser`` for the
fidelity rules every grammar part follows.

- Operator precedence is parse.y's ``%left/%right`` table, lowest first:
  OR; AND; NOT (prefix); IS MATCH LIKE GLOB REGEXP BETWEEN IN ISNULL NOTNULL
  != =; > <= < >=; ESCAPE; & | << >>; + -; * / %; || -> ->>; COLLATE;
  unary - + ~. It is implemented as precedence climbing (``_LBP`` below).
- Expression heights are tracked as SQLite computes them (including its
  constant folding of ``AND 0`` and ``x IN ()``), so that "Expression tree
  is too large (maximum depth 1000)" is raised where SQLite raises it.

Being the bottom layer of the grammar, this module also holds the limits and
the lexical helpers (token classes, ``_dequote``) that every part uses.
"""
from __future__ import annotations

from sql import ast as A
from sql.tokenizer import BLOB, FALLBACK_ID, FLOAT, ID, INTEGER, STRING, VARIABLE

#: SQLITE_MAX_EXPR_DEPTH of the stdlib sqlite3 build
MAX_EXPR_DEPTH = 1000
#: SQLITE_MAX_VARIABLE_NUMBER of the stdlib sqlite3 build
MAX_VARIABLE_NUMBER = 250000
#: SQLITE_MAX_FUNCTION_ARG
MAX_FUNCTION_ARG = 127

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


def _int_value(text: str) -> int:
    """The value of an INTEGER token (hex wraps to signed 64 bits if it fits)."""
    if text[:2] in ("0x", "0X"):
        v = int(text, 16)
        if v <= 0xFFFFFFFFFFFFFFFF and v >= 1 << 63:
            v -= 1 << 64
        return v
    return int(text)


class ExprGrammar:
    """The expression rules of ``sql.parser._Parser`` (a mixin: no state of its own).

    Uses the parser's expression-height map (``_heights``), folded-constant
    set (``_false``) and parameter numbering (``_nvar``, ``_var_by_name``,
    ``_var_names``), all reset for each statement by ``next_statement``.
    """

    # -- heights ---------------------------------------------------------------

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

    def _select_h(self, sel: A.Select) -> int:
        return self._heights.get(id(sel), 0)

    # -- expressions -----------------------------------------------------------

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
