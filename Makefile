# The two commands: `make run` and `make test`. Everything else is installed by these targets.
SHELL := /bin/bash
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
APP := .venv/bin
RASA := rasa-env/.venv/bin/rasa
# uv uses an installed Python 3.12 / 3.10 when there is one and downloads one otherwise (its default);
# UV_INDEX_URL / PIP_INDEX_URL point it and pip at a mirror (README, "Installing behind a slow or blocked index")
export RASA_TELEMETRY_ENABLED := false
# what every Rasa command needs from the project root: our channel and featurizer importable, quiet logs
RASA_RUN := PYTHONPATH=$(CURDIR) SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2 PYTHONWARNINGS=ignore OMP_WAIT_POLICY=PASSIVE $(RASA)
RASA_TEST_OUT := var/rasa_test

.PHONY: run chat test test-fast train migrate lint typecheck nlu-report nlu-cv bench bench-load bench-legal bench-dashboard bench-routing bench-notices bench-parse clean env \
	rasa-validate rasa-train rasa-test rasa-shell
# the packages mypy checks (strict, configured in pyproject.toml): every one of ours that runs in .venv
TYPED := $(wildcard foundation storage bureau digest notices bot actions web simulator app)

run: env  ## start Rasa, the action server and the bot (terminal chat without TELEGRAM_BOT_TOKEN)
	$(APP)/complaints run

chat: env
	$(APP)/complaints chat

train: env  ## retrain the dialogue model now
	$(APP)/complaints train --force

migrate: env
	$(APP)/complaints migrate

test: env  ## everything: lint, types, data validation, unit, integration and end-to-end tests (Rasa test stories included)
	$(APP)/ruff check .
	$(APP)/ruff format --check .
	$(APP)/mypy $(TYPED)
	$(RASA_RUN) data validate
	$(APP)/complaints train
	$(APP)/python -m pytest $(PYTEST_ARGS)

test-fast: env  ## unit and integration tests only (no Rasa)
	$(APP)/python -m pytest -m "not e2e" $(PYTEST_ARGS)

rasa-validate: env  ## rasa data validate, with Rasa's defaults (domain.yml, config.yml, data/)
	$(RASA_RUN) data validate

rasa-train: env  ## the model `complaints run` uses, models/model-<hash of the data>.tar.gz (only if the data changed)
	$(APP)/complaints train

rasa-test: env  ## the test stories in tests/rasa/ on the trained model (rasa test core); fails on a wrong prediction
	@model=$$($(APP)/complaints train) && \
	$(RASA_RUN) test core --model "$$model" --stories tests/rasa --out $(RASA_TEST_OUT) --fail-on-prediction-errors \
	  && echo "Rasa test stories passed (report: $(RASA_TEST_OUT)/)"

rasa-shell: env  ## rasa shell on the trained model, with the action server running beside it
	@model=$$($(APP)/complaints train) && mkdir -p var && \
	{ $(APP)/complaints actions & actions=$$!; trap "kill $$actions" EXIT; \
	  ACTION_SERVER_URL=$${ACTION_SERVER_URL:-http://127.0.0.1:5055} RASA_TRACKER_DB=var/rasa_shell_tracker.db \
	  RASA_TOKEN=rasa-shell $(RASA_RUN) shell --model "$$model" --endpoints endpoints.yml; }

lint: env typecheck  ## ruff (lint and format check) and mypy, as `make test` runs them
	$(APP)/ruff check .
	$(APP)/ruff format --check .

typecheck: env  ## mypy over the app packages (the pre-commit hook runs this)
	$(APP)/mypy $(TYPED)

nlu-report: env  ## cross-validation and held-out evaluation of candidate NLU pipelines
	rasa-env/.venv/bin/python -m benchmarks.rasa_env.nlu_cv

bench-parse: env  ## parse CPU and wall time per message of the trained model, beside any MODELS="a.tar.gz b.tar.gz"
	@model=$$($(APP)/complaints train) && \
	PYTHONPATH=$(CURDIR) rasa-env/.venv/bin/python -m benchmarks.rasa_env.parse_cost "$$model" $(MODELS)

nlu-cv: env  ## stratified 5-fold cross-validation of the pipeline in config.yml
	rasa-env/.venv/bin/python -m benchmarks.rasa_env.nlu_cv --configs config.yml --folds 5 --out var/reports/nlu_cv.md
	@cat var/reports/nlu_cv.md | sed -n '/## Summary/,/## Fallback/p'

bench: env  ## reply latency through the whole pipeline against Rasa alone
	$(APP)/python -m benchmarks.latency

bench-load: env  ## load and faults of the scaled-out stack (2 workers, 2 Rasa servers, PostgreSQL, Redis) against Rasa alone
	$(APP)/python -m benchmarks.load

bench-legal: env  ## legal retrieval on held-out phrasings (top-1 / top-3, the decision rule), and Rasa's ResponseSelector
	$(APP)/python -m benchmarks.legal_retrieval
	rasa-env/.venv/bin/python -m benchmarks.rasa_env.legal_response_selector

bench-dashboard: env  ## the dashboard's pages with a year of data (50,000 generated cases)
	$(APP)/python -m benchmarks.dashboard --write benchmarks/results/dashboard.md

bench-routing: env  ## routing accuracy per unit on the dev set (add --set independent by hand, rarely)
	$(APP)/python -m benchmarks.routing --set dev --misses

bench-notices: env  ## reading photos of penalty notices: field precision/recall, bad inputs, CPU per photo (RapidOCR vs Tesseract)
	$(APP)/python -m benchmarks.notice_reading

env: $(APP)/complaints $(RASA)

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

# `uv sync --frozen` downloads from the URLs written in uv.lock and ignores a mirror; with UV_INDEX_URL (or
# UV_DEFAULT_INDEX) set, the same locked versions, checked against the same hashes, come from the mirror
# (arguments: project folder, Python version)
define locked_env
	cd $(1) && if [ -n "$${UV_INDEX_URL}$${UV_DEFAULT_INDEX}" ]; then \
	  $(abspath $(UV)) venv --quiet --allow-existing --python $(2) .venv && \
	  $(abspath $(UV)) export --frozen --quiet --format requirements-txt -o .venv/requirements.lock.txt && \
	  $(abspath $(UV)) pip sync --python .venv/bin/python .venv/requirements.lock.txt; \
	else $(abspath $(UV)) sync --frozen; fi
endef

$(APP)/complaints: $(UV) pyproject.toml uv.lock
	@$(call locked_env,.,3.12)
	@touch $@

$(RASA): $(UV) rasa-env/pyproject.toml rasa-env/uv.lock
	@$(call locked_env,rasa-env,3.10)
	@touch $@

clean:
	rm -rf .venv rasa-env/.venv $(TOOLS) models var .pytest_cache
