# Two commands: `make demo` (set up, then run the main job) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/clearline demo

# The whole suite on SQLite, then every database test again on PostgreSQL.
test: $(STAMP)
	$(BIN)/python -m pytest
	CLEARLINE_TEST_DB=postgresql $(BIN)/python -m pytest -m db

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy src/clearline/core

clean:
	rm -rf $(VENV) clearline.db clearline.db.writer-lock clearline-demo clearline-report
