"""Continuous pipelines: plan, micro-batch execution on DuckDB, delivery and supervision (issue #5)."""
