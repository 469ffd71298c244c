"""Migration scripts, written by hand; each must run on SQLite and PostgreSQL."""
