"""``python -m storage demo FILE``: the storage layer at work on a real file.

Until the SQL layer exists this is the project's main job: stdlib ``sqlite3``
makes a database (if FILE does not exist), mvlite's storage layer reads it,
appends rows to a table and its index through the B-tree and the WAL in one
transaction, checks the result with its own integrity checker and closes
(checkpoint, WAL removed); then ``sqlite3`` opens the file again, runs
``PRAGMA integrity_check`` and reads our rows back.
"""
from __future__ import annotations

import os
import random
import sqlite3
import sys

from storage import btree, integrity
from storage.errors import Error
from storage.pager import Pager
from storage.record import encode_record
from storage.schema_table import read_schema

_TABLE, _INDEX = "notes", "notes_stars"


def _create_with_sqlite3(path: str) -> None:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(f"CREATE TABLE {_TABLE}(id INTEGER PRIMARY KEY, body TEXT, stars INT)")
    con.execute(f"CREATE INDEX {_INDEX} ON {_TABLE}(stars)")
    rnd = random.Random(1)
    con.executemany(f"INSERT INTO {_TABLE}(body, stars) VALUES (?, ?)",
                    [(f"note {i} " + "x" * rnd.randrange(0, 300), rnd.randrange(1, 6)) for i in range(1000)])
    con.commit()
    con.close()


def run(path: str, new_rows: int = 100) -> int:
    """Run the demo on ``path``; return a process exit code."""
    if not os.path.exists(path):
        print(f"sqlite3: creating {path} with table {_TABLE} (1000 rows) and index {_INDEX}")
        _create_with_sqlite3(path)
    pager = Pager.open(path)
    try:
        rtxn = pager.begin_read()
        objects = {row.name: row for row in read_schema(rtxn)}
        if _TABLE not in objects or _INDEX not in objects:
            print(f"Error: {path} has no table {_TABLE!r} with index {_INDEX!r}; "
                  "give a new file name to let the demo create one")
            return 1
        troot, iroot = objects[_TABLE].rootpage, objects[_INDEX].rootpage
        before = btree.count(rtxn, troot)
        print(f"mvlite storage: page size {pager.page_size}, {rtxn.db_size} pages, "
              f"{before} rows in {_TABLE} (root page {troot}), index root page {iroot}")
        rtxn.end()

        txn = pager.begin_write()
        next_id = (btree.table_max_rowid(txn, troot) or 0) + 1
        keyinfo = btree.KeyInfo(collations=(None,), desc=(False,))
        for i in range(new_rows):
            rowid, stars = next_id + i, 5
            btree.table_insert(txn, troot, rowid, encode_record((None, f"written by mvlite #{i}", stars)))
            btree.index_insert(txn, iroot, (stars, rowid), keyinfo)
        txn.commit()
        print(f"mvlite storage: appended {new_rows} rows (ids {next_id}..{next_id + new_rows - 1}) "
              f"and their index entries in one WAL transaction")
        rtxn = pager.begin_read()
        problems = integrity.check(rtxn)
        rtxn.end()
        print(f"mvlite integrity check: {'ok' if not problems else problems[:5]}")
    finally:
        pager.close()

    con = sqlite3.connect(path)
    try:
        verdict = con.execute("PRAGMA integrity_check").fetchone()[0]
        total = con.execute(f"SELECT count(*) FROM {_TABLE}").fetchone()[0]
        ours = con.execute(f"SELECT count(*) FROM {_TABLE} INDEXED BY {_INDEX} "
                           "WHERE stars = 5 AND body LIKE 'written by mvlite%'").fetchone()[0]
    finally:
        con.close()
    print(f"sqlite3 after close: integrity_check={verdict}, {total} rows, "
          f"{ours} rows written by mvlite found through the index")
    ok = verdict == "ok" and total == before + new_rows and not problems
    return 0 if ok else 1


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m storage demo FILE", file=sys.stderr)
        return 2
    try:
        return run(argv[0])
    except Error as exc:
        print(f"Error: {exc}")
        return 1
