# The project's commands. `make deploy` and `make test` are the quick start; each sets up what it
# needs on first use, and no more:
#   .venv         the project + the `emulator` extra (deploy, plan, up, ...); the `dev` extra is
#                 added by the targets that lint or test
#   .venv-checkov checkov, whose pins conflict with ours; only `policy`/`test` create it
#   .venv-bench   the comparison tools of `make bench` (aws-cdk-lib, sceptre); `make bench-tools`
#   .venv-deploy  what CI jobs that hold AWS credentials install (`make install-deploy`): only the
#                 hash-locked requirements-deploy.txt and the project, with plain venv + pip
#   .venv-py313   the handler's tests on the function's runtime (FUNCTION_RUNTIME), created from
#                 the interpreter generator/interpreters.py finds; `test`/`test-handler` create it
#   .build/lambda-runtimes/python3.13  the same Python with only the AWS SDK Lambda's runtime
#                 provides (requirements-lambda-runtime.txt): what the emulator runs functions on;
#                 `lambda-runtime` (run by deploy, demo, up and the tests) creates it
# Environments are created with uv (bootstrapped from PyPI into .build/uv) because it installs
# several times faster than pip; `make ... INSTALLER=pip` uses plain venv + pip instead. Both
# compile the installed packages' bytecode, as pip always does: without it every process
# compiles boto3, moto, pydantic, ... from source again whenever PYTHONDONTWRITEBYTECODE is set
# (containers, CI images), which made each test's `python -m generator` several times slower.
PYTHON ?= python3
INSTALLER ?= uv
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
DEPLOY_VENV := .venv-deploy
BENCH_VENV := .venv-bench
BENCH_NODE := .build/bench
# The function's runtime (naming.LAMBDA_RUNTIME; a test keeps them equal) and the virtualenv of
# the handler's tests on it. REQUIRE_RUNTIME=1: fail instead of skipping when no such Python exists.
FUNCTION_RUNTIME := python3.13
FUNCTION_VENV := .venv-py313
LAMBDA_RUNTIME_ENV := .build/lambda-runtimes/$(FUNCTION_RUNTIME)
REQUIRE_RUNTIME ?=
UV_HOME := .build/uv
UV := $(UV_HOME)/bin/uv
ENV ?= local
# pytest workers: one more than the cores by default (many end-to-end tests wait on an emulator
# subprocess, a queue's visibility timeout or a killed command, so an extra worker keeps the CPU
# busy; each worker also repeats the session fixtures, so more cost more: on 2 cores `make test`
# took 152 s with 2 workers, 117 s with 3, 124 s with 4); `make pytest WORKERS=0` runs in one
# process. Tests are
# dealt out a module at a time (--dist loadscope: a module's shared fixture, such as the fault
# suite's emulator, is made once), longest first (`@pytest.mark.slow(seconds)`), so the long
# end-to-end flows overlap the many short tests instead of trailing them. Every
# test that starts an emulator uses its own state folder and a free port, so any two may run at
# once; fixtures shared by many tests are session-scoped, built once per worker.
WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))
PYTEST := $(PY) -m pytest -n $(WORKERS) --dist loadscope

# Never let uv fetch a Python interpreter from outside the package registries: it uses $(PYTHON).
export UV_PYTHON_DOWNLOADS := never

ifeq ($(INSTALLER),uv)
INSTALLER_READY := $(UV)
# --seed: the project's `pip download` of the handler's wheels needs pip inside .venv.
# new_venv(folder[, python]): the interpreter is $(PYTHON) unless another is given.
new_venv = $(UV) venv --quiet --seed --python $(or $(2),$(PYTHON)) $(1)
venv_install = $(UV) pip install --quiet --compile-bytecode --python $(1)/bin/python
else ifeq ($(INSTALLER),pip)
INSTALLER_READY :=
new_venv = $(or $(2),$(PYTHON)) -m venv $(1)
venv_install = $(1)/bin/python -m pip install --quiet --disable-pip-version-check
else
$(error INSTALLER must be uv or pip, not $(INSTALLER))
endif

.DEFAULT_GOAL := help
.PHONY: help install install-runtime install-deploy checkov-env iam-sim-env workflow-env cfn-guard-env synth \
	check lint ruff \
	mypy policy actionlint pytest quick test test-handler test-handler-py313 lambda-runtime bench bench-tools deploy \
	plan status up down demo constraints requirements-deploy clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-19s %s\n", $$1, $$2}'

$(UV): requirements-uv.txt
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --upgrade --target $(UV_HOME) \
		-r requirements-uv.txt
	@touch $@

$(VENV)/bin/python: | $(INSTALLER_READY)
	$(call new_venv,$(VENV))

$(VENV)/.runtime: pyproject.toml constraints.txt | $(VENV)/bin/python $(INSTALLER_READY)
	$(call venv_install,$(VENV)) -e '.[emulator]' -c constraints.txt
	@touch $@

$(VENV)/.dev: pyproject.toml constraints.txt | $(VENV)/bin/python $(INSTALLER_READY)
	$(call venv_install,$(VENV)) -e '.[emulator,dev]' -c constraints.txt
	@touch $@ $(VENV)/.runtime

install-runtime: $(VENV)/.runtime ## create .venv with the project and the emulator only

install: $(VENV)/.dev ## create .venv with the project, the emulator and the dev tools

# The deploy jobs' environment: nothing resolved, nothing unpinned, nothing built from source.
# Wheels only (an sdist would be built in an isolated environment whose setuptools pip would fetch
# unpinned), every file checked against its hash, --no-deps so pip installs exactly the lock; then
# the project itself, editable (CHECKOUT must be the checkout, as in .venv), with the lock's
# setuptools and no index at all; `pip check` fails if the lock lacks anything the project needs.
# Plain venv + pip, not uv: uv would be one more tool fetched into a job that holds credentials.
$(DEPLOY_VENV)/.installed: requirements-deploy.txt pyproject.toml
	$(PYTHON) -m venv --clear $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		--no-deps --only-binary :all: -r requirements-deploy.txt
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
		--no-build-isolation --no-index --editable .
	$(DEPLOY_VENV)/bin/python -m pip check
	@touch $@

install-deploy: $(DEPLOY_VENV)/.installed ## create .venv-deploy: the hash-locked runtime only (what deploy jobs run)

$(CHECKOV_VENV)/.installed: requirements-checkov.txt | $(INSTALLER_READY)
	$(call new_venv,$(CHECKOV_VENV))
	$(call venv_install,$(CHECKOV_VENV)) -r requirements-checkov.txt
	@touch $@

checkov-env: $(CHECKOV_VENV)/.installed ## create .venv-checkov (checkov in its own environment)

tests/policy/iam/node_modules/.installed: tests/policy/iam/package-lock.json
	cd tests/policy/iam && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

iam-sim-env: tests/policy/iam/node_modules/.installed ## the IAM policy evaluator the policy tests run (Node)

# GitHub's own workflow parser and expression evaluator (npm @actions/workflow-parser and
# @actions/expressions), which tests/test_workflows.py runs under Node. Node 20 cannot import
# the parser's JSON schema as an ES module, so esbuild (a dev dependency of the same lock)
# bundles tests/workflows/actions.mjs with them into .build/workflows; the banner gives the
# bundled CommonJS code (the yaml package) the require() it calls.
WORKFLOW_TOOLS := tests/workflows
WORKFLOW_BUNDLE := .build/workflows/actions.mjs

$(WORKFLOW_TOOLS)/node_modules/.installed: $(WORKFLOW_TOOLS)/package-lock.json
	cd $(WORKFLOW_TOOLS) && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

$(WORKFLOW_BUNDLE): $(WORKFLOW_TOOLS)/actions.mjs $(WORKFLOW_TOOLS)/node_modules/.installed
	@mkdir -p $(dir $@)
	$(WORKFLOW_TOOLS)/node_modules/.bin/esbuild $< --bundle --platform=node --format=esm \
		--target=node20 --log-level=warning --outfile=$@ \
		"--banner:js=import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);"

workflow-env: $(WORKFLOW_BUNDLE) ## GitHub's workflow parser and expression evaluator the workflow tests run (Node)

.build/cfn-guard/.installed: requirements-cfnguard.txt | $(VENV)/.runtime
	$(PY) -m generator landing-zone install

cfn-guard-env: .build/cfn-guard/.installed ## Control Tower's rules and cfn-guard (hash-pinned wheel)

synth: $(VENV)/.runtime ## write templates/, the environment schema and docs/environments.md
	$(PY) -m generator synth

check: $(VENV)/.runtime ## fail if templates/ or the generated docs differ from the generator
	$(PY) -m generator check

ruff: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

mypy: install
	$(PY) -m mypy

lint: ruff mypy ## ruff (lint + format check) and mypy (strict on generator/ and handler/)

policy: install checkov-env cfn-guard-env ## cfn-lint, checkov and Control Tower's rules over every template
	$(PY) -m generator lint

pytest: install iam-sim-env workflow-env cfn-guard-env lambda-runtime ## the whole test suite, on every core (pytest-xdist)
	$(PYTEST) $(PYTEST_SELECT)

quick: install iam-sim-env workflow-env cfn-guard-env ## the edit loop: ruff, check, tests without end-to-end/integration
	$(PY) -m ruff check .
	$(PY) -m generator check
	$(PYTEST) -m 'not e2e and not integration'

test-handler: install ## the handler's tests, on the project's Python and on the function's (3.13)
	$(PY) -m pytest tests/handler
	@$(MAKE) --no-print-directory test-handler-py313

# The handler's tests on the function's runtime. The interpreter comes from
# generator/interpreters.py (PATH, pyenv, or uv's own installs; never downloaded), run with the
# bare $(PYTHON): it is stdlib only. Without one this says so in one line and succeeds, unless
# REQUIRE_RUNTIME is set. The stamp records the interpreter, so finding another rebuilds the venv.
# One process, no cache plugin: `make test` runs it beside pytest, whose cores and
# .pytest_cache (--lf) it leaves alone.
test-handler-py313: | $(INSTALLER_READY) ## the handler's tests on the function's Python (skipped if this machine has none)
	@found=$$($(PYTHON) -m generator.interpreters $(FUNCTION_RUNTIME) 2>&1); status=$$?; \
	if [ $$status -eq 1 ] && [ -z "$(REQUIRE_RUNTIME)" ]; then \
		echo "test-handler-py313: skipped the handler's tests on $(FUNCTION_RUNTIME): $$found"; \
		exit 0; \
	elif [ $$status -ne 0 ]; then echo "test-handler-py313: $$found" >&2; exit 1; fi; \
	[ "$$(cat $(FUNCTION_VENV)/.installed 2>/dev/null)" = "$$found" ] || rm -f $(FUNCTION_VENV)/.installed; \
	$(MAKE) --no-print-directory -s $(FUNCTION_VENV)/.installed FUNCTION_PYTHON="$$found" && \
	echo "$(FUNCTION_VENV)/bin/python -m pytest -p no:cacheprovider tests/handler  # $$found" && \
	$(FUNCTION_VENV)/bin/python -m pytest -p no:cacheprovider tests/handler

$(FUNCTION_VENV)/.installed: tests/handler/requirements-py313.txt constraints.txt | $(INSTALLER_READY)
	$(if $(FUNCTION_PYTHON),,$(error FUNCTION_PYTHON is unset: run `make test-handler-py313`))
	rm -rf $(FUNCTION_VENV)
	$(call new_venv,$(FUNCTION_VENV),$(FUNCTION_PYTHON))
	$(call venv_install,$(FUNCTION_VENV)) -r tests/handler/requirements-py313.txt -c constraints.txt
	@echo "$(FUNCTION_PYTHON)" > $@

# The Python the function declares, with the AWS SDK the Lambda runtime provides (the artifact ships
# none), pinned by constraints.txt: the embedded emulator runs functions on it. Found as for
# test-handler-py313; without one the emulator runs functions on its own Python and says so.
lambda-runtime: | $(INSTALLER_READY) ## the function's Python and SDK for the emulator (skipped if this machine has none)
	@found=$$($(PYTHON) -m generator.interpreters $(FUNCTION_RUNTIME) 2>&1); status=$$?; \
	if [ $$status -ne 0 ]; then \
		echo "lambda-runtime: no $(FUNCTION_RUNTIME) here, the emulator runs functions on its own Python: $$found"; \
		exit 0; \
	fi; \
	[ "$$(cat $(LAMBDA_RUNTIME_ENV)/.installed 2>/dev/null)" = "$$found" ] || rm -f $(LAMBDA_RUNTIME_ENV)/.installed; \
	$(MAKE) --no-print-directory -s $(LAMBDA_RUNTIME_ENV)/.installed FUNCTION_PYTHON="$$found"

$(LAMBDA_RUNTIME_ENV)/.installed: requirements-lambda-runtime.txt constraints.txt | $(INSTALLER_READY)
	$(if $(FUNCTION_PYTHON),,$(error FUNCTION_PYTHON is unset: run `make lambda-runtime`))
	rm -rf $(LAMBDA_RUNTIME_ENV)
	$(call new_venv,$(LAMBDA_RUNTIME_ENV),$(FUNCTION_PYTHON))
	$(call venv_install,$(LAMBDA_RUNTIME_ENV)) -r requirements-lambda-runtime.txt -c constraints.txt
	@echo "$(FUNCTION_PYTHON)" > $@

actionlint: install ## lint the GitHub workflows (with shellcheck on run: scripts)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/actionlint

# Every gate, side by side: the lint gates are single processes (policy, the longest, runs
# cfn-lint then checkov), so they run while pytest's workers use the cores; each gate's output
# is printed whole when it finishes, and any failing gate fails `make test`.
# The handler's tests on the function's runtime (test-handler-py313) are one more gate. The tests
# that lint the committed templates as `policy` does (marked policy_gate, there for `make quick`)
# are left to the gate itself here.
test: install checkov-env iam-sim-env workflow-env cfn-guard-env lambda-runtime ## every gate: lint, types, templates, policy, workflows, tests
	$(MAKE) --no-print-directory -j3 --output-sync=target ruff mypy check policy actionlint pytest \
		test-handler-py313 PYTEST_SELECT="-m 'not policy_gate'"

$(BENCH_VENV)/.installed: tests/bench/requirements.txt | $(INSTALLER_READY)
	$(call new_venv,$(BENCH_VENV))
	$(call venv_install,$(BENCH_VENV)) -r tests/bench/requirements.txt
	@touch $@

$(BENCH_NODE)/.installed: tests/bench/package.json tests/bench/package-lock.json
	mkdir -p $(BENCH_NODE)
	cp tests/bench/package.json tests/bench/package-lock.json $(BENCH_NODE)/
	cd $(BENCH_NODE) && npm ci --silent --no-audit --no-fund
	@touch $@

bench-tools: $(BENCH_VENV)/.installed $(BENCH_NODE)/.installed ## install the comparison tools of `make bench` (CDK, Sceptre)

bench: install bench-tools ## print timings: synth vs cdk synth and sceptre, handler throughput/memory
	$(PY) tests/bench/bench_synth.py
	$(PY) tests/bench/bench_compare.py --bench-python $(BENCH_VENV)/bin/python \
		--cdk $(BENCH_NODE)/node_modules/.bin/cdk
	$(PY) tests/bench/bench_handler.py
	$(PY) tests/bench/bench_ranged.py
	$(PY) tests/bench/bench_queue.py

deploy: $(VENV)/.runtime lambda-runtime ## generate and deploy ENV (default local: the embedded emulator)
	$(PY) -m generator synth
	$(PY) -m generator deploy --env $(ENV)

plan: $(VENV)/.runtime ## regenerate, then show the change set for ENV without executing it
	$(PY) -m generator synth
	$(PY) -m generator plan --env $(ENV)

status: $(VENV)/.runtime ## is ENV's deployed stack the committed template, and has it drifted?
	$(PY) -m generator status --env $(ENV)

demo: deploy ## deploy, upload a sample file, print the signed result and verify it
	$(PY) -m generator demo --env $(ENV)

up: $(VENV)/.runtime lambda-runtime ## start the embedded AWS emulator (deploy starts it when needed)
	$(PY) -m generator up

down: $(VENV)/.runtime ## stop the embedded AWS emulator
	$(PY) -m generator down

constraints: install ## refresh constraints.txt from the current .venv
	@{ sed -n '1,2p' constraints.txt; $(PY) -m pip freeze --exclude-editable | grep -v '^-e'; } > constraints.txt.new
	@mv constraints.txt.new constraints.txt

# The runtime dependencies at the versions of constraints.txt, and the build backend the project
# installs with (`--build-deps-for editable`; `--allow-unsafe` lets setuptools be pinned), each
# with its hashes. pip-compile keeps the lock's existing pins (setuptools too) unless told to
# upgrade: `make requirements-deploy UPGRADE=--upgrade-package=setuptools`.
requirements-deploy: install ## regenerate the deploy jobs' hash-locked requirements-deploy.txt
	CUSTOM_COMPILE_COMMAND="make requirements-deploy" $(VENV)/bin/pip-compile --quiet \
		--generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
		--allow-unsafe --build-deps-for editable $(UPGRADE) \
		-c constraints.txt -o requirements-deploy.txt pyproject.toml

clean: ## remove virtualenvs, caches and build outputs
	rm -rf $(VENV) $(CHECKOV_VENV) $(BENCH_VENV) $(DEPLOY_VENV) $(FUNCTION_VENV) .build tests/policy/iam/node_modules \
		$(WORKFLOW_TOOLS)/node_modules .mypy_cache .ruff_cache .pytest_cache .hypothesis
