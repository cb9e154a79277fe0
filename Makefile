# The two commands: `make run` and `make test`. Everything else is installed by these targets.
SHELL := /bin/bash
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
APP := .venv/bin
RASA := rasa-env/.venv/bin/rasa
export UV_PYTHON_DOWNLOADS := never
export RASA_TELEMETRY_ENABLED := false

.PHONY: run chat test test-fast train migrate lint nlu-report nlu-cv bench bench-load bench-legal clean env

run: env  ## start Rasa, the action server and the bot (terminal chat without TELEGRAM_BOT_TOKEN)
	$(APP)/complaints run

chat: env
	$(APP)/complaints chat

train: env  ## retrain the dialogue model now
	$(APP)/complaints train --force

migrate: env
	$(APP)/complaints migrate

test: env  ## everything: lint, data validation, unit, integration and end-to-end tests
	$(APP)/ruff check .
	$(RASA) data validate --data nlu dialogue --domain domain.yml --config config.yml
	$(APP)/complaints train
	$(APP)/python -m pytest $(PYTEST_ARGS)

test-fast: env  ## unit and integration tests only (no Rasa)
	$(APP)/python -m pytest -m "not e2e" $(PYTEST_ARGS)

nlu-report: env  ## cross-validation and held-out evaluation of candidate NLU pipelines
	rasa-env/.venv/bin/python benchmarks/nlu_cv.py

nlu-cv: env  ## stratified 5-fold cross-validation of the pipeline in config.yml (run by CI)
	rasa-env/.venv/bin/python benchmarks/nlu_cv.py --configs config.yml --folds 5 --out var/reports/nlu_cv.md
	@cat var/reports/nlu_cv.md | sed -n '/## Summary/,/## Fallback/p'

bench: env  ## reply latency through the whole pipeline against Rasa alone
	$(APP)/python benchmarks/latency.py

bench-load: env  ## load and faults of the scaled-out stack (2 workers, 2 Rasa servers, PostgreSQL, Redis) against Rasa alone
	$(APP)/python benchmarks/load.py

bench-legal: env  ## legal retrieval on held-out phrasings (top-1 / top-3, the decision rule), and Rasa's ResponseSelector
	$(APP)/python benchmarks/legal_retrieval.py
	rasa-env/.venv/bin/python benchmarks/legal_response_selector.py

env: $(APP)/complaints $(RASA)

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

$(APP)/complaints: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen
	@touch $@

$(RASA): $(UV) rasa-env/pyproject.toml rasa-env/uv.lock
	cd rasa-env && ../$(UV) sync --frozen
	@touch $@

clean:
	rm -rf .venv rasa-env/.venv $(TOOLS) models var .pytest_cache
