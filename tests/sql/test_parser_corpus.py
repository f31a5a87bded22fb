"""The sqllogictest corpus through the parser, with stdlib sqlite3 as the judge.

Every ``statement ok``/``statement error``/``query`` record of
/work/shared/conformance/sqllogictest (minus ``onlyif <other engine>`` and
``skipif sqlite`` ones) is parsed and compared with ``sqlite3_prepare``
(see ``test_parser_oracle.agree``): what SQLite parses we parse, and where
SQLite reports a syntax error we report the same one, at the same offset.
The default run takes every record of the small files and a seeded sample of
the large ones; MVLITE_SLOW=1 runs everything.
"""
from __future__ import annotations

import os
import random

import pytest

from sql.parser import parse_first
from sql.tokenizer import tokenize
from test_parser_oracle import CORPUS, agree, corpus_files, corpus_records, sqlite_prepare

SAMPLE = 1200  # records per large file in the default run


def _check(path: str, records: list[tuple[int, str, str]]) -> None:
    failures = []
    for line, _kind, sql in records:
        if sqlite_prepare(sql)[0] is None:
            stmt, _tail = parse_first(sql)  # must not raise
            toks = tokenize(sql)
            # the statement spans its tokens, semicolon excluded
            end = toks[-2].end if toks[-2].type != "SEMI" else toks[-3].end
            assert stmt.span == (toks[0].pos, end), (line, sql)
            continue
        why = agree(sql)
        if why is not None:
            failures.append(f"{os.path.relpath(path, CORPUS)}:{line}: {why}\n    {sql[:300]!r}")
    assert not failures, "\n".join(failures[:20])


def _params():
    out = []
    for path in corpus_files():
        out.append(pytest.param(path, id=os.path.relpath(path, CORPUS)))
    return out


@pytest.mark.parametrize("path", _params())
def test_corpus_sample(path):
    records = corpus_records(path)
    assert records
    if len(records) > SAMPLE:
        records = random.Random(path).sample(records, SAMPLE)
    _check(path, records)


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("path", _params())
def test_corpus_full(path):
    _check(path, corpus_records(path))
