"""SQL backend of the policy language: the same AST compiled with SQLGlot for DuckDB, SQLite and
PostgreSQL (and Spark later), one pass over all enterprises."""
