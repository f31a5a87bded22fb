"""SQLite's tokenizer: SQL text to a list of tokens, exactly as SQLite splits it.

Single job: lexical analysis of SQLite's SQL dialect (version 3.40, the stdlib
``sqlite3`` we test against). The rules are those of SQLite's ``tokenize.c``
(``sqlite3GetToken``), documented for users in "SQL As Understood By SQLite"
(lang_keywords, lang_expr "Literal Values", "Parameters"); grammar-level
questions belong to ``sql.parser``.

Public surface:

- ``tokenize(sql) -> list[Token]``: the significant tokens (no whitespace or
  comments), ending with one ``EOF`` token. Malformed tokens are *not* errors
  here: they come out as ``ILLEGAL`` tokens, because SQLite reports them only
  when the parser reaches them (an earlier syntax error wins).
- ``scan(sql)``: every token including ``SPACE`` and ``COMMENT``, for tools.
- ``complete_statement(sql) -> bool``: ``sqlite3_complete()``.
- ``KEYWORDS`` (text -> token type), ``FALLBACK_ID`` (keywords that may be
  used as identifiers, SQLite's ``%fallback ID`` list), token type names.

Token rules (first character decides; "IdChar" is ``[A-Za-z0-9_$]`` or any
character >= U+0080):

| starts with          | token                                               |
|----------------------|-----------------------------------------------------|
| space \\t \\n \\f \\r    | SPACE; continues over those and \\v                  |
| U+FEFF (BOM)         | SPACE (one character)                               |
| ``--``               | COMMENT to end of line (newline not included)       |
| ``/*``               | COMMENT to ``*/`` or to end of input (a ``/*`` that |
|                      | ends the input is ``/`` then ``*``)                 |
| ``'``                | STRING, ``''`` escapes a quote; unterminated: ILLEGAL|
| ``"`` `````` ``[``   | ID (quoted identifier); unterminated: ILLEGAL       |
| ``X'`` / ``x'``      | BLOB: even number of hex digits then ``'``, else    |
|                      | ILLEGAL up to and including the next ``'``          |
| digit, ``.digit``    | INTEGER / FLOAT; ``0x`` + hex digits is INTEGER;    |
|                      | IdChars glued to a decimal number make it ILLEGAL   |
| ``?``                | VARIABLE ``?`` or ``?NNN``                          |
| ``$ @ : #``          | VARIABLE: IdChars, ``::`` and a Tcl ``(...)`` suffix|
| letter, ``_``, >=0x80| ID, or a keyword if the IdChar run is one           |
| operators            | ``- ( ) ; + * / % = == < <= <> << > >= >> != , & ~``|
|                      | ``| || . -> ->>``; a lone ``!`` is ILLEGAL          |
| NUL                  | end of input (SQLite stops reading there)           |

WINDOW, OVER and FILTER are keywords only in context (SQLite's
``analyzeWindowKeyword`` and friends): WINDOW when followed by ``name AS``,
OVER when it follows ``)`` and precedes ``(`` or a name, FILTER when it
follows ``)`` and precedes ``(``; elsewhere they are plain identifiers.
"""
from __future__ import annotations

import re

__all__ = [
    "Token", "tokenize", "scan", "complete_statement", "KEYWORDS", "FALLBACK_ID",
    "ID", "STRING", "INTEGER", "FLOAT", "BLOB", "VARIABLE", "ILLEGAL", "EOF",
    "SPACE", "COMMENT", "COMPLETE_TRANS",
]

# -- token types that are not keywords ---------------------------------------
ID = "ID"
STRING = "STRING"
INTEGER = "INTEGER"
FLOAT = "FLOAT"
BLOB = "BLOB"
VARIABLE = "VARIABLE"
ILLEGAL = "ILLEGAL"
SPACE = "SPACE"
COMMENT = "COMMENT"
EOF = "EOF"
LP, RP, SEMI, COMMA, DOT = "LP", "RP", "SEMI", "COMMA", "DOT"
PLUS, MINUS, STAR, SLASH, REM = "PLUS", "MINUS", "STAR", "SLASH", "REM"
EQ, NE, LT, LE, GT, GE = "EQ", "NE", "LT", "LE", "GT", "GE"
LSHIFT, RSHIFT, BITAND, BITOR, BITNOT = "LSHIFT", "RSHIFT", "BITAND", "BITOR", "BITNOT"
CONCAT, PTR = "CONCAT", "PTR"

#: every SQLite 3.40 keyword (sqlite3_keyword_name) -> its token type; most are
#: their own type, a few share one (the parser's TK_ codes).
KEYWORDS: dict[str, str] = {k: k for k in (
    "ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH BEFORE "
    "BEGIN BETWEEN BY CASCADE CASE CAST CHECK COLLATE COMMIT CONFLICT "
    "CONSTRAINT CREATE CURRENT DATABASE DEFAULT DEFERRABLE DEFERRED DELETE DESC "
    "DETACH DISTINCT DO DROP EACH ELSE END ESCAPE EXCEPT EXCLUDE EXCLUSIVE "
    "EXISTS EXPLAIN FAIL FILTER FIRST FOLLOWING FOR FOREIGN FROM GENERATED "
    "GROUP GROUPS HAVING IF IGNORE IMMEDIATE IN INDEX INDEXED INITIALLY INSERT "
    "INSTEAD INTERSECT INTO IS ISNULL JOIN KEY LAST LIMIT MATCH MATERIALIZED NO "
    "NOT NOTHING NOTNULL NULL NULLS OF OFFSET ON OR ORDER OTHERS OVER PARTITION "
    "PLAN PRAGMA PRECEDING PRIMARY QUERY RAISE RANGE RECURSIVE REFERENCES "
    "REINDEX RELEASE RENAME REPLACE RESTRICT RETURNING ROLLBACK ROW ROWS "
    "SAVEPOINT SELECT SET TABLE TEMP THEN TIES TO TRANSACTION TRIGGER UNBOUNDED "
    "UNION UNIQUE UPDATE USING VACUUM VALUES VIEW VIRTUAL WHEN WHERE WINDOW "
    "WITH WITHOUT").split()}
KEYWORDS.update({
    "AUTOINCREMENT": "AUTOINCR", "COLUMN": "COLUMNKW", "TEMPORARY": "TEMP",
    "CROSS": "JOIN_KW", "FULL": "JOIN_KW", "INNER": "JOIN_KW", "LEFT": "JOIN_KW",
    "NATURAL": "JOIN_KW", "OUTER": "JOIN_KW", "RIGHT": "JOIN_KW",
    "GLOB": "LIKE_KW", "LIKE": "LIKE_KW", "REGEXP": "LIKE_KW",
    "CURRENT_DATE": "CTIME_KW", "CURRENT_TIME": "CTIME_KW",
    "CURRENT_TIMESTAMP": "CTIME_KW",
})

#: keyword token types that become an identifier wherever the grammar has no
#: use for the keyword itself (parse.y's ``%fallback ID`` list, SQLite 3.40)
FALLBACK_ID: frozenset[str] = frozenset((
    "ABORT ACTION AFTER ANALYZE ASC ATTACH BEFORE BEGIN BY CASCADE CAST "
    "COLUMNKW CONFLICT DATABASE DEFERRED DESC DETACH DO EACH END EXCLUSIVE "
    "EXPLAIN FAIL FOR IGNORE IMMEDIATE INITIALLY INSTEAD LIKE_KW MATCH NO PLAN "
    "QUERY KEY OF OFFSET PRAGMA RAISE RECURSIVE RELEASE REPLACE RESTRICT ROW "
    "ROWS ROLLBACK SAVEPOINT TEMP TRIGGER VACUUM VIEW VIRTUAL WITH WITHOUT "
    "NULLS FIRST LAST CURRENT FOLLOWING PARTITION PRECEDING RANGE UNBOUNDED "
    "EXCLUDE GROUPS OTHERS TIES GENERATED ALWAYS MATERIALIZED REINDEX RENAME "
    "CTIME_KW IF").split())


class Token:
    """One token: its type (``ID``, ``STRING``, ``SELECT``...), text and offset."""

    __slots__ = ("type", "text", "pos")

    def __init__(self, type: str, text: str, pos: int) -> None:  # noqa: A002
        self.type = type
        self.text = text
        self.pos = pos

    @property
    def end(self) -> int:
        """Offset just past the token."""
        return self.pos + len(self.text)

    def __repr__(self) -> str:
        return f"Token({self.type}, {self.text!r}, {self.pos})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Token) and self.type == other.type
                and self.text == other.text and self.pos == other.pos)

    __hash__ = None  # type: ignore[assignment]


# One regular expression finds the extent of every token whose extent needs
# no lookahead logic; the group name is the token kind. Order matters (the
# first alternative that matches wins, as in sqlite3GetToken's switch).
# Quoted tokens use possessive quantifiers: SQLite never backtracks, so
# three quotes are one unterminated string, not a string and a quote.
_IDCHAR = r"[A-Za-z0-9_$\u0080-\U0010FFFF]"
_TOKEN_RE = re.compile(r"""
  (?P<space>[ \t\n\f\r][ \t\n\f\r\v]*|\ufeff)
| (?P<lcomment>--[^\n]*)
| (?P<bcomment>/\*(?:.*?\*/|.+\Z))
| (?P<blob>[xX]'(?:[0-9a-fA-F][0-9a-fA-F])*')
| (?P<badblob>[xX]'[^']*'?)
| (?P<word>[A-Za-z_\u0080-\U0010FFFF]""" + _IDCHAR + r"""*)
| (?P<hex>0[xX][0-9a-fA-F]+)
| (?P<number>(?:[0-9]+(?P<frac>\.[0-9]*)?|\.[0-9]+)(?P<exp>[eE][+-]?[0-9]+)?(?P<glued>""" + _IDCHAR + r"""+)?)
| (?P<string>'[^']*+(?:''[^']*+)*+')
| (?P<dquote>"[^"]*+(?:""[^"]*+)*+")
| (?P<bquote>`[^`]*+(?:``[^`]*+)*+`)
| (?P<bracket>\[[^\]]*\])
| (?P<badquote>['"`\[].*\Z)
| (?P<qvar>\?[0-9]*)
| (?P<op>->>|->|\|\||<<|>>|<=|>=|<>|==|!=|[-()+*/%=<>;,&~|.])
""", re.VERBOSE | re.DOTALL)

_OPS = {
    "(": LP, ")": RP, ";": SEMI, ",": COMMA, ".": DOT, "+": PLUS, "-": MINUS,
    "*": STAR, "/": SLASH, "%": REM, "=": EQ, "==": EQ, "<": LT, "<=": LE,
    "<>": NE, "!=": NE, ">": GT, ">=": GE, "<<": LSHIFT, ">>": RSHIFT,
    "&": BITAND, "|": BITOR, "~": BITNOT, "||": CONCAT, "->": PTR, "->>": PTR,
}
_GROUP_TYPE = {
    "space": SPACE, "lcomment": COMMENT, "bcomment": COMMENT, "blob": BLOB,
    "badblob": ILLEGAL, "hex": INTEGER, "string": STRING, "dquote": ID,
    "bquote": ID, "bracket": ID, "badquote": ILLEGAL, "qvar": VARIABLE,
}
_IDCHAR_RE = re.compile(_IDCHAR)
_SPACE_CHARS = " \t\n\f\r\v"


def _variable_end(sql: str, i: int, n: int) -> tuple[int, bool]:
    """End of a ``$ @ : #`` parameter starting at ``i``, and whether it is legal.

    After the prefix come IdChars, ``::`` pairs (Tcl namespaces) and, once a
    name has started, one ``(...)`` suffix that must close before whitespace.
    """
    j = i + 1
    nchars = 0
    match = _IDCHAR_RE.match
    while j < n:
        c = sql[j]
        if match(c):
            nchars += 1
            j += 1
        elif c == "(" and nchars > 0:
            j += 1
            while j < n and sql[j] not in _SPACE_CHARS and sql[j] != ")":
                j += 1
            if j < n and sql[j] == ")":
                return j + 1, True
            return j, False
        elif c == ":" and j + 1 < n and sql[j + 1] == ":":
            j += 2
        else:
            break
    return j, nchars > 0


def scan(sql: str, start: int = 0) -> list[Token]:
    """Every token of ``sql[start:]``, whitespace and comments included, then
    ``EOF``; offsets are into ``sql``.

    The text ends at its first NUL character, as it does for SQLite. WINDOW,
    OVER and FILTER are left as keywords; ``tokenize`` resolves them.
    """
    return _scan(sql, start, True)


def _scan(sql: str, start: int, keep_space: bool) -> list[Token]:
    nul = sql.find("\0", start)
    if nul >= 0:
        sql = sql[:nul]
    n = len(sql)
    out: list[Token] = []
    append = out.append
    match = _TOKEN_RE.match
    keywords = KEYWORDS
    ops = _OPS
    group_type = _GROUP_TYPE
    i = start
    while i < n:
        m = match(sql, i)
        if m is None:
            c = sql[i]
            if c in "$@:#":
                j, ok = _variable_end(sql, i, n)
                append(Token(VARIABLE if ok else ILLEGAL, sql[i:j], i))
                i = j
            else:
                # ! without =, \\, ^, ], {, }, control characters, \\v first
                append(Token(ILLEGAL, c, i))
                i += 1
            continue
        kind = m.lastgroup
        j = m.end()
        if not keep_space and (kind == "space" or kind == "lcomment" or kind == "bcomment"):
            i = j
            continue
        text = sql[i:j]
        if kind == "word":
            ttype = keywords.get(text.upper(), ID) if text.isascii() else ID
        elif kind == "op":
            ttype = ops[text]
        elif kind == "number":
            if m.group("glued") is not None:
                ttype = ILLEGAL
            elif m.group("frac") is not None or m.group("exp") is not None or text[0] == ".":
                ttype = FLOAT
            else:
                ttype = INTEGER
        else:
            ttype = group_type[kind]
        append(Token(ttype, text, i))
        i = j
    append(Token(EOF, "", n))
    return out


def _id_like(ttype: str) -> bool:
    """SQLite's getToken() view of a lookahead token: is it a name?"""
    return (ttype == ID or ttype == STRING or ttype == "JOIN_KW" or ttype == "WINDOW"
            or ttype == "OVER" or ttype in FALLBACK_ID)


def tokenize(sql: str, start: int = 0) -> list[Token]:
    """The significant tokens of ``sql[start:]`` (no SPACE/COMMENT), ending
    with EOF; offsets are into ``sql``.

    WINDOW/OVER/FILTER become keywords or IDs by context, as in SQLite's
    ``sqlite3RunParser``.
    """
    toks = _scan(sql, start, False)
    n = len(toks)
    for k in range(n):
        t = toks[k]
        tt = t.type
        if tt == "WINDOW":
            if not (k + 2 < n and _id_like(toks[k + 1].type) and toks[k + 2].type == "AS"):
                t.type = ID
        elif tt == "OVER":
            if not (k > 0 and toks[k - 1].type == RP and k + 1 < n
                    and (toks[k + 1].type == LP or _id_like(toks[k + 1].type))):
                t.type = ID
        elif tt == "FILTER":
            if not (k > 0 and toks[k - 1].type == RP and k + 1 < n and toks[k + 1].type == LP):
                t.type = ID
    return toks


# -- sqlite3_complete ----------------------------------------------------------
# States of sqlite3_complete's machine (complete.c) and its token classes;
# COMPLETE_TRANS[state][token class] is the next state (parser.split_statements
# walks the same machine over real tokens).
_tkSEMI, _tkWS, _tkOTHER, _tkEXPLAIN, _tkCREATE, _tkTEMP, _tkTRIGGER, _tkEND = range(8)
COMPLETE_TRANS = (
    # SEMI WS OTHER EXPLAIN CREATE TEMP TRIGGER END
    (1, 0, 2, 3, 4, 2, 2, 2),  # 0 INVALID: nothing but whitespace seen
    (1, 1, 2, 3, 4, 2, 2, 2),  # 1 START: at a statement boundary
    (1, 2, 2, 2, 2, 2, 2, 2),  # 2 NORMAL: inside a statement
    (1, 3, 3, 2, 4, 2, 2, 2),  # 3 EXPLAIN: after EXPLAIN
    (1, 4, 2, 2, 2, 4, 5, 2),  # 4 CREATE: after [EXPLAIN] CREATE [TEMP]
    (6, 5, 5, 5, 5, 5, 5, 5),  # 5 TRIGGER: inside CREATE TRIGGER
    (6, 6, 5, 5, 5, 5, 5, 7),  # 6 SEMI: after a ; inside a trigger
    (1, 7, 5, 5, 5, 5, 5, 5),  # 7 END: after ; END inside a trigger
)
_COMPLETE_WORDS = {"CREATE": _tkCREATE, "TRIGGER": _tkTRIGGER, "TEMP": _tkTEMP,
                   "TEMPORARY": _tkTEMP, "END": _tkEND, "EXPLAIN": _tkEXPLAIN}
_WORD_RE = re.compile(_IDCHAR + "+")


def complete_statement(sql: str) -> bool:
    """``sqlite3_complete()``: does ``sql`` end with a complete statement?

    True when the text ends with a semicolon that is not inside a string,
    identifier, comment or CREATE TRIGGER body (which needs ``; END;``).
    Syntax is not checked. This is SQLite's own small state machine, which
    also has its own rules for unterminated comments and quotes.
    """
    nul = sql.find("\0")
    if nul >= 0:
        sql = sql[:nul]
    n = len(sql)
    state = 0
    trans = COMPLETE_TRANS
    i = 0
    while i < n:
        c = sql[i]
        if c == ";":
            token = _tkSEMI
            i += 1
        elif c in " \r\t\n\f":
            token = _tkWS
            i += 1
        elif c == "/":
            if sql.startswith("*", i + 1):
                j = sql.find("*/", i + 2)
                if j < 0:
                    return False
                i = j + 2
                token = _tkWS
            else:
                token = _tkOTHER
                i += 1
        elif c == "-":
            if sql.startswith("-", i + 1):
                j = sql.find("\n", i + 2)
                if j < 0:
                    return state == 1
                i = j + 1
                token = _tkWS
            else:
                token = _tkOTHER
                i += 1
        elif c == "[":
            j = sql.find("]", i + 1)
            if j < 0:
                return False
            i = j + 1
            token = _tkOTHER
        elif c in "`\"'":
            j = sql.find(c, i + 1)
            if j < 0:
                return False
            i = j + 1
            token = _tkOTHER
        else:
            m = _WORD_RE.match(sql, i)
            if m is not None:
                word = m.group()
                i = m.end()
                token = _COMPLETE_WORDS.get(word.upper(), _tkOTHER) if word.isascii() else _tkOTHER
            else:
                token = _tkOTHER
                i += 1
        state = trans[state][token]
    return state == 1
