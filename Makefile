# logisync: `make run` starts the demo, `make test` is what CI runs. `make help` lists the rest.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= examples/logisync.yaml

.PHONY: help run serve test lint format bench screenshots clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)  ## install into .venv and start the demo: the hub with simulated systems and live traffic
	$(BIN)/logisync demo

# `make serve` is a local try-out on 127.0.0.1: each system of the example gets a development API key
# unless the environment already sets one. A real deployment sets its own keys and runs `logisync serve`.
DEV_KEYS := WMS_API_KEY=dev-wms-key ERP_API_KEY=dev-erp-key SHOP_API_KEY=dev-shop-key \
	WEB_API_KEY=dev-web-key CARRIER_API_KEY=dev-carrier-key LOGISYNC_ADMIN_KEY=dev-admin-key \
	SHOP_WEBHOOK_SECRET=whsec_ZGV2LXdlYmhvb2stc2VjcmV0LWZvci1zaG9w \
	WMS_WEBHOOK_SECRET=whsec_ZGV2LXdtcy13ZWJob29rLXNlY3JldC0wMTIz

serve: $(STAMP)  ## start the hub with examples/logisync.yaml on an embedded SQLite store (development keys)
	@echo "development API keys for this run (set them in the environment to use your own):"
	@$(foreach kv,$(DEV_KEYS),$(if $($(word 1,$(subst =, ,$(kv)))),,echo "  $(kv)";)) true
	@env $(foreach kv,$(DEV_KEYS),$(if $($(word 1,$(subst =, ,$(kv)))),,$(kv))) $(BIN)/logisync serve --config $(CONFIG)

test: $(STAMP)  ## install with test extras, lint (ruff, mypy), and run the whole test suite
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src
	$(BIN)/pytest -q

lint: $(STAMP)  ## ruff and mypy
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

format: $(STAMP)  ## format the code
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(STAMP)  ## run the benchmarks (figures go to docs/benchmarks.md by hand)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/atp.py
	$(BIN)/python bench/delivery.py
	$(BIN)/python bench/http_client.py
	$(BIN)/python bench/x12.py
	$(BIN)/python bench/files.py
	$(BIN)/python bench/reconcile.py
	$(BIN)/python bench/webhooks.py
	$(BIN)/python bench/demo_startup.py
	$(BIN)/python bench/dashboard.py

screenshots: $(STAMP)  ## regenerate docs/screenshots/*.png of every dashboard page (Debian's chromium)
	$(BIN)/python bench/screenshots.py

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
