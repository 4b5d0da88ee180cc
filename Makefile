# Baton — the two commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
VENV ?= .venv
BATON := $(VENV)/bin/baton
PY := $(VENV)/bin/python
DATA_DIR ?= $(CURDIR)/var
export BATON_DATA_DIR := $(DATA_DIR)

.PHONY: demo test install install-test system-deps assets messages lint bench clean serve

$(VENV)/.installed: pyproject.toml
	@PYBIN=$$(scripts/find-python.sh) && echo "Using $$PYBIN" && \
	  ( [ -x $(PY) ] || $$PYBIN -m venv $(VENV) )
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed assets messages

# Front-end assets (htmx, ECharts) come pinned from the npm registry; nothing is fetched at run time.
assets: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

messages: $(VENV)/.installed
	$(BATON) i18n compile

# Debian packages the test suite needs (PostgreSQL, Chromium, CJK fonts). Installed when root.
system-deps:
	@scripts/system-deps.sh

demo: install
	$(BATON) migrate --no-input -v 0
	$(BATON) demo --if-empty
	$(BATON) demo logins
	@echo "Serving http://127.0.0.1:8000 (web + background worker + mail catcher on 127.0.0.1:1025"
	@echo "  + stand-in IdP/OA/CRM/WeCom/webhook subscriber on 127.0.0.1:8081-8085). Ctrl-C stops all."
	@trap 'kill 0' INT TERM EXIT; \
	  $(BATON) mailcatcher --port 1025 & \
	  $(BATON) standins serve & \
	  $(BATON) worker & \
	  $(BATON) runserver 127.0.0.1:8000 --noreload --insecure

test: system-deps install
	@scripts/run-tests.sh

lint: install
	$(VENV)/bin/ruff check baton bench tests
	$(VENV)/bin/ruff format --check baton bench tests
	$(VENV)/bin/mypy baton

bench: system-deps install
	@scripts/run-bench.sh

clean:
	rm -rf $(VENV) node_modules var .pytest_cache
