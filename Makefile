# Laminar: two commands do everything on a fresh machine.
#   make run   - create the virtualenv, install, start the gateway (embedded catalog and broker)
#   make test  - install what the tests need, run lint, type checks and the whole test suite
# Other targets: make lint, make unit, make integration, make bench, make fuzz, make soak.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
JDBC_JAR = /usr/share/java/postgresql.jar
PSQLODBC = /usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so

.PHONY: run test lint typecheck unit integration bench fuzz soak system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/laminar serve --kafka embedded

# Debian packages the client-matrix tests use: psql/pgbench, a JDK, the pgjdbc driver, and psqlODBC with
# unixODBC (its headers too, for building pyodbc where no wheel fits).
system-deps:
	@missing=""; \
	command -v psql >/dev/null || missing="$$missing postgresql-client"; \
	command -v pgbench >/dev/null || missing="$$missing postgresql-contrib"; \
	command -v javac >/dev/null || missing="$$missing default-jdk-headless"; \
	test -f $(JDBC_JAR) || missing="$$missing libpostgresql-jdbc-java"; \
	test -f $(PSQLODBC) || missing="$$missing odbc-postgresql"; \
	command -v odbcinst >/dev/null || missing="$$missing unixodbc"; \
	test -f /usr/include/sql.h || missing="$$missing unixodbc-dev"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit -q

integration: $(STAMP) system-deps
	$(BIN)/pytest tests/integration -q

# The 200-client load test for SOAK_SECONDS instead of make test's 15 s (RELIABILITY.md).
SOAK_SECONDS ?= 600
soak: $(STAMP) system-deps
	LAMINAR_LOAD_SECONDS=$(SOAK_SECONDS) $(BIN)/pytest tests/integration/test_load.py -q -s --timeout=0

# The coverage-guided fuzzers for longer than make test's 20 s each (FUZZ_SECONDS per target).
FUZZ_SECONDS ?= 600
fuzz: $(STAMP)
	LAMINAR_FUZZ_SECONDS=$(FUZZ_SECONDS) $(BIN)/pytest tests/fuzz -q --timeout=0

test: $(STAMP) system-deps lint typecheck
	$(BIN)/pytest -q

bench: $(STAMP) system-deps
	$(BIN)/python bench/pgwire.py
	$(BIN)/python bench/sink.py
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/formats.py

clean:
	rm -rf $(VENV) laminar-data .mypy_cache .ruff_cache .pytest_cache
