"""``python -m mvlite``: the same shell as the ``mvlite`` command (see mvlite/shell.py)."""
import sys

from mvlite.shell import main

sys.exit(main())
