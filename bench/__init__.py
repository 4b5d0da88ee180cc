"""`make bench`: scale benchmarks of Baton on SQLite and PostgreSQL (see bench/README.md)."""
