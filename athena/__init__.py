"""Athena stage: DDL generated from :mod:`basket_core.schemas`, Glue catalog management,
the analyst query pack (``athena/queries/*.sql``) and its two backends (Athena, or DuckDB
over the local results for no-AWS use)."""
