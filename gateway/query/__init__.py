"""Ad-hoc queries on DuckDB: compilation, execution, naming and error translation."""
