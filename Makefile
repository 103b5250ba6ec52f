# Two commands matter: `make demo` and `make test`. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-sqlite lint bench lock clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/guichet demo --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python ../shared/tools/check_layers.py . || test ! -f ../shared/tools/check_layers.py

# Runs the whole suite on SQLite, and on PostgreSQL + Redis when they answer
# (under CI=true a missing service fails the run instead of being skipped).
test: $(STAMP) lint
	$(BIN)/python -m tests.services > $(VENV)/test-services.env
	set -a && . ./$(VENV)/test-services.env && set +a && $(BIN)/python -m pytest $(PYTEST_ARGS)

test-sqlite: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# Regenerate the lock after a change of dependencies in pyproject.toml.
lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) var/*.db .pytest_cache
