# The project's commands. `make deploy` and `make test` are the quick start; each sets up its own
# virtualenvs on first use (.venv for the project, .venv-checkov for checkov, whose pins conflict).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
ENV ?= local

.DEFAULT_GOAL := help
.PHONY: help install checkov-env iam-sim-env cfn-guard-env synth check lint policy actionlint pytest test bench \
	deploy plan status up down demo constraints requirements-deploy clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]' -c constraints.txt
	@touch $@

install: $(VENV)/.installed ## create .venv with the project and its dev tools

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	@touch $@

checkov-env: $(CHECKOV_VENV)/.installed ## create .venv-checkov (checkov in its own environment)

tests/policy/iam/node_modules/.installed: tests/policy/iam/package-lock.json
	cd tests/policy/iam && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

iam-sim-env: tests/policy/iam/node_modules/.installed ## the IAM policy evaluator the policy tests run (Node)

.build/cfn-guard/.installed: requirements-cfnguard.txt $(VENV)/.installed
	$(PY) -m generator landing-zone install

cfn-guard-env: .build/cfn-guard/.installed ## Control Tower's rules and cfn-guard (hash-pinned wheel)

synth: install ## write templates/ (and the environment schema) from environments/
	$(PY) -m generator synth

check: install ## fail if committed templates differ from the generator
	$(PY) -m generator check

lint: install ## ruff (lint + format check) and mypy (strict on generator/)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

policy: install checkov-env cfn-guard-env ## cfn-lint, checkov and Control Tower's rules over every template
	$(PY) -m generator lint

pytest: install iam-sim-env cfn-guard-env ## the test suite
	$(PY) -m pytest

actionlint: install ## lint the GitHub workflows (with shellcheck on run: scripts)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/actionlint

test: lint check policy actionlint pytest ## every gate: lint, types, templates, policy, workflows, tests

bench: install ## print timings: synth, handler throughput/memory/cold start, artifact size
	$(PY) tests/bench/bench_synth.py
	$(PY) tests/bench/bench_handler.py
	$(PY) tests/bench/bench_ranged.py
	$(PY) tests/bench/bench_queue.py

deploy: install checkov-env cfn-guard-env ## generate, lint and deploy ENV (default local: the embedded emulator)
	$(PY) -m generator synth
	$(PY) -m generator lint
	$(PY) -m generator deploy --env $(ENV)

plan: install ## show the change set for ENV without executing it
	$(PY) -m generator plan --env $(ENV)

status: install ## is ENV's deployed stack the committed template, and has it drifted?
	$(PY) -m generator status --env $(ENV)

demo: deploy ## deploy, upload a sample file, print the signed result and verify it
	$(PY) -m generator demo --env $(ENV)

up: install ## start the embedded AWS emulator (deploy starts it when needed)
	$(PY) -m generator up

down: install ## stop the embedded AWS emulator
	$(PY) -m generator down

constraints: install ## refresh constraints.txt from the current .venv
	@{ sed -n '1,2p' constraints.txt; $(PY) -m pip freeze --exclude-editable | grep -v '^-e'; } > constraints.txt.new
	@mv constraints.txt.new constraints.txt

requirements-deploy: install ## regenerate the deploy jobs' hash-locked requirements-deploy.txt
	CUSTOM_COMPILE_COMMAND="make requirements-deploy" $(VENV)/bin/pip-compile --quiet \
		--generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
		-c constraints.txt -o requirements-deploy.txt pyproject.toml

clean: ## remove virtualenvs, caches and build outputs
	rm -rf $(VENV) $(CHECKOV_VENV) .build .mypy_cache .ruff_cache .pytest_cache .hypothesis
