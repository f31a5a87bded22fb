"""sql/: SQLite SQL compiled to Python (issue 4; not built yet)."""
