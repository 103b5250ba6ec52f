# Two commands matter: `make demo` and `make test`. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

AXE := node_modules/axe-core/axe.min.js
CHROMIUM := /usr/bin/chromium

.PHONY: install browser demo test test-sqlite lint bench lock clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The browser tests' tools: Debian's Chromium (Playwright's own download does not work
# offline) and axe-core from the npm registry (package-lock.json).
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(AXE)

browser: $(AXE)
	test -x $(CHROMIUM) || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

install: $(STAMP) browser

demo: $(STAMP)
	$(BIN)/guichet demo --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python ../shared/tools/check_layers.py . || test ! -f ../shared/tools/check_layers.py

# Runs the whole suite on SQLite, and on PostgreSQL + Redis when they answer
# (under CI=true a missing service fails the run instead of being skipped).
test: $(STAMP) browser lint
	$(BIN)/python -m tests.services > $(VENV)/test-services.env
	set -a && . ./$(VENV)/test-services.env && set +a && $(BIN)/python -m pytest $(PYTEST_ARGS)

test-sqlite: $(STAMP) browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# Regenerate the lock after a change of dependencies in pyproject.toml.
lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) var/*.db .pytest_cache node_modules
