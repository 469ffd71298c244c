"""Query engines (DuckDB, PostgreSQL): billing tables, bulk loading, snapshot queries, COPY out."""
