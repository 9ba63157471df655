"""The knowledge base: catalog, validation, user data and the DuckDB store."""
