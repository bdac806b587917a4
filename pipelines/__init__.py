"""Pipeline planner, micro-batch executor on DuckDB, windows and the supervisor (issues #5, #7)."""
