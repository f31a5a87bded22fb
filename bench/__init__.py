"""bench/: benchmarks run side by side with stdlib sqlite3, reported as ratios.

Never part of the default test run. Each benchmark module has a ``main()`` and
prints medians of several runs plus the mvlite/sqlite3 throughput ratio.
"""
