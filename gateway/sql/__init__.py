"""The Laminar SQL dialect (sqlglot) and the typed statements it produces."""
