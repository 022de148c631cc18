# Two entry points for a fresh machine: `make demo` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test test-python test-node test-vscode lint bench snapshot

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/paperlens demo

lint: $(VENV)/.installed
	$(PY) -m ruff check server tests bench
	$(PY) -m mypy

test-python: $(VENV)/.installed
	$(PY) -m pytest -q

test: lint test-python test-node test-vscode

# The VS Code extension (package.json, client/): type-check, lint, bundle, package the .vsix, then the Node
# tests (node --test): unit tests, the real server over stdio, and the .vsix's contents.
NPM_INSTALL := $(if $(wildcard package-lock.json),npm ci,npm install)

node_modules/.installed: package.json $(wildcard package-lock.json)
	$(NPM_INSTALL) --no-audit --no-fund
	touch $@

test-node: $(VENV)/.installed node_modules/.installed
	npm run typecheck
	npm run lint
	npm run build
	npm run package
	npm run build:tests
	PAPERLENS_PYTHON=$(abspath $(PY)) node --test out/test/

# The extension in a real VS Code (tests/vscode/): setup.sh installs Node 24, code-server and playwright-core into
# .tools/ once (from the npm registry; Debian's chromium and libkrb5-dev must be there), then the test installs
# the .vsix just packaged into code-server and drives it in headless Chromium. Screenshots: out/vscode-e2e/.
test-vscode: $(VENV)/.installed node_modules/.installed
	npm run package
	bash tests/vscode/setup.sh
	PAPERLENS_PYTHON=$(abspath $(PY)) node --test tests/vscode/

bench: $(VENV)/.installed
	$(PY) bench/run.py --sizes 10000

# The snapshot and, with the encoder installed (README, Related papers), its vectors (cache/vectors-mpnet.npz):
# without it the old vectors stay, and papers whose text changed simply have none (key phrases then rank them).
snapshot: $(VENV)/.installed
	$(VENV)/bin/paperlens snapshot ../shared/seed/hf-papers-page.txt --out cache/papers.json
