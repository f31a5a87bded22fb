"""mvcc/: Hekaton-style row versions and transactions (issue 3; not built yet)."""
