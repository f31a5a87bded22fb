"""``python -m storage``: the storage layer's command-line tools.

``python -m storage FILE [--pages] [--check] [--dump TABLE]`` runs the
inspector (``storage.inspect``, also installed as ``mvlite-inspect``);
``python -m storage demo FILE`` runs ``storage.demo``.
"""
from __future__ import annotations

import sys


def _main(argv: list[str]) -> int:
    if argv and argv[0] == "demo":
        from storage import demo

        return demo.main(argv[1:])
    from storage import inspect

    return inspect.main(argv)


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
